"""The consultation report in the final PNA (Schedule 1): the sentences around its tables.

The counts come from the ``consultation_*`` tables made by :mod:`pna.consultation.summary`;
this module says what they show in plain words: the dates, how many responded and who, which
groups of residents responded less than their share, and how the comments are grouped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..config import Config
from .labels import date_text

__all__ = ["consultation_meta", "comments_for_view", "NO_REPLY"]

NO_REPLY = "To be added by the board"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def consultation_meta(tables: Mapping[str, pd.DataFrame], cfg: Config) -> dict[str, Any]:
    """What the consultation section says besides its tables.

    Returns
    -------
    dict
        ``window`` (the dates sentence), ``responses`` (how many), ``who`` (the respondent types
        that responded, with counts), ``under`` (under-represented groups, each a sentence),
        ``themes`` (comment group -> number of comments), ``bases`` (how each comparison
        was made, one sentence each), ``replies_missing`` (comments still without the board's reply).
    """
    spec = cfg.consultation
    out: dict[str, Any] = {"threshold": spec.under_represented}
    if spec.opens is not None and spec.closes is not None:
        days = (spec.closes - spec.opens).days + 1
        out["window"] = (f"The draft was open for consultation from {date_text(spec.opens)} to "
                         f"{date_text(spec.closes)}: {days} days (regulation 8 requires at least 60).")
    else:
        out["window"] = "The consultation dates have not been recorded in the configuration yet."
    summary = tables.get("consultation_summary")
    out["responses"] = int(summary.iloc[0]["responses"]) if summary is not None and len(summary) else None
    # the count in the prose carries its reference, so the report's self-check reads it back from the table
    out["responses_ref"] = "consultation_summary/All responses|responses received/responses"
    resp = tables.get("consultation_respondents")
    out["who"] = ([f"{r.respondent_type}: {int(r.responses)}" for r in resp.itertuples() if r.responses > 0]
                  if resp is not None else [])
    rep = tables.get("consultation_representation")
    under = []
    if rep is not None and len(rep):
        for r in rep[rep["under_represented"].astype(bool)].itertuples():
            under.append(f"{str(r.measure).capitalize()} {r.group}: {_pct(r.share_respondents)} of public "
                         f"respondents, against {_pct(r.share_residents)} of residents.")
        bases = rep.drop_duplicates("measure")
        out["bases"] = [f"{str(r.measure).capitalize()}: {r.basis}." for r in bases.itertuples()]
        out["compared"] = True
    else:
        out["bases"] = []
        out["compared"] = False
    out["under"] = under
    com = tables.get("consultation_comments")
    if com is not None and len(com):
        counts = com.groupby("theme", sort=False).size()
        out["themes"] = {str(k): int(v) for k, v in counts.items()}
        out["replies_missing"] = int((com["board_response"].astype(str).str.strip() == "").sum())
    else:
        out["themes"] = {}
        out["replies_missing"] = 0
    return out


def comments_for_view(comments: pd.DataFrame, theme: str) -> pd.DataFrame:
    """One theme's comments with a blank reply shown as still to be written."""
    sub = comments[comments["theme"] == theme].copy()
    sub["board_response"] = np.where(sub["board_response"].astype(str).str.strip() == "", NO_REPLY,
                                     sub["board_response"].astype(str))
    return sub
