"""Applications: parsing, locating the site, and the 1.6 km / 2 km pharmacy lists."""

from __future__ import annotations

import geopandas as gpd
import pytest

from pna.assess.sites import application_from_mapping, locate, nearby, read_application, site_frame, slugify
from pna.errors import InputError


def _pharmacies():
    # a synthetic site at (450000, 300000) and pharmacies at known straight-line distances
    d = {"A": (1599.0, 0.0), "B": (0.0, 1601.0), "C": (1200.0, 1600.0),   # C: exactly 2000 m
         "D": (1414.0, 1415.0), "E": (-300.0, -400.0), "F": (5000.0, 0.0)}
    return gpd.GeoDataFrame({"ods_code": list(d), "trading_name": [f"Pharmacy {k}" for k in d]},
                            geometry=gpd.points_from_xy([450000 + x for x, _ in d.values()],
                                                        [300000 + y for _, y in d.values()]), crs=27700)


def test_near_and_notify_lists():
    near = nearby(_pharmacies(), (450000.0, 300000.0), own_codes=("E",), n_nearest=3)
    by = near.set_index("ods_code")
    assert near["ods_code"].tolist() == ["E", "A", "B", "C"]     # D, F: beyond 2 km and not in the 3 nearest
    assert by.loc["E", "distance_m"] == pytest.approx(500.0)
    assert set(near.loc[near["within_near"], "ods_code"]) == {"E", "A"}
    assert set(near.loc[near["within_notify"], "ods_code"]) == {"E", "A", "B", "C"}   # D is 2000.5 m
    assert by.loc["E", "is_applicant"] and not by.loc["A", "is_applicant"]
    wide = nearby(_pharmacies(), (450000.0, 300000.0), n_nearest=10)
    assert "F" in set(wide["ods_code"]) and not wide.set_index("ods_code").loc["F", "within_notify"]


def test_application_kinds_and_errors(tmp_path):
    app = application_from_mapping({"kind": "relocation", "ods_code": "fa123", "postcode": "le1 1wb",
                                    "hours": {"Monday": "9:00-18:00", "sat": "CLOSED"}, "services": "flu, EHC"})
    assert app.closes == ("FA123",) and app.opens_site and app.site == {"postcode": "le1 1wb"}
    assert app.hours == {"mon": "09:00-18:00", "sat": "CLOSED"} and app.services == ("flu", "EHC")
    con = application_from_mapping({"kind": "consolidation", "ods_codes": ["FA1", "FB2"], "consolidate_at": "FA1"})
    assert con.closes == ("FB2",) and not con.opens_site
    new_site = application_from_mapping({"kind": "consolidation", "ods_codes": "FA1,FB2", "consolidate_at": "new",
                                         "easting": 1, "northing": 2})
    assert new_site.closes == ("FA1", "FB2") and new_site.opens_site
    for bad, why in [({"kind": "merge"}, "kind"), ({"kind": "closure"}, "exactly one"),
                     ({"kind": "new"}, "needs a site"), ({"postcode": "LE1 1WB", "hours": {"mon": "18:00-09:00"}}, "mon"),
                     ({"kind": "consolidation", "ods_codes": ["A", "B"], "consolidate_at": "C"}, "consolidate_at"),
                     ({"postcode": "LE1 1WB", "colour": "red"}, "unknown")]:
        with pytest.raises(InputError, match=why):
            application_from_mapping(bad)
    p = tmp_path / "app.yaml"
    p.write_text("name: Test\nkind: new\nsite: {lon: -1.13, lat: 52.63}\n", encoding="utf-8")
    assert read_application(p).site == {"lon": -1.13, "lat": 52.63}
    p.write_text("- not a mapping\n", encoding="utf-8")
    with pytest.raises(InputError, match="app.yaml"):
        read_application(p)
    assert slugify("Example <Pharmacy> (LE1)") == "example-pharmacy-le1"


def test_locate_real_postcode(leicester_ctx):
    pcs = leicester_ctx.geography.postcodes
    e, n, how = locate({"postcode": "le1 1wb"}, pcs)
    assert (e, n) == (pcs.loc["LE1 1WB", "easting"], pcs.loc["LE1 1WB", "northing"]) and "LE1 1WB" in how
    e2, n2, _ = locate({"lon": -1.1398, "lat": 52.6369}, pcs)      # central Leicester
    assert 455_000 < e2 < 462_000 and 300_000 < n2 < 308_000
    with pytest.raises(InputError, match="not in the configured postcode files"):
        locate({"postcode": "ZZ9 9ZZ"}, pcs)
    with pytest.raises(InputError, match="British National Grid"):
        locate({"easting": -5, "northing": 3}, pcs)
    assert site_frame((e, n)).crs.to_epsg() == 27700


def test_example_application_file():
    from pathlib import Path

    import pna.assess

    app = read_application(Path(pna.assess.__file__).parent / "example_application.yaml")
    assert app.kind == "new" and app.site == {"postcode": "LE3 1UZ"} and app.hours["sat"] == "09:00-13:00"
    assert app.slug == "example-new-parks" and len(app.services) == 3


def test_day_ranges_in_mappings():
    from pna.assess.sites import application_from_mapping, day_range

    assert day_range("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert day_range("Saturday") == ["sat"]
    assert day_range("fri-mon") is None and day_range("mo") is None and day_range("monkey") is None
    app = application_from_mapping({"kind": "new", "site": {"postcode": "LE1 1AA"},
                                    "hours": {"mon-fri": "09:00-18:00", "sat": "09:00-13:00"}})
    assert app.hours["wed"] == app.hours["fri"] != app.hours["sat"]
    assert "sun" not in app.hours
