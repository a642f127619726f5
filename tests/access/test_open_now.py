from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from pna.access.open_now import Scenario, day_intervals, next_open_minute, open_at, open_minutes, scenario_table
from pna.access.straightline import StraightLineModel


def sites() -> gpd.GeoDataFrame:
    df = pd.DataFrame({
        "ods_code": ["A", "B", "C", "D"],
        "hours_mon": ["09:00-18:00", "09:00-13:00,14:00-22:00", "CLOSED", ""],
        "hours_sun": ["CLOSED", "10:00-16:00", "CLOSED", "10:00-16:00"],
    })
    for d in ("tue", "wed", "thu", "fri", "sat"):
        df[f"hours_{d}"] = df["hours_mon"]
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy([0, 1000, 2000, 3000], [0, 0, 0, 0]), crs=27700)


def test_open_at_and_unknown_hours():
    s = sites()
    assert open_at(s, 0, minute=9 * 60).tolist() == [True, True, False, False]
    assert open_at(s, 0, minute=13 * 60 + 30).tolist() == [True, False, False, False]   # lunch break
    assert open_at(s, 0, minute=18 * 60).tolist() == [False, True, False, False]        # end is exclusive
    assert open_at(s, 0, minute=12 * 60, unknown="include").tolist() == [True, True, False, True]
    _, unk = day_intervals(s, "mon")
    assert unk.tolist() == [False, False, False, True]
    assert open_at(s, "sun", minute=11 * 60).tolist() == [False, True, False, True]
    with pytest.raises(ValueError):
        open_at(s, 0, minute=600, unknown="maybe")


def test_uses_parsed_intervals_when_present():
    s = sites()
    s["intervals_mon"] = [((0, 60),), (), (), ()]
    assert open_at(s, 0, minute=30).tolist() == [True, False, False, False]


def test_next_open_waits_or_not():
    ivs = [((540, 780), (840, 1320))]
    a = np.array([[500.0, 600.0, 800.0, 1330.0]])
    assert next_open_minute(ivs, a).tolist() == [[540, 600, 840, np.inf]]
    assert next_open_minute(ivs, a, wait=False).tolist() == [[np.inf, 600, np.inf, np.inf]]


def test_open_minutes_arrival_time_decides():
    s = sites()
    t = np.array([[10.0], [10.0], [5.0], [1.0]])   # minutes from departure to each site
    # leave 17:55 on Monday: A closes 18:00 (arrive 18:05: closed, never reopens); B open to 22:00
    m = open_minutes(t, s, weekday=0, depart_min=17 * 60 + 55)
    assert m[:, 0].tolist() == [np.inf, 10.0, np.inf, np.inf]
    # leave 08:40: A opens 09:00 -> 20 minutes including the wait
    m = open_minutes(t, s, weekday=0, depart_min=8 * 60 + 40)
    assert m[0, 0] == 20.0


def test_scenario_table_walk_model():
    s = sites()
    demand = gpd.GeoDataFrame({"point_id": ["p1", "p2"], "population": [100.0, 50.0]},
                              geometry=gpd.points_from_xy([0, 3000], [0, 0]), crs=27700)
    walk = StraightLineModel(demand, "walk", 6.0, 1.0)   # 100 m per minute
    tab = scenario_table({"walk": walk}, s, demand, [5, 25],
                         scenarios=[Scenario("Mon 20:00", 0, 1200), Scenario("Sun 11:00", 6, 660)])
    assert list(tab["scenario"]) == ["Mon 20:00", "Mon 20:00", "Sun 11:00", "Sun 11:00"]
    # Monday 20:00: only B is open; p1 is 10 min from it, p2 20 min; D has unknown Monday hours
    mon = tab[tab["scenario"] == "Mon 20:00"].set_index("threshold_min")
    assert mon.loc[5, "population_within"] == 0 and mon.loc[25, "population_within"] == 150
    assert (mon["sites_open_at_departure"] == 1).all() and (mon["sites_hours_unknown"] == 1).all()
    # Sunday 11:00: B and D open; p2 stands at D
    sun = tab[tab["scenario"] == "Sun 11:00"].set_index("threshold_min")
    assert sun.loc[5, "population_within"] == 50 and sun.loc[25, "share_within"] == 1.0
