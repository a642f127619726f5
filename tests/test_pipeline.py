"""The pipeline wires stages by the names of their inputs and outputs, and rejects bad wiring."""

from __future__ import annotations

import dataclasses

import pytest

from pna.errors import PipelineError
from pna.pipeline import NODES, Node, order_nodes


def _n(name, inputs, output):
    return Node(name, lambda **kw: None, tuple(inputs), output, name)


def test_real_nodes_run_in_the_documented_order():
    assert [n.name for n in order_nodes(NODES)] == ["inputs", "geography", "access", "provision", "resilience",
                                                    "evidence", "statements"]


def test_every_stage_reads_only_what_earlier_stages_make():
    made = {"cfg", "quality"}
    for node in order_nodes(NODES):
        assert set(node.inputs) <= made, node.name
        made.add(node.output)


def test_cycle_is_rejected():
    with pytest.raises(PipelineError, match="cycle"):
        order_nodes([_n("a", ["b"], "a_out"), _n("b", ["a_out"], "b")])


def test_missing_input_is_rejected():
    with pytest.raises(PipelineError, match="no stage makes"):
        order_nodes([_n("a", ["nowhere"], "a_out")])


def test_duplicate_output_is_rejected():
    with pytest.raises(PipelineError, match="made twice"):
        order_nodes([_n("a", [], "x"), _n("b", [], "x")])


def test_order_is_independent_of_listing_order():
    nodes = list(NODES)
    assert [n.name for n in order_nodes(nodes[::-1])][:2] == ["inputs", "geography"]


def test_stage_results_are_frozen(leicester_results):
    for part in (leicester_results.geography, leicester_results.access, leicester_results.provision,
                 leicester_results.resilience, leicester_results.statements, leicester_results):
        with pytest.raises(dataclasses.FrozenInstanceError):
            part.notes = ()  # type: ignore[misc]
    with pytest.raises(TypeError):  # table mappings are read-only
        leicester_results.provision.tables["new"] = None  # type: ignore[index]


@pytest.mark.e2e
def test_a_run_leaves_only_its_folder_and_points_into_it(leicester):
    results, out = leicester
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(out.name)] == [out.name]  # no tmp, old, lock
    assert results.cfg.out == out
    rasters = [r.raster_path for r in results.access.results.values() if r.raster_path is not None]
    assert all(p.is_file() and p.is_relative_to(out) for p in rasters)
