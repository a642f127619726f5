"""Colours, classes and plain words shared by the interactive and the printed maps.

Every palette here is colour-blind safe: Okabe-Ito for kinds of thing (premises types,
opening categories), viridis and ColorBrewer sequential ramps for ordered classes, never red
against green. Classes break at the rules' own thresholds: travel-time classes at the board's
gap threshold (``cfg.gaps``), rate classes at the rate rule's comparator (England's rate, as the
statements' gap findings record it) and at the board's reference rate when one is set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex

from ..config import Config
from ..modes import Mode

__all__ = ["OKABE_ITO", "PREMISES_STYLE", "PHARMACY_COLOUR", "INK", "GREY", "YLGNBU", "PURPLES",
           "RateClasses", "minute_bins", "minute_thresholds", "sequential", "rate_threshold", "rate_classes",
           "walk_words", "mode_minutes_words"]

#: Okabe & Ito (2008), the colour-blind-safe qualitative set (black last).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
INK = "#212b32"
GREY = "#5f6b73"
#: Pharmacies drawn over a coloured layer (access, deprivation, rates maps): white with a dark ring.
PHARMACY_COLOUR = "#ffffff"
# type -> (plain words, matplotlib marker, colour); shapes differ too, so colour is never the only cue.
PREMISES_STYLE: dict[str, tuple[str, str, str]] = {
    "standard": ("pharmacy in the area", "o", "#0072B2"),
    "100-hour": ("100-hour pharmacy", "D", "#CC79A7"),
    "distance-selling": ("distance-selling (online or delivery) pharmacy", "s", "#E69F00"),
    "cross-border": ("pharmacy in a neighbouring area", "^", "#999999"),
}
#: ColorBrewer YlGnBu by number of classes (sequential, colour-blind safe, prints in greyscale).
YLGNBU: dict[int, tuple[str, ...]] = {
    3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
    4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
    5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
    6: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"),
    7: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
}
#: ColorBrewer Purples, 5 classes, darkest first (deprivation fifth 1, the most deprived, is darkest).
PURPLES = ("#54278f", "#756bb1", "#9e9ac8", "#cbc9e2", "#f2f0f7")
#: Rate classes as multiples of the rule's comparator (England's rate); 1.0 is the comparator itself.
RATE_MULTIPLES = (0.8, 1.0, 1.2, 1.5)

_MODE_PLAIN = {Mode.WALK: ("walk", "minutes' walk"), Mode.DRIVE: ("drive", "minutes' drive"),
               Mode.TRANSIT: ("public transport", "minutes by public transport")}


def sequential(n: int) -> list[str]:
    """``n`` colours of viridis, light (near) to dark (far): colour-blind safe and ordered in greyscale."""
    if n <= 0:
        return []
    cmap = colormaps["viridis_r"]
    return [to_hex(cmap(v)) for v in np.linspace(0.0, 1.0, n)]


def minute_thresholds(cfg: Config, mode: Mode | str, thresholds: Sequence[float] = ()) -> list[int]:
    """The travel thresholds of ``mode`` with the board's gap threshold always among them (sorted)."""
    ths = set(int(t) for t in (thresholds or cfg.travel.spec(Mode(mode)).thresholds_min))
    ths.add(int(cfg.gaps.minutes(mode)))
    return sorted(ths)


def mode_minutes_words(mode: Mode | str, minutes: float) -> str:
    """'20 minutes' walk', '15 minutes by public transport'."""
    return f"{minutes:g} {_MODE_PLAIN[Mode(mode)][1]}"


def walk_words(mode: Mode | str) -> str:
    """'walk', 'drive' or 'public transport'."""
    return _MODE_PLAIN[Mode(mode)][0]


