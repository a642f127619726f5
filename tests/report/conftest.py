"""Fixtures for the consultation page and the headless-browser tests.

``leicester_ctx`` is a real run context for Leicester built from the stage functions
(loaders, geography, demand points, the straight-line travel models used when no street
network or timetable is configured). The browser fixtures drive Debian's Chromium
(``/usr/bin/chromium``) through Playwright; the pages are served over http://127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
EVIL = "<script>alert(1)</script>"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclasses.dataclass
class LeicesterRun:
    ctx: object
    postcodes: object


@pytest.fixture(scope="session")
def leicester_run(tmp_path_factory: pytest.TempPathFactory) -> LeicesterRun:
    """A real Leicester context from the stage functions, with straight-line travel models."""
    from pna.access.demand import build_demand_points
    from pna.access.straightline import StraightLineModel
    from pna.config import load_config
    from pna.geography.area import build_area
    from pna.geography.assign import place_pharmacies
    from pna.loaders.pharmacies import national_list
    from pna.loaders.postcodes import postcode_table
    from pna.pipeline import RunContext
    from pna.quality import QualityLog

    cfg = load_config(ROOT / "config" / "leicester.yaml", output_dir=tmp_path_factory.mktemp("leicester"))
    q = QualityLog()
    nat = national_list(cfg, q)
    postcodes = postcode_table(cfg, q)
    area, lsoa, localities = build_area(cfg, q)
    pharmacies, _ = place_pharmacies(cfg, nat, postcodes, area, lsoa, localities, q)
    demand = build_demand_points(cfg, lsoa, q)
    ctx = RunContext(cfg=cfg, quality=q, national_list=nat, pharmacies=pharmacies, lsoa=lsoa,
                     localities=localities, area=area)
    for mode in ("walk", "drive", "transit"):
        spec = getattr(cfg.travel, mode)
        ctx.models[mode] = StraightLineModel(demand, mode, spec.speed_kmh, spec.circuity)
    return LeicesterRun(ctx=ctx, postcodes=postcodes)


@pytest.fixture(scope="session")
def leicester_ctx(leicester_run: LeicesterRun):
    return leicester_run.ctx


def context_with_output(ctx, out: Path, **changes):
    """A shallow copy of ``ctx`` writing to ``out`` (other fields replaced by ``changes``)."""
    cfg = ctx.cfg.model_copy(update={"output_dir": out})
    new = dataclasses.replace(ctx, cfg=cfg, **changes)
    new.models = dict(ctx.models)
    return new


def nearest_face_to_face(ctx, easting: float, northing: float) -> int:
    """Row label of the face-to-face pharmacy nearest a point."""
    ph = ctx.pharmacies
    ok = ~ph["is_distance_selling"].astype(bool) & ~ph["is_dac"].astype(bool) & ph.geometry.notna()
    d = (ph.geometry.x - easting) ** 2 + (ph.geometry.y - northing) ** 2
    return d[ok].idxmin()


@pytest.fixture(scope="session")
def site_dir(leicester_run: LeicesterRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder with the real consultation page."""
    from pna.report.consultation import build_consultation_page

    out = tmp_path_factory.mktemp("site")
    ctx = context_with_output(leicester_run.ctx, out)
    build_consultation_page(ctx, leicester_run.postcodes)
    return out


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder holding report.html, rendered by the report's own ``render_report``.

    The report tests' synthetic context (tests/report/synthetic.py) carries every table the
    report needs. Skips, saying why, while the report renderer does not exist yet.
    """
    try:
        from pna.report import render
        from tests.report.synthetic import synthetic_context
    except ImportError as exc:
        pytest.skip(f"main report renderer not available yet ({exc})")
    fn = getattr(render, "render_report", None)
    if fn is None:
        pytest.skip("pna.report.render.render_report does not exist yet")
    out = tmp_path_factory.mktemp("report")
    ctx = synthetic_context(out)
    result = fn(ctx)
    if isinstance(result, dict):
        result = result.get("report")
    path = Path(result) if isinstance(result, (str, Path)) else ctx.cfg.out / "report.html"
    if not path.is_file():
        pytest.fail(f"render_report did not write report.html (returned {result!r})")
    if path.parent != out:
        shutil.copytree(path.parent, out, dirs_exist_ok=True)
    return out


@pytest.fixture(scope="session")
def evil_site_dir(leicester_run: LeicesterRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A consultation page where the pharmacy nearest the example postcode is named EVIL."""
    from pna.report.consultation import area_postcodes, build_consultation_page

    ctx = leicester_run.ctx
    inside, _ = area_postcodes(leicester_run.postcodes, ctx.cfg.area.code, ctx.area)
    pc = inside.iloc[0]
    ph = ctx.pharmacies.copy()
    ph.loc[nearest_face_to_face(ctx, pc["easting"], pc["northing"]), "trading_name"] = EVIL
    out = tmp_path_factory.mktemp("evil")
    build_consultation_page(context_with_output(ctx, out, pharmacies=ph), leicester_run.postcodes)
    return out, str(pc["postcode"])


# --------------------------------------------------------------------------- browser
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def serve() -> Iterator:
    """``serve(folder) -> base URL``: serve folders over http://127.0.0.1 on free ports."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_port}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium through Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        msg = f"{CHROMIUM} not found: run .ci/install-browser.sh (apt-get install chromium)"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    """A fresh page at a desktop size that fails on any request leaving 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    external: list[str] = []

    def guard(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "about:")):
            route.continue_()
        else:
            external.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.external_requests = external  # type: ignore[attr-defined]
    pg.js_errors = errors  # type: ignore[attr-defined]
    yield pg
    context.close()
