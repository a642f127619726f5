"""The README's benchmark tables are exactly what the results files give (never typed by hand)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script, results", [("readme_table", None), ("bench_scale", "scale.json"),
                                             ("bench_transit_scale", "transit_scale.json")])
def test_readme_benchmark_tables_are_regenerated_from_the_results(tmp_path, script, results):
    readme = tmp_path / "README.md"
    shutil.copyfile(ROOT / "README.md", readme)
    mod = _script(script)
    if results is None:
        assert mod.update_readme(readme)
    else:
        mod.update_readme(json.loads((RESULTS / results).read_text()), readme)
    assert readme.read_text() == (ROOT / "README.md").read_text(), \
        f"README's {script} table differs from benchmarks/results: run `python benchmarks/{script.split('.')[0]}.py`"


def test_a_changed_result_changes_the_table(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    net = json.loads((results / "network.json").read_text())
    net["build"]["ours_s"] = 12.5
    (results / "network.json").write_text(json.dumps(net))
    readme = tmp_path / "README.md"
    shutil.copyfile(ROOT / "README.md", readme)
    assert _script("readme_table").update_readme(readme, results)
    assert "| 12.5 s |" in readme.read_text()
