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
from .gaps import GapFinding, evaluate, findings_table
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
    findings: tuple[GapFinding, ...] = ()
    findings_table: pd.DataFrame | None = None

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The stage's output tables by name (``statements``, ``gap_findings``)."""
        out = {"statements": self.table}
        if self.findings_table is not None:
            out["gap_findings"] = self.findings_table
        return out


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
    localities = list(geography.localities["locality"].astype(str))
    findings = evaluate(cfg=cfg, points=access.points, estimated={m: r.is_estimate for m, r in access.results.items()},
                        tables=evidence, localities=localities)
    ftable = with_provenance(findings_table(findings), "The board's gap rules applied to the access, provision "
                             "and projection tables")
    ev = Evidence(cfg=cfg, tables=MappingProxyType({**evidence, "gap_findings": ftable}), access=access.results,
                  localities=geography.localities.drop(columns="geometry"), findings=findings)
    items = apply_rules(ev)
    table = with_provenance(statements_table(items), "Rules in pna.statements.rules applied to the tables")
    return Statements(items=tuple(items), table=table, evidence=ev, findings=findings, findings_table=ftable)