def minute_bins(thresholds: list[int], gap: float | None = None) -> list[tuple[float, float, str]]:
    """Time bands ``(lo, hi, label)`` from 0 to each threshold, then one for beyond the last.

    With ``gap`` (the board's threshold), the band that starts there says it is beyond it.
    """
    edges = [0.0] + [float(t) for t in thresholds]
    bins = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        label = f"under {hi:g} minutes" if lo == 0 else f"{lo:g} to {hi:g} minutes"
        if gap is not None and lo >= gap:
            label += f" (beyond the {gap:g}-minute standard)"
        bins.append((lo, hi, label))
    last = f"over {edges[-1]:g} minutes, or no route"
    if gap is not None and edges[-1] >= gap:
        last = f"over {edges[-1]:g} minutes, or no route (beyond the {gap:g}-minute standard)"
    bins.append((edges[-1], float("inf"), last))
    return bins


def rate_threshold(tables: Mapping[str, pd.DataFrame]) -> float | None:
    """The rate rule's comparator: the ``threshold`` of the ``rate`` gap findings (England's rate).

    Falls back to the England row of ``provision``; None when neither is known.
    """
    gf = tables.get("gap_findings")
    if isinstance(gf, pd.DataFrame) and not gf.empty and {"rule", "threshold"} <= set(gf.columns):
        v = pd.to_numeric(gf.loc[gf["rule"] == "rate", "threshold"], errors="coerce").dropna()
        if len(v) and math.isfinite(float(v.iloc[0])) and float(v.iloc[0]) > 0:
            return float(v.iloc[0])
    prov = tables.get("provision")
    if isinstance(prov, pd.DataFrame) and not prov.empty and "level" in prov:
        v = pd.to_numeric(prov.loc[prov["level"] == "england", "rate_per_10k"], errors="coerce").dropna()
        if len(v) and float(v.iloc[0]) > 0:
            return float(v.iloc[0])
    return None


@dataclass(frozen=True)
class RateClasses:
    """Classes of pharmacies per 10,000 residents.

    Attributes
    ----------
    edges
        Class breaks (a value ``v`` is in class ``searchsorted(edges, v, side="right")``).
    labels
        Plain words for each class (``len(edges) + 1`` of them).
    colours
        One ColorBrewer YlGnBu colour per class.
    comparator
        The rate rule's comparator (England's rate), or None when it is not known.
    reference
        The board's own reference rate (``cfg.gaps.min_rate_per_10k``), or None.
    """

    edges: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    comparator: float | None
    reference: float | None

    def index(self, rates: np.ndarray) -> np.ndarray:
        """Class of each rate (NaN: class 0; callers draw unknown rates apart)."""
        r = np.asarray(rates, dtype=float)
        return np.searchsorted(np.asarray(self.edges, dtype=float), np.where(np.isfinite(r), r, -np.inf),
                               side="right")


def rate_classes(*, rates: np.ndarray, comparator: float | None, reference: float | None) -> RateClasses:
    """Rate classes that break at the rule's comparator (and at 80%, 120%, 150% of it) and the board's reference.

    Without a comparator the classes are equal intervals of the rates shown, and say so.
    """
    finite = np.asarray(rates, dtype=float)
    finite = finite[np.isfinite(finite)]
    named: dict[float, str] = {}
    if comparator is not None and comparator > 0:
        for k in RATE_MULTIPLES:
            named.setdefault(round(comparator * k, 6), "England's rate" if k == 1.0 else "")
    elif finite.size and finite.max() > finite.min():
        for v in np.linspace(finite.min(), finite.max(), 5)[1:-1]:
            named.setdefault(round(float(v), 6), "")
    if reference is not None and reference > 0:
        key = round(float(reference), 6)
        named[key] = ("England's rate and the board's reference" if named.get(key) else "the board's reference")
    edges = tuple(sorted(named))
    if not edges:
        return RateClasses((), ("all localities" if finite.size else "no data",), (YLGNBU[3][1],),
                           comparator, reference)

    def at(v: float) -> str:
        return f"{v:.2f}" + (f" ({named[v]})" if named[v] else "")

    labels = [f"fewer than {at(edges[0])}"]
    labels += [f"{at(lo)} to under {hi:.2f}" for lo, hi in zip(edges[:-1], edges[1:])]
    labels.append(f"{at(edges[-1])} or more")
    n = len(labels)
    colours = YLGNBU[n] if n in YLGNBU else tuple(sequential(n))
    return RateClasses(edges, tuple(labels), tuple(colours), comparator, reference)
