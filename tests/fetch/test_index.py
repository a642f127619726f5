from __future__ import annotations

import json

import pytest
from shapely.geometry import box, mapping

from pna.errors import InputError
from pna.fetch.index import bods_regions, choose_extract, read_index

from .conftest import fake_index


def test_the_smallest_extract_covering_the_area_is_chosen(server, newport_boundary, tmp_path):
    p = tmp_path / "index.json"
    p.write_text(json.dumps(fake_index(server, newport_boundary)))
    extracts = read_index(p)
    assert "planet" not in {e.id for e in extracts}   # no polygon, no pbf
    area = newport_boundary.buffer(0.07)   # about 5 km
    assert choose_extract(extracts, area).id == "newport-region"
    assert choose_extract(extracts, newport_boundary.buffer(0.3)).id == "wales"
    assert choose_extract(extracts, box(-1, 52, 0, 53)).id == "great-britain"
    with pytest.raises(InputError, match="no extract in the index covers"):
        choose_extract(extracts, box(10, 40, 11, 41))


def test_bods_regions_come_from_the_english_counties_the_area_touches(tmp_path):
    def feat(id_, parent, geom):
        return {"type": "Feature", "geometry": mapping(geom),
                "properties": {"id": id_, "parent": parent, "urls": {"pbf": f"http://127.0.0.1/{id_}.pbf"}}}

    p = tmp_path / "index.json"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        feat("england", "united-kingdom", box(-6, 50, 2, 56)),
        feat("leicestershire", "england", box(-1.6, 52.4, -0.7, 52.98)),
        feat("warwickshire", "england", box(-2.0, 51.9, -1.6, 52.7)),
        feat("wales", "united-kingdom", box(-5.5, 51.3, -3.0, 53.5)),
    ]}))
    ex = read_index(p)
    assert bods_regions(ex, box(-1.3, 52.5, -1.0, 52.7)) == ["east_midlands"]
    assert bods_regions(ex, box(-1.8, 52.5, -1.4, 52.7)) == ["east_midlands", "west_midlands"]
    assert bods_regions(ex, box(-4, 52, -3.5, 52.5)) == []   # Wales: not in BODS


def test_an_index_that_is_not_geojson_is_an_input_error(tmp_path):
    p = tmp_path / "index.json"
    p.write_text("<html>proxy login</html>")
    with pytest.raises(InputError, match="not JSON"):
        read_index(p)
    p.write_text(json.dumps({"type": "Feature"}))
    with pytest.raises(InputError, match="FeatureCollection"):
        read_index(p)
