"""Data-quality ledger: every quarantined or flagged row, and row accounting.

Each loader reports what it read, kept and quarantined here, so the pipeline can
assert ``rows in = rows accepted + rows quarantined`` for every file and the report
can list every exception. Source files are recorded by name (:func:`~pna.provenance.portable_source`),
so outputs do not depend on where the data directory is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pandas as pd

from .provenance import portable_source

__all__ = ["QualityLog", "Accounting", "EXCEPTION_COLUMNS"]

ACTIONS = ("quarantined", "flagged", "overridden")
EXCEPTION_COLUMNS = ["stage", "source_file", "row", "record", "field", "reason", "action"]


@dataclass
class Accounting:
    """Row accounting for one source file: rows read, accepted and quarantined."""

    source_file: str
    rows_in: int = 0
    accepted: int = 0
    quarantined: int = 0

    @property
    def balanced(self) -> bool:
        """True when every row read was either accepted or quarantined."""
        return self.rows_in == self.accepted + self.quarantined


@dataclass
class QualityLog:
    """Collects exceptions and per-file row accounting for one run."""

    records: list[dict] = field(default_factory=list)
    accounts: dict[str, Accounting] = field(default_factory=dict)

    def add(self, stage: str, source_file: str | os.PathLike[str], row: int | None, record: str, reason: str,
            field_: str = "", action: str = "quarantined") -> None:
        """Record one exception.

        Parameters
        ----------
        source_file
            The file (or input) at fault; an absolute path is recorded by its name only.
        action
            'quarantined' (the row was dropped, so :meth:`account` counts it as quarantined),
            'flagged' or 'overridden' (the row is kept).

        Raises
        ------
        ValueError
            If ``action`` is none of these.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown exception action {action!r}")
        self.records.append({"stage": stage, "source_file": portable_source(source_file),
                             "row": "" if row is None else int(row), "record": str(record),
                             "field": field_, "reason": reason, "action": action})

    def account(self, key: str, source_file: str | os.PathLike[str], rows_in: int, accepted: int,
                quarantined: int) -> Accounting:
        """Record row accounting for one read; raises if rows do not balance."""
        acc = Accounting(portable_source(source_file), rows_in, accepted, quarantined)
        if not acc.balanced:
            raise AssertionError(f"{source_file}: rows in ({rows_in}) != accepted ({accepted}) "
                                 f"+ quarantined ({quarantined})")
        self.accounts[key] = acc
        return acc

    def table(self) -> pd.DataFrame:
        """The exceptions as a table in :data:`EXCEPTION_COLUMNS`, sorted stably."""
        df = pd.DataFrame(self.records, columns=EXCEPTION_COLUMNS)
        if df.empty:
            return df
        df["_row"] = pd.to_numeric(df["row"], errors="coerce").fillna(-1)
        df = df.sort_values(["stage", "source_file", "_row", "record", "field", "reason"], kind="stable")
        return df.drop(columns="_row").reset_index(drop=True)

    def accounting_table(self) -> pd.DataFrame:
        """One row per accounted read, sorted by check name."""
        rows = [{"check": k, "source_file": a.source_file, "rows_in": a.rows_in, "accepted": a.accepted,
                 "quarantined": a.quarantined, "balanced": a.balanced} for k, a in sorted(self.accounts.items())]
        return pd.DataFrame(rows, columns=["check", "source_file", "rows_in", "accepted", "quarantined", "balanced"])
