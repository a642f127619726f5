"""Assessing applications on the real Leicester run."""

from __future__ import annotations

import numpy as np
import pytest

from pna.assess.assessor import assess_application
from pna.assess.resilience import resilience_table
from pna.assess.sites import application_from_mapping, site_frame
from pna.assess.whatif import site_window
from pna.crs import to_bng
from pna.errors import InputError


def test_new_pharmacy_only_gains(leicester_ctx, leicester_base):
    app = application_from_mapping({"name": "New in LE1", "kind": "new", "postcode": "LE1 1WB",
                                    "hours": {"mon": "09:00-18:00", "sat": "09:00-13:00"}})
    r = assess_application(base=leicester_base, application=app)
    assert set(r.modes["mode"]) == set(leicester_ctx.access.models)
    assert (r.coverage["within_after"] >= r.coverage["within_before"] - 1e-6).all()
    assert r.changes.empty or (r.changes["change"] == "gain").all()
    for mode, (before, after) in r.point_minutes.items():
        assert (after <= before + 1e-12).all(), mode
    assert r.site["in_area"] and r.site["locality"] is not None
    others = r.nearby[~r.nearby["is_applicant"]]
    assert r.summary["pharmacies_within_1_6km"] == others.loc[others["distance_m"] <= 1600, "ods_code"].tolist()
    assert r.summary["weekly_hours_proposed"] == pytest.approx(13.0)
    assert r.modes["is_estimate"].all()          # Leicester ships no street network or timetable


def test_closure_loss_equals_resilience(leicester_ctx, leicester_base, leicester_supply):
    th = {"walk": [leicester_ctx.cfg.gaps.walk_minutes]}
    res = resilience_table({"walk": leicester_ctx.access.models["walk"]}, leicester_supply, th)
    top = res.iloc[0]
    assert top["population_losing"] > 0
    r = assess_application(base=leicester_base, application=application_from_mapping({"kind": "closure", "ods_code": top["ods_code"]}))
    g = r.gaps.set_index("mode").loc["walk"]
    assert g["population_pushed_out"] == pytest.approx(top["population_losing"], abs=1e-6)
    assert g["population_reached"] == 0
    for mode, (before, after) in r.point_minutes.items():
        assert (after >= before - 1e-12).all(), mode
    lost = r.changes[(r.changes["mode"] == "walk") & (r.changes["threshold_min"] == th["walk"][0])]
    assert (lost["change"] == "loss").all()
    assert lost["population"].sum() == pytest.approx(top["population_losing"], abs=1e-6)


def test_relocation_equals_closure_plus_new(leicester_ctx, leicester_base, leicester_supply):
    code = leicester_supply["ods_code"].iloc[20]
    reloc = assess_application(base=leicester_base, application=application_from_mapping(
        {"kind": "relocation", "ods_code": code, "postcode": "LE1 1WB"}))
    closed = assess_application(base=leicester_base, application=application_from_mapping({"kind": "closure", "ods_code": code}))
    sf = site_frame((reloc.site["easting"], reloc.site["northing"]))
    for mode, model in leicester_ctx.access.models.items():
        _, moved = reloc.point_minutes[mode]
        _, after_close = closed.point_minutes[mode]
        site = site_window(model, sf)[0, :, 0]
        assert np.allclose(moved, np.minimum(after_close, site)), mode
    assert code in reloc.nearby.loc[reloc.nearby["is_applicant"], "ods_code"].tolist() or \
        code not in reloc.nearby["ods_code"].tolist()
    assert code not in reloc.summary["pharmacies_within_2km"]


def test_consolidation_at_one_site_closes_the_other(leicester_ctx, leicester_base, leicester_supply):
    a, b = leicester_supply["ods_code"].iloc[[3, 4]]
    r = assess_application(base=leicester_base, application=application_from_mapping(
        {"kind": "consolidation", "ods_codes": [a, b], "consolidate_at": a}))
    c = assess_application(base=leicester_base, application=application_from_mapping({"kind": "closure", "ods_code": b}))
    for mode in leicester_ctx.access.models:
        assert np.array_equal(r.point_minutes[mode][1], c.point_minutes[mode][1])
    assert r.site["located_by"].startswith(f"premises of {a}")
    with pytest.raises(InputError, match="FZZZZ"):
        assess_application(base=leicester_base, application=application_from_mapping({"kind": "closure", "ods_code": "FZZZZ"}))


def test_site_beyond_the_boundary_bands_is_refused(leicester_ctx, leicester_base):
    # Coventry city centre: the run knows no pharmacy there, so "none within 2 km" would be false.
    assert "CV1 1AA" in leicester_ctx.geography.postcodes.index
    app = application_from_mapping({"name": "Coventry", "kind": "new", "postcode": "cv11aa"})
    with pytest.raises(InputError, match=r"the site \(CV1 1AA\) is [2-3]\d km outside Leicester; this assessment "
                                         r"only knows pharmacies in Leicester and within 1\.5 km of it"):
        assess_application(base=leicester_base, application=app)


def test_site_within_the_outermost_band_is_assessed(leicester_ctx, leicester_base):
    assert max(leicester_ctx.cfg.boundary_bands_km) == 1.5
    area = to_bng(leicester_ctx.geography.area).geometry.union_all()
    east = max(area.exterior.coords if area.geom_type == "Polygon" else
               (c for p in area.geoms for c in p.exterior.coords), key=lambda c: c[0])
    inside_band = application_from_mapping({"kind": "new", "easting": east[0] + 1000, "northing": east[1]})
    r = assess_application(base=leicester_base, application=inside_band)
    assert not r.site["in_area"] and len(r.nearby)
    beyond = application_from_mapping({"kind": "new", "easting": east[0] + 1600, "northing": east[1]})
    with pytest.raises(InputError, match=r"the site \(easting \d+, northing \d+\) is 1\.6 km outside Leicester"):
        assess_application(base=leicester_base, application=beyond)
