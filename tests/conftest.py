"""Shared fixtures: the real data beside the repository, and the Leicester config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "pna-data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def national_cache(tmp_path_factory) -> Path:
    """One cache folder for the decoded UK postcode directory, shared by every test (and xdist
    worker: the folder is beside the workers' own temporary folders) that reads it."""
    path = tmp_path_factory.getbasetemp().parent / "national-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def england_run(tmp_path_factory, data_dir, national_cache):
    """One ``pna england`` run (every board, straight-line baseline): ``(baseline, out_dir, cfg)``."""
    from pna.config import load_national_config
    from pna.pipeline import england

    out = tmp_path_factory.mktemp("england") / "out"
    cfg = load_national_config(ROOT / "config" / "england.yaml", data_dir=data_dir, output_dir=out)
    cfg = cfg.model_copy(update={"cache_dir": national_cache})
    return england(cfg, workers=2), out, cfg


@pytest.fixture(scope="session")
def leicester_results(tmp_path_factory, data_dir):
    """The real Leicester stage results (``pna.pipeline.build_results``: every stage before rendering),
    built once per session; its config writes to a temporary folder."""
    from pna.config import load_config
    from pna.pipeline import build_results

    cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=data_dir,
                      output_dir=tmp_path_factory.mktemp("leicester_results"))
    return build_results(cfg)


@pytest.fixture(scope="session")
def newport_run(tmp_path_factory, data_dir):
    """One complete Newport run (real street network and timetable), shared by every test that
    needs it: ``(results, out_dir)``."""
    from pna.config import load_config
    from pna.pipeline import run

    out = tmp_path_factory.mktemp("newport")
    cfg = load_config(ROOT / "config" / "newport.yaml", data_dir=data_dir, output_dir=out)
    return run(cfg), out


@pytest.fixture(scope="session")
def leicester_cfg(data_dir):
    from pna.config import load_config

    return load_config(ROOT / "config" / "leicester.yaml", data_dir=data_dir)


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def leicester_runs(tmp_path_factory, data_dir):
    """Two Leicester runs, each from its own data path (the second through a link to the same
    data) into its own output folder and with its own empty output cache, so both build every
    output file (the second reads the parsed inputs the first kept): digests of each, the second
    run, and the first run's config (whose cache is now filled)."""
    from pna.config import load_config
    from pna.pipeline import run

    other = tmp_path_factory.mktemp("elsewhere") / "pna-data"
    other.symlink_to(Path(data_dir).resolve(), target_is_directory=True)
    digests, configs = [], []
    for data in (data_dir, other):
        base = tmp_path_factory.mktemp("leicester")
        cfg = load_config(ROOT / "config" / "leicester.yaml", data_dir=data, output_dir=base / "outputs")
        cfg = cfg.model_copy(update={"cache_dir": base / "cache"})
        if configs:  # parsed inputs are keyed by the resolved file, so the linked data reads them back
            (base / "cache").mkdir()
            (base / "cache" / "inputs").symlink_to(configs[0].cache / "inputs", target_is_directory=True)
        results = run(cfg)
        digests.append(_digests(cfg.out))
        configs.append(cfg)
    return digests, (results, cfg.out), configs[0]


@pytest.fixture(scope="session")
def leicester(leicester_runs):
    return leicester_runs[1]


@pytest.fixture(scope="session")
def leicester_warm(leicester_runs, tmp_path_factory):
    """A third Leicester run with the first run's cache, into a new folder: its digests and log."""
    import io
    import logging

    from pna.pipeline import run

    cfg = leicester_runs[2]
    cfg = cfg.model_copy(update={"output_dir": tmp_path_factory.mktemp("leicester-warm") / "outputs"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("pna")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        run(cfg)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return _digests(cfg.out), stream.getvalue()


# The most expensive session fixtures (two full Leicester runs; the Newport network run; the UK
# postcode directory, decoded once for the national tests) are built once each: every test that
# needs one goes to the same xdist worker (make test runs `--dist loadgroup`), instead of each
# worker building its own copy.
_GROUPS = (("leicester_runs", "leicester-runs"), ("newport_run", "newport"), ("national_cache", "national"))


# Every other test goes with the rest of its module, so a module-scoped fixture (the static maps
# written twice, a rendered report) is built once, not once per worker.
@pytest.hookimpl(tryfirst=True)   # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    rank = {g: i for i, (_, g) in enumerate(_GROUPS)}
    order = {}
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        group = next((g for fixture, g in _GROUPS if fixture in names), None)
        order[item.nodeid] = rank.get(group, len(rank))
        if group is None and not item.get_closest_marker("xdist_group"):
            group = item.nodeid.split("::")[0]
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    # The expensive groups first, so the workers start them at once and the short modules fill
    # in around them, rather than one worker picking up a long group when the other is nearly done.
    items.sort(key=lambda it: order[it.nodeid])
