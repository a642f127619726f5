"""Fixtures for the consultation page and the headless-browser tests.

``leicester_run`` wraps the real Leicester stage results (``leicester_results`` in
tests/conftest.py: ``pna.pipeline.build_results``, with the straight-line travel models used
when no street network or timetable is configured). The browser fixtures drive Debian's
Chromium (``/usr/bin/chromium``) through Playwright; the pages are served over http://127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
EVIL = "<script>alert(1)</script>"
GEOGRAPHY_FIELDS = ("area", "lsoa", "localities", "postcodes", "pharmacies", "reconciliation")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclasses.dataclass
class LeicesterRun:
    ctx: object       # pna.report.run.RunResults
    postcodes: object


@pytest.fixture(scope="session")
def leicester_run(leicester_results) -> LeicesterRun:
    """The real Leicester stage results and their postcode table."""
    return LeicesterRun(ctx=leicester_results, postcodes=leicester_results.geography.postcodes)


@pytest.fixture(scope="session")
def leicester_ctx(leicester_run: LeicesterRun):
    return leicester_run.ctx


def context_with_output(run, out: Path, **changes):
    """``run`` (a ``RunResults``) with its config writing to ``out``.

    ``changes`` replace geography fields (``pharmacies``, ``postcodes``, ...) or other
    ``RunResults`` fields.
    """
    cfg = run.cfg.model_copy(update={"output_dir": out})
    geo = {k: changes.pop(k) for k in list(changes) if k in GEOGRAPHY_FIELDS}
    if geo:
        changes["geography"] = dataclasses.replace(run.geography, **geo)
    return dataclasses.replace(run, cfg=cfg, **changes)


def flag(df, name: str):
    """A yes/no column as plain bools, unknown (NA) read as no, as the consultation page reads it."""
    return df[name].astype("boolean").fillna(False).astype(bool)


def nearest_face_to_face(run, easting: float, northing: float) -> int:
    """Row label of the face-to-face pharmacy nearest a point."""
    ph = run.geography.pharmacies
    ok = ~flag(ph, "is_distance_selling") & ~flag(ph, "is_dac") & ph.geometry.notna()
    d = (ph.geometry.x - easting) ** 2 + (ph.geometry.y - northing) ** 2
    return d[ok].idxmin()


@pytest.fixture(scope="session")
def leicester_report(leicester_results, tmp_path_factory: pytest.TempPathFactory):
    """The real Leicester results rendered once: ``(run, report, html)`` (``render_report``)."""
    from pna.report.render import render_report

    run = context_with_output(leicester_results, tmp_path_factory.mktemp("leicester_report"))
    report = render_report(run)
    return run, report, report.paths["report"].read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def site_dir(leicester_run: LeicesterRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder with the real consultation page."""
    from pna.report.consultation import build_consultation_page

    out = tmp_path_factory.mktemp("site")
    build_consultation_page(context_with_output(leicester_run.ctx, out), leicester_run.postcodes)
    return out


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output folder holding report.html and maps/, rendered by the report's own ``render_report``
    from the report tests' synthetic run (tests/report/synthetic.py), which carries every table
    the report needs, and two consultation responses."""
    from pna.report.render import render_report
    from tests.report.synthetic import synthetic_context

    out = tmp_path_factory.mktemp("report")
    # with consultation responses, so the consultation report's section is checked in the browser too
    responses = tmp_path_factory.mktemp("responses") / "responses.csv"
    responses.write_text("respondent_type,area,age_band,purpose,provision,needs,gaps,conclusions,comments\n"
                         "Member of the public,North,25 to 44,Yes,Yes,Yes,No,Yes,Open later in the evening please\n"
                         "GP practice,South,,No,Yes,Yes,No,No,Too far to walk for older patients\n", encoding="utf-8")
    report = render_report(synthetic_context(out, consultation=str(responses)))
    path = report.paths["report"]
    if not path.is_file():
        pytest.fail(f"render_report did not write report.html (returned {report.paths!r})")
    if path.parent != out:
        shutil.copytree(path.parent, out, dirs_exist_ok=True)
    return out


@pytest.fixture(scope="session")
def evil_site_dir(leicester_run: LeicesterRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A consultation page where the pharmacy nearest the example postcode is named EVIL."""
    from pna.report.consultation import area_postcodes, build_consultation_page

    run = leicester_run.ctx
    inside, _ = area_postcodes(leicester_run.postcodes, run.cfg.area.code, run.geography.area)
    pc = inside.iloc[0]
    ph = run.geography.pharmacies.copy()
    ph.loc[nearest_face_to_face(run, pc["easting"], pc["northing"]), "trading_name"] = EVIL
    out = tmp_path_factory.mktemp("evil")
    build_consultation_page(context_with_output(run, out, pharmacies=ph), leicester_run.postcodes)
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
