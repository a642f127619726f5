"""The inputs stage: the pharmaceutical list and the ODS history, read and classified once."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..config import Config
from ..quality import QualityLog
from ..schema import require_columns
from . import pharmacies as ph

__all__ = ["Inputs", "load_inputs"]


@dataclass(frozen=True)
class Inputs:
    """Result of the inputs stage.

    Attributes
    ----------
    ods
        ODS dispensary history, all rows accepted (``pna.loaders.pharmacies`` contract).
    candidates
        The pharmacies to place: the national list (every board) or, where the area has no
        list, the ODS rows open on the as-at date, list-shaped, with hours (unknown) and
        classification.
    national_list
        The national list when one is configured (the England comparator), else None.
    notes
        Plain statements of limits.
    """

    ods: pd.DataFrame
    candidates: pd.DataFrame
    national_list: pd.DataFrame | None
    notes: tuple[str, ...]

    @property
    def has_list(self) -> bool:
        """True when a pharmaceutical list was read (England), False when built from ODS (Wales)."""
        return self.national_list is not None


def load_inputs(*, cfg: Config, quality: QualityLog) -> Inputs:
    """Read the national list (or, where there is none, ODS rows open on the date), classified, with hours.

    Parameters
    ----------
    cfg
        Area config (``inputs.pharmaceutical_list``, ``inputs.ods_history``, ``as_at``).
    quality
        Row accounting and exceptions of every file read.
    """
    ods = ph.ods_history(cfg, quality)
    notes: list[str] = []
    national = ph.national_list(cfg, quality)
    if national is None:
        ods_open = ph.pharmacies_open_on(ods, cfg.as_at)
        candidates = ph.classify(ph.list_from_ods(ods_open, cfg.area.hwb_name), cfg)
        notes.append(f"There is no pharmaceutical list for {cfg.area.name}: pharmacies are the "
                     f"{cfg.inputs.ods_history.title} rows open on {cfg.as_at:%d %B %Y}, "
                     "and opening hours are unknown.")
    else:
        candidates = national
    require_columns(candidates, ("ods_code", "hwb", "postcode", "hours_known", "weekly_hours"),
                    what="pharmacies (inputs stage)")
    return Inputs(ods=ods, candidates=candidates, national_list=national, notes=tuple(notes))
