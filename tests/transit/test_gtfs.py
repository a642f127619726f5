from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pna.config import load_config
from pna.errors import InputError
from pna.quality import QualityLog
from pna.transit.gtfs import load_feed, parse_gtfs_time

DATA = Path(__file__).parents[2].parent / "shared" / "pna-data" / "networks"
NEWPORT = DATA / "newport-20230613_gtfs.zip"
CHESTER = DATA / "chester-20230816-small_gtfs.zip"

# A tiny hand-written feed: stops on a line about 1 km apart near Newport.
BASE = {
    "agency": "agency_id,agency_name,agency_url,agency_timezone\nA,Test Bus,http://x,Europe/London\n",
    "routes": "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\nR2,A,2,3\n",
    "stops": ("stop_id,stop_name,stop_lat,stop_lon\n"
              "S1,One,51.5800,-3.0000\nS2,Two,51.5800,-2.9856\nS3,Three,51.5800,-2.9712\n"
              "S4,Four,51.5890,-2.9712\n"),
    "calendar": ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
                 "WK,1,1,1,1,1,0,0,20230605,20230630\n"),
    "calendar_dates": "service_id,date,exception_type\nWK,20230613,2\nSUN,20230618,1\n",
    "trips": "route_id,service_id,trip_id\nR1,WK,T1\nR2,WK,T2\nR1,SUN,T3\n",
    "stop_times": ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                   "T1,07:00:00,07:00:00,S1,1\nT1,07:05:00,07:05:00,S2,2\nT1,07:10:00,07:10:00,S3,3\n"
                   "T2,07:12:00,07:12:00,S3,1\nT2,07:20:00,07:20:00,S4,2\n"
                   "T3,25:00:00,25:00:00,S1,1\nT3,25:10:00,25:10:00,S3,2\n"),
}


