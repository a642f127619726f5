"""The inputs stage: the pharmaceutical list and the ODS history, read and classified once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import pandas as pd

from ..config import Config
from ..errors import InputError
from ..io import FILE_FIELD
from ..quality import QualityLog
from ..schema import require_columns
from . import pharmacies as ph

__all__ = ["Inputs", "load_inputs", "check_hwb_listed"]


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


def check_hwb_listed(national: pd.DataFrame, hwb_name: str, path: object) -> None:
    """Stop when ``hwb_name`` is not a board of the list: the run would find no pharmacies at all.

    Parameters
    ----------
    national
        The parsed national list (``hwb`` column).
    hwb_name
        ``area.hwb_name`` from the config; later stages match it exactly (spaces trimmed).
    path
        The list file, named in the error.

    Raises
    ------
    InputError
        Naming the file and the closest board names the list does hold.
    """
    boards = sorted(set(national["hwb"].astype(str).str.strip()) - {""})
    if hwb_name.strip() in boards:
        return
    by_upper = {b.upper(): b for b in boards}
    close = [by_upper[m] for m in difflib.get_close_matches(hwb_name.strip().upper(), list(by_upper), n=3)]
    hint = ("closest Health and Wellbeing Board names in the list: " + ", ".join(repr(c) for c in close)
            if close else f"the list has {len(boards)} boards, none close to it")
    raise InputError(str(path), f"no rows for area.hwb_name {hwb_name!r} (it must match the list's "
                     f"HEALTH_AND_WELLBEING_BOARD column exactly); {hint}")


def load_inputs(*, cfg: Config, quality: QualityLog) -> Inputs:
    """Read the national list (or, where there is none, ODS rows open on the date), classified, with hours.

    Parameters
    ----------
    cfg
        Area config (``inputs.pharmaceutical_list``, ``inputs.ods_history``, ``as_at``).
    quality
        Row accounting and exceptions of every file read.

    Returns
    -------
    Inputs
        Its ``notes`` include every whole-file flag of the list and the ODS extract (cut short,
        or much shorter than a national file).
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
        assert cfg.inputs.pharmaceutical_list is not None  # a national list was read from it
        check_hwb_listed(national, cfg.area.hwb_name, cfg.data_path(cfg.inputs.pharmaceutical_list))
        candidates = national
    # A cut or far too short national file skews every count after it: say so beside the findings.
    notes.extend(f"{r['source_file']}: {r['reason']}." for r in quality.records
                 if r["field"] == FILE_FIELD and r["stage"] in (ph.LIST_STAGE, ph.ODS_STAGE))
    require_columns(candidates, ("ods_code", "hwb", "postcode", "hours_known", "weekly_hours"),
                    what="pharmacies (inputs stage)")
    return Inputs(ods=ods, candidates=candidates, national_list=national, notes=tuple(notes))
