"""A local copy of Leaflet for the folium maps, so they work without a CDN.

folium's maps load Leaflet, jQuery, Bootstrap, awesome-markers, Font Awesome and glyphicons
from CDNs. Our maps draw only GeoJSON, circle markers, circles, tooltips, a layer control and a
legend, which need Leaflet's JavaScript and CSS alone. At install time (``make``)
:func:`vendor_leaflet` fetches Leaflet from the npm registry with ``npm pack`` into
``.cache/vendor/`` (git-ignored); each run then copies it to ``lib/`` beside the map pages,
which reference it by a relative URL. Without the vendored copy the maps fall back to
Leaflet on the CDN and the run says so in its notes.

Run ``python -m pna.report.vendor`` to vendor by hand.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import folium

LEAFLET_VERSION = "1.9.3"  # the version folium 0.20 uses
# The npm registry's integrity of leaflet-1.9.3.tgz: a tarball with other bytes is refused.
LEAFLET_INTEGRITY = ("sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/"
                     "uSIzhZgGMfQ==")
LEAFLET_CDN = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist"
# Paths inside the npm package's dist/ folder that the maps need (layers*.png: the layer control).
LEAFLET_FILES = ("leaflet.js", "leaflet.css", "images/layers.png", "images/layers-2x.png",
                 "images/marker-icon.png", "images/marker-icon-2x.png", "images/marker-shadow.png")
LIB = "lib"
CDN_NOTE = ("The maps load the Leaflet map library from a CDN (cdn.jsdelivr.net) because no local copy "
            "was vendored at install time (npm was unavailable), so their data layers, legends and "
            "controls need an internet connection; run `make install` with npm to make them work offline.")


def vendor_root() -> Path:
    """Where vendored files live: ``$PNA_VENDOR_DIR`` or ``<repository>/.cache/vendor``."""
    env = os.environ.get("PNA_VENDOR_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / ".cache" / "vendor"


def leaflet_dir(root: Path | None = None) -> Path | None:
    """The vendored Leaflet ``dist`` folder, or None when it is missing or incomplete."""
    d = (root or vendor_root()) / f"leaflet-{LEAFLET_VERSION}"
    return d if all((d / f).is_file() for f in LEAFLET_FILES) else None


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def vendor_leaflet(root: Path | None = None, npm: str = "npm") -> Path:
    """Fetch Leaflet with ``npm pack leaflet@<version>`` and extract the files the maps need.

    A no-op when the copy is already there. The tarball is checked against
    :data:`LEAFLET_INTEGRITY`, and files are moved into place only when all are extracted.

    Returns
    -------
    Path
        The vendored folder (``<root>/leaflet-<version>``).

    Raises
    ------
    RuntimeError
        When npm is missing or fails, or the tarball is not the expected one.
    """
    root = root or vendor_root()
    done = leaflet_dir(root)
    if done is not None:
        return done
    exe = shutil.which(npm)
    if exe is None:
        raise RuntimeError(f"{npm} not found on PATH: cannot vendor leaflet@{LEAFLET_VERSION}")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        proc = subprocess.run([exe, "pack", f"leaflet@{LEAFLET_VERSION}", "--pack-destination", tmp,
                               "--silent"], capture_output=True, text=True, check=False, timeout=300)
        tgz = Path(tmp) / f"leaflet-{LEAFLET_VERSION}.tgz"
        if proc.returncode != 0 or not tgz.is_file():
            raise RuntimeError(f"npm pack leaflet@{LEAFLET_VERSION} failed: {proc.stderr.strip()[-500:]}")
        data = tgz.read_bytes()
        if _integrity(data) != LEAFLET_INTEGRITY:
            raise RuntimeError(f"{tgz.name}: integrity {_integrity(data)} is not the registry's {LEAFLET_INTEGRITY}")
        stage = Path(tmp) / "dist"
        with tarfile.open(tgz, "r:gz") as tf:
            for name in LEAFLET_FILES:
                member = tf.getmember(f"package/dist/{name}")  # read by name: no path from the archive is trusted
                src = tf.extractfile(member)
                if src is None:
                    raise RuntimeError(f"{tgz.name}: package/dist/{name} is not a file")
                (stage / name).parent.mkdir(parents=True, exist_ok=True)
                (stage / name).write_bytes(src.read())
        dest = root / f"leaflet-{LEAFLET_VERSION}"
        shutil.rmtree(dest, ignore_errors=True)
        stage.rename(dest)
    return dest


def use_leaflet_only(m: folium.Map, vendored: bool) -> folium.Map:
    """Load only Leaflet's JS and CSS in ``m``: ``lib/`` beside the map when ``vendored``, else the CDN.

    Call before rendering. The other folium defaults (jQuery, Bootstrap, awesome-markers, Font
    Awesome, glyphicons) serve markers with icons and popups we do not draw.
    """
    base = LIB if vendored else LEAFLET_CDN
    m.default_js = [("leaflet", f"{base}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    return m


def copy_leaflet(dest_dir: Path, source: Path | None = None) -> list[Path]:
    """Copy the vendored Leaflet to ``dest_dir/lib`` (byte for byte); [] when there is none."""
    src = source or leaflet_dir()
    if src is None:
        return []
    written = []
    for name in LEAFLET_FILES:
        out = dest_dir / LIB / name
        out.parent.mkdir(parents=True, exist_ok=True)
        data = (src / name).read_bytes()
        if not out.is_file() or out.read_bytes() != data:
            out.write_bytes(data)
        written.append(out)
    return written


def main() -> int:
    """Vendor Leaflet; without npm (or the registry) say so and carry on: the maps use the CDN."""
    try:
        path = vendor_leaflet()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"[pna] vendor: {exc}; the maps will load Leaflet from the CDN and need an internet "
              "connection", file=sys.stderr)
        return 0
    print(f"[pna] vendor: leaflet {LEAFLET_VERSION} in {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