def write_feed(folder: Path, **changes: str) -> Path:
    """Write BASE (with replaced files; ``None`` drops a file) to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {**BASE, **changes}
    for name, text in files.items():
        if text is not None:
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def newport():
    q = QualityLog()
    return load_feed(NEWPORT, q), q


def test_newport_feed_stats(newport):
    feed, q = newport
    s = feed.stats()
    assert (s["routes"], s["trips"], s["stops"], s["stop_times"]) == (16, 176, 2686, 7765)
    assert (s["valid_from"], s["valid_to"]) == ("2023-06-05", "2024-03-01")
    assert feed.calendar_dates is None and len(feed.calendar) == 22
    assert q.table().empty
    acc = q.accounting_table()
    assert acc["balanced"].all() and set(acc["check"]) >= {"gtfs:newport-20230613_gtfs.zip:stop_times"}


def test_newport_times_past_midnight(newport):
    feed, _ = newport
    # the file's latest time is 31:30:00
    assert feed.stop_times["departure_s"].max() == 31 * 3600 + 30 * 60
    assert (feed.stop_times.groupby("trip_id")["arrival_s"].diff().dropna() >= 0).all()


def test_parse_times():
    import pandas as pd
    v = parse_gtfs_time(pd.Series(["25:10:00", "7:05:09", "00:00:00", "7:5:00", "", "24:60:00"]))
    assert v.tolist() == [90600, 25509, 0, -1, -1, -1]


def test_chester_loads_and_validates():
    q = QualityLog()
    feed = load_feed(CHESTER, q)
    s = feed.stats()
    assert (s["routes"], s["trips"]) == (25, 804)
    assert s["stop_times"] == 34249 and s["stops_served"] == 1293
    assert feed.calendar_dates is not None and len(feed.calendar_dates) == 0  # header only
    assert q.accounting_table()["balanced"].all()


def test_synthetic_feed_folder_and_after_midnight(tmp_path):
    feed = load_feed(write_feed(tmp_path / "f"), QualityLog())
    t3 = feed.stop_times[feed.stop_times["trip_id"] == "T3"]
    assert t3["arrival_s"].tolist() == [90000, 90600]


def test_broken_references_quarantined_and_counted(tmp_path):
    trips = BASE["trips"] + "R9,WK,T4\nR1,NOPE,T5\n"
    st = BASE["stop_times"] + "T1,07:15:00,07:15:00,S99,4\nTX,08:00:00,08:00:00,S1,1\n"
    q = QualityLog()
    feed = load_feed(write_feed(tmp_path / "f", trips=trips, stop_times=st), q)
    ex = q.table()
    t = ex[ex["source_file"].str.endswith("trips.txt")]
    assert t["row"].tolist() == [5, 6]
    assert "route_id R9 not in routes.txt" in t["reason"].iloc[0]
    assert "service_id NOPE" in t["reason"].iloc[1]
    s = ex[ex["source_file"].str.endswith("stop_times.txt")]
    assert sorted(s["row"].tolist()) == [9, 10]
    assert any("stop_id S99 not in stops.txt" in r for r in s["reason"])
    assert any("trip_id TX not in trips.txt" in r for r in s["reason"])
    assert len(feed.trips) == 3 and len(feed.stop_times) == 7
    acc = q.accounting_table().set_index("check")
    row = acc.loc["gtfs:f:stop_times"]
    assert (row["rows_in"], row["accepted"], row["quarantined"]) == (9, 7, 2)


def test_broken_reference_strict_raises(tmp_path):
    trips = BASE["trips"] + "R9,WK,T4\n"
    with pytest.raises(InputError, match=r"trips.txt, row 5: route_id R9 not in routes.txt"):
        load_feed(write_feed(tmp_path / "f", trips=trips), QualityLog(), strict=True)


def test_non_monotone_trip_dropped_whole(tmp_path):
    st = BASE["stop_times"].replace("T1,07:10:00,07:10:00,S3,3", "T1,07:01:00,07:01:00,S3,3")
    q = QualityLog()
    feed = load_feed(write_feed(tmp_path / "f", stop_times=st), q)
    assert "T1" not in set(feed.trips["trip_id"]) and "T1" not in set(feed.stop_times["trip_id"])
    ex = q.table()
    st_ex = ex[ex["source_file"].str.endswith("stop_times.txt")]
    assert st_ex["row"].tolist() == [2, 3, 4]
    assert "not monotone" in st_ex["reason"].iloc[0] and "row 4" in st_ex["reason"].iloc[0]
    assert q.accounting_table()["balanced"].all()


def test_missing_file_and_column(tmp_path):
    with pytest.raises(InputError, match="stop_times.txt is missing"):
        load_feed(write_feed(tmp_path / "a", stop_times=None), QualityLog())
    with pytest.raises(InputError, match="required column.*departure_time"):
        load_feed(write_feed(tmp_path / "b", stop_times="trip_id,arrival_time,stop_id,stop_sequence\n"),
                  QualityLog())
    with pytest.raises(InputError, match="neither calendar"):
        load_feed(write_feed(tmp_path / "c", calendar=None, calendar_dates=None), QualityLog())
    with pytest.raises(InputError, match="not found"):
        load_feed(tmp_path / "nothing.zip", QualityLog())


def _newport_gtfs() -> Path:
    """The real Newport feed, found the way a run finds it (config/newport.yaml)."""
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    cfg = load_config(Path(__file__).parents[2] / "config" / "newport.yaml", data_dir=DATA.parent)
    assert cfg.network.gtfs is not None
    return cfg.data_path(cfg.network.gtfs)


def test_truncated_zip_is_called_corrupt_not_missing(tmp_path):
    raw = _newport_gtfs().read_bytes()
    cut = tmp_path / "newport_gtfs.zip"
    cut.write_bytes(raw[: len(raw) // 2])   # the central directory at the end is gone
    with pytest.raises(InputError, match=r"newport_gtfs\.zip: is not a valid zip file \(corrupt or truncated\)"):
        load_feed(cut, QualityLog())
    with pytest.raises(InputError, match=r"stops\.txt: is not a GTFS feed \(expected a \.zip file or a folder\)"):
        load_feed(write_feed(tmp_path / "f") / "stops.txt", QualityLog())


def test_zip_with_damaged_member_data_is_called_corrupt(tmp_path):
    path = _newport_gtfs()
    with zipfile.ZipFile(path) as z:
        member = z.getinfo("stop_times.txt")
    raw = bytearray(path.read_bytes())
    at = member.header_offset + 100          # inside its compressed data; the directory is intact
    raw[at:at + 64] = bytes(64)
    bad = tmp_path / "damaged.zip"
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"damaged\.zip:stop_times\.txt: cannot be read from the zip file "
                                         r"\(corrupt or truncated\)"):
        load_feed(bad, QualityLog())


def test_recorded_source_files_carry_no_directory(newport, tmp_path):
    _, q = newport
    assert set(q.accounting_table()["source_file"]) >= {"newport-20230613_gtfs.zip:stops.txt"}
    q2 = QualityLog()
    load_feed(write_feed(tmp_path / "feed", trips=BASE["trips"] + "R9,WK,T4\n"), q2)
    assert set(q2.table()["source_file"]) == {"feed/trips.txt"}
    assert set(q2.accounting_table()["source_file"]) >= {"feed/trips.txt", "feed/stop_times.txt"}
