"""A real HTTP server on 127.0.0.1 (Python's http.server in a thread) for the fetch tests.

It serves bytes registered by path, honours ``Range`` requests (206), answers 404 for anything
else, and can drop the connection half way through a file. Every request is recorded. Nothing
here, or in any fetch test, touches an address outside the loopback range.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyogrio
import pytest
import shapely
from shapely.geometry import box, mapping

DATA_FILES = ("networks/newport-2023-06-13.osm.pbf", "networks/newport-20230613_gtfs.zip")


@dataclass
class Server:
    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)     # paths cut after half their bytes
    requests: list[tuple[str, str | None]] = field(default_factory=list)   # (path, Range header)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def server():
    state = Server(base="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_GET(self):
            rng = self.headers.get("Range")
            state.requests.append((self.path, rng))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            if rng and rng.startswith("bytes=") and self.path not in state.drop:
                start = int(rng[6:].split("-")[0])
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("ETag", f'"{len(body)}"')
            self.end_headers()
            if self.path in state.drop:
                state.drop.discard(self.path)   # only the first attempt is cut
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def newport_boundary(data_dir):
    """Newport's real boundary (EPSG:4326), from the shipped generalised district boundaries."""
    gdf = pyogrio.read_dataframe(data_dir / "boundaries" / "ew_ltla21_generalised.gpkg",
                                 where="ltla21_code = 'W06000022'")
    return gdf.to_crs(4326).geometry.union_all()


def fake_index(server: Server, newport) -> dict:
    """A Geofabrik-style index: Great Britain, Wales, a Newport region (the boundary grown by about
    11 km, so it covers the 5 km buffer) and a small box inside Newport that does not."""
    def feat(id_, parent, name, geom, pbf):
        props = {"id": id_, "name": name, "urls": {"pbf": server.url(pbf)}}
        if parent:
            props["parent"] = parent
        return {"type": "Feature", "properties": props, "geometry": mapping(geom)}

    x0, y0, x1, y1 = newport.bounds
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "planet", "name": "Planet", "urls": {}}, "geometry": None},
        feat("great-britain", "europe", "Great Britain", box(-8, 49.8, 2, 59), "/gb-latest.osm.pbf"),
        feat("wales", "great-britain", "Wales", box(-5.5, 51.0, -2.0, 53.5), "/wales-latest.osm.pbf"),
        feat("newport-region", "wales", "Newport region", shapely.buffer(newport, 0.15),
             "/newport-latest.osm.pbf"),
        feat("newport-centre", "wales", "Newport centre", box(x0 + 0.05, y0 + 0.05, x0 + 0.1, y0 + 0.1),
             "/centre-latest.osm.pbf"),
    ]}


def serve_newport(server: Server, data_dir: Path, newport) -> None:
    """The index, the real Newport extract (as the Newport region's pbf) and the real GTFS."""
    server.files["/index-v1.json"] = json.dumps(fake_index(server, newport)).encode()
    server.files["/newport-latest.osm.pbf"] = (data_dir / DATA_FILES[0]).read_bytes()
    server.files["/timetable/download/gtfs-file/wales/"] = (data_dir / DATA_FILES[1]).read_bytes()
