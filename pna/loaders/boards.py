"""Health and Wellbeing Boards: the pharmaceutical list's board names mapped to ONS area codes.

A board is an upper-tier authority: a unitary (E06), a metropolitan borough (E08), a London
borough (E09) or a county of several districts (E10). ONS's district to upper-tier lookup
(2021) gives each board's districts. The list writes board names its own way ("LEICESTER
CITY", "HULL", "BRACKNELL AND ASCOT", "NORTHAMPTONSHIRE WEST"), so names are matched by rules
tried in order, each recorded in ``matched_by``:

1. ``exact``: the same name once case, "&"/"and", punctuation and the ONS suffixes ", City
   of" / ", County of", a trailing "City" and a leading "County" are set aside;
2. ``2024 authority``: the name of an authority created after 2021 (Cumberland; Westmorland
   and Furness), from the 2024 district boundaries, with the 2021 districts inside it;
3. ``words``: one name's words all within the other's, with only one board left that fits;
4. ``first word``: the same first word, with only one board left that fits.

Names that still do not map are reported, never guessed further; ``aliases`` (list name ->
area code) settles any by hand.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..io import read_table

__all__ = ["Board", "BoardRegister", "load_boards", "normalise_board_name", "KINDS"]

#: Board kind by the area code's prefix.
KINDS = {"E06": "unitary authority", "E08": "metropolitan borough", "E09": "London borough",
         "E10": "county", "E11": "metropolitan county", "E13": "inner and outer London"}

_SUFFIXES = (" CITY OF", " COUNTY OF", " CITY")
_STOP = {"AND", "OF", "THE", "UPON", "ON", "IN"}


def normalise_board_name(name: str) -> str:
    """Upper case, "&" as "and", punctuation as spaces, ONS suffixes and a leading "County" dropped."""
    text = re.sub(r"[^A-Z0-9]+", " ", str(name).upper().replace("&", " AND ")).strip()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and text != suffix.strip():
            text = text[: -len(suffix)].strip()
            break
    if text.startswith("COUNTY "):
        text = text[len("COUNTY "):]
    return text


def _words(name: str) -> frozenset[str]:
    return frozenset(w for w in name.split() if w not in _STOP)


@dataclass(frozen=True)
class Board:
    """One Health and Wellbeing Board.

    Attributes
    ----------
    hwb_name
        The name as the pharmaceutical list writes it.
    code, name
        The ONS area code and name.
    kind
        "unitary authority", "county", "metropolitan borough" or "London borough".
    districts
        Its local authority districts (2021 codes), whose LSOAs make up the area.
    la_codes
        Later codes postcodes may give the same ground (an authority formed after 2021).
    matched_by
        The rule that matched the list's name (see the module notes), or "alias".
    """

    hwb_name: str
    code: str
    name: str
    kind: str
    districts: tuple[str, ...]
    la_codes: tuple[str, ...]
    matched_by: str


@dataclass(frozen=True)
class BoardRegister:
    """Every board on the list, and the list names that map to no area.

    Attributes
    ----------
    boards
        By list name, in name order.
    unmatched
        List names with no area (each with its closest ONS names).
    source
        The lookup file read.
    """

    boards: Mapping[str, Board]
    unmatched: Mapping[str, tuple[str, ...]]
    source: str

    def find(self, text: str) -> Board:
        """The board named or coded by ``text`` (list name, ONS name or area code, any case).

        Raises
        ------
        InputError
            If nothing matches, with the closest names.
        """
        key = str(text).strip()
        for b in self.boards.values():
            if key.upper() in (b.code, b.hwb_name.upper()) or normalise_board_name(key) == normalise_board_name(b.name):
                return b
        for b in self.boards.values():
            if normalise_board_name(key) == normalise_board_name(b.hwb_name):
                return b
        names = sorted({b.name for b in self.boards.values()} | set(self.boards))
        close = difflib.get_close_matches(key.upper(), sorted({n.upper() for n in names}), n=3, cutoff=0.5)
        hint = f" (closest: {', '.join(close)})" if close else ""
        raise InputError(self.source, f"no Health and Wellbeing Board named or coded {text!r}{hint}")

    def frame(self) -> pd.DataFrame:
        """One row per board: ``hwb_name, area_code, area_name, kind, districts, la_codes, matched_by``."""
        rows = [{"hwb_name": b.hwb_name, "area_code": b.code, "area_name": b.name, "kind": b.kind,
                 "districts": " ".join(b.districts), "la_codes": " ".join(b.la_codes), "matched_by": b.matched_by}
                for b in self.boards.values()]
        cols = ["hwb_name", "area_code", "area_name", "kind", "districts", "la_codes", "matched_by"]
        return pd.DataFrame(rows, columns=cols)


def _upper_tier(path: Path) -> pd.DataFrame:
    df = read_table(path)
    need = ["ltla21_code", "ltla21_name", "utla21_code", "utla21_name"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)} (header has: {', '.join(df.columns)})")
    df = df[need].apply(lambda s: s.str.strip())
    return df[df["utla21_code"].str.startswith("E")]


def _successors(ltla21: Path, ltla24: Path, known: set[str]) -> pd.DataFrame:
    """Authorities of 2024 not among the 2021 ones: code, name and the 2021 districts inside each."""
    import geopandas as gpd  # heavy: only when the 2024 boundaries are given

    old = gpd.read_file(ltla21)
    new = gpd.read_file(ltla24)
    code21 = next(c for c in old.columns if c.lower().endswith("code"))
    code24 = next(c for c in new.columns if c.lower().endswith("code"))
    name24 = next(c for c in new.columns if c.lower().endswith("name"))
    new = new[new[code24].str.startswith("E") & ~new[code24].isin(known)]
    if new.empty:
        return pd.DataFrame(columns=["code", "name", "districts"])
    pts = gpd.GeoDataFrame({code21: old[code21]}, geometry=old.to_crs(27700).geometry.representative_point(),
                           crs=27700)
    joined = gpd.sjoin(pts, new[[code24, name24, "geometry"]].to_crs(27700), predicate="within")
    rows = [{"code": c, "name": g[name24].iloc[0], "districts": tuple(sorted(g[code21]))}
            for c, g in joined.groupby(code24, sort=True)]
    return pd.DataFrame(rows, columns=["code", "name", "districts"])


def load_boards(*, utla_lookup: str | Path, list_names: Iterable[str],
                ltla21_boundaries: str | Path | None = None, ltla24_boundaries: str | Path | None = None,
                aliases: Mapping[str, str] | None = None) -> BoardRegister:
    """Map every board name on the pharmaceutical list to its area.

    Parameters
    ----------
    utla_lookup
        ONS district (2021) to upper-tier authority lookup: ``ltla21_code, ltla21_name,
        utla21_code, utla21_name``.
    list_names
        The list's ``HEALTH_AND_WELLBEING_BOARD`` values (blank ones are ignored).
    ltla21_boundaries, ltla24_boundaries
        District boundaries of 2021 and 2024: both needed to place authorities formed since.
    aliases
        List name -> area code, for names no rule maps.

    Returns
    -------
    BoardRegister
    """
    path = Path(utla_lookup)
    ut = _upper_tier(path)
    areas = ut.groupby("utla21_code", sort=True).agg(name=("utla21_name", "first"),
                                                     districts=("ltla21_code", lambda s: tuple(sorted(s))))
    later = pd.DataFrame(columns=["code", "name", "districts"])
    if ltla21_boundaries is not None and ltla24_boundaries is not None:
        later = _successors(Path(ltla21_boundaries), Path(ltla24_boundaries),
                            set(ut["ltla21_code"]) | set(ut["utla21_code"]))
    names = sorted({str(n).strip() for n in list_names if str(n).strip() and str(n).strip().lower() != "nan"})
    by_norm = {normalise_board_name(n): code for code, n in areas["name"].items()}
    later_norm = {normalise_board_name(r.name): r for r in later.itertuples()}
    claimed: dict[str, tuple[str, str]] = {}   # list name -> (code, rule)
    for n in names:
        if aliases and n in aliases:
            claimed[n] = (aliases[n], "alias")
        elif normalise_board_name(n) in by_norm:
            claimed[n] = (by_norm[normalise_board_name(n)], "exact")
        elif normalise_board_name(n) in later_norm:
            claimed[n] = (later_norm[normalise_board_name(n)].code, "2024 authority")
    for rule in ("words", "first word"):
        changed = True
        while changed:   # a claim can leave only one board for another name
            changed = False
            taken = {c for c, _ in claimed.values()}
            free = {code: normalise_board_name(n) for code, n in areas["name"].items() if code not in taken}
            for n in names:
                if n in claimed:
                    continue
                w = _words(normalise_board_name(n))
                if rule == "words":
                    fits = [c for c, f in free.items() if w and (w <= _words(f) or _words(f) <= w)]
                else:
                    fits = [c for c, f in free.items() if f.split()[:1] == normalise_board_name(n).split()[:1]]
                if len(fits) == 1:
                    claimed[n] = (fits[0], rule)
                    changed = True
                    break
    boards: dict[str, Board] = {}
    unmatched: dict[str, tuple[str, ...]] = {}
    later_by_code = {r.code: r for r in later.itertuples()}
    for n in names:
        if n not in claimed:
            unmatched[n] = tuple(difflib.get_close_matches(n.upper(), [x.upper() for x in areas["name"]], n=3,
                                                           cutoff=0.4))
            continue
        code, rule = claimed[n]
        if code in areas.index:
            row = areas.loc[code]
            name, districts = str(row["name"]), tuple(row["districts"])
        elif code in later_by_code:
            r = later_by_code[code]
            name, districts = str(r.name), tuple(r.districts)
        else:
            raise InputError(path, f"alias for {n!r}: area code {code} is not in the lookup")
        inside = tuple(sorted(c for c, r in later_by_code.items() if c != code and set(r.districts) <= set(districts)
                              and r.districts))
        boards[n] = Board(hwb_name=n, code=code, name=name, kind=KINDS.get(code[:3], "area"), districts=districts,
                          la_codes=inside, matched_by=rule)
    return BoardRegister(boards=dict(sorted(boards.items())), unmatched=unmatched, source=str(path))

