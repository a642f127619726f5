"""The statements stage: the seven Schedule 1 statements from the computed tables, by explicit rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from ..access.stage import Access
from ..assess.resilience import Resilience
from ..config import Config
from ..geography.stage import Geography
from ..provenance import with_provenance
from ..provision.stage import Provision
from .rules import Evidence, Statement, apply_rules, statements_table

__all__ = ["Statements", "build_statements", "evidence_tables"]


@dataclass(frozen=True)
class Statements:
    """Result of the statements stage.

    Attributes
    ----------
    items
        The seven statements in order, each with its findings and the figures behind them.
    table
        Every finding and figure as one table (``statements``).
    evidence
        What the rules read (config, tables by name, access results): the report and the
        assessor quote figures from the same tables.
    """

    items: tuple[Statement, ...]
    table: pd.DataFrame
    evidence: Evidence

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The stage's output tables by name."""
        return {"statements": self.table}


def evidence_tables(*, geography: Geography, access: Access, provision: Provision,
                    resilience: Resilience) -> Mapping[str, pd.DataFrame]:
    """Every computed table by name, in one read-only mapping (later stages never add to it)."""
    out: dict[str, pd.DataFrame] = {}
    for part in (geography.tables, access.tables, provision.tables, resilience.tables):
        out.update(part)
    return MappingProxyType(out)


def build_statements(*, cfg: Config, geography: Geography, access: Access,
                     evidence: Mapping[str, pd.DataFrame]) -> Statements:
    """Apply the rules in ``cfg.gaps`` to the computed tables.

    Parameters
    ----------
    cfg
        Area config (``gaps``, ``projections.min_rate_per_10k``, network inputs).
    geography
        The geography stage's result (the localities).
    access
        The access stage's result (whether each mode is an estimate).
    evidence
        Every computed table by name (:func:`evidence_tables`).
    """
    ev = Evidence(cfg=cfg, tables=evidence, access=access.results,
                  localities=geography.localities.drop(columns="geometry"))
    items = apply_rules(ev)
    table = with_provenance(statements_table(items), "Rules in pna.statements.rules applied to the tables")
    return Statements(items=tuple(items), table=table, evidence=ev)
