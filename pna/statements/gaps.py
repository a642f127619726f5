"""The gap rules: one engine whose rules are data (``cfg.gaps``) and whose output is typed findings.

The report's statements, the application assessor and the public page all ask this module; none
re-implements a rule. Each :class:`GapFinding` carries the numbers behind it and one status:

* ``gap`` / ``no gap`` — the rule was tested on computed travel times;
* ``provisional`` — the same test, but it rests on estimated travel times (``outcome`` says which
  way it went);
* ``not assessed`` — the data to test it is missing (``detail`` says why);
* ``context`` — a measure reported for comparison that is never a gap on its own (rates and
  hours per 10,000 against England, the 1 mile straight-line measure, choice).

Rules (defaults follow PNA practice; each is stated in the report with its source):

``geographic``
    Residents with access: within ``walk_minutes`` on foot, or, where walking fails, within
    ``transit_minutes`` by public transport or ``drive_minutes`` by car. Gap where the share with
    access is below ``min_share_covered``; tested for all residents, the 65+ and the most
    deprived fifth (IMD quintile 1), for the area and each locality.
``times``
    The same test against pharmacies that are *open* when residents arrive, at each of
    ``cfg.gaps.times`` (weekday evening, Saturday afternoon, Sunday by default); the residents who
    can walk to a pharmacy in the day but not to an open one at that time are counted.
``future``
    The geographic test applied to where people will live: each LSOA's projected residents
    carry today's share of residents without access there.
``rate``, ``hours``, ``distance``, ``choice``
    Context: pharmacies and weekly hours per 10,000 residents against England; the share within
    ``straight_line_km`` (1 mile) in a straight line; residents with one pharmacy (or none)
    within the walk threshold, and pharmacies whose single closure would leave residents beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..access.reach import scenario_slug
from ..config import Config
from ..modes import Mode

__all__ = ["GapFinding", "STATUSES", "evaluate", "findings_table", "for_subject", "FINDING_COLUMNS"]

STATUSES = ("gap", "no gap", "provisional", "not assessed", "context")
GROUPS = ("all residents", "aged 65+", "most deprived fifth")
FINDING_COLUMNS = ["rule", "scope", "subject", "group", "time", "status", "outcome", "share", "threshold",
                   "population", "population_with", "population_without", "share_walk", "population_walk_lost",
                   "population_one", "necessary_pharmacies", "population_relying", "population_base", "detail", "basis"]


@dataclass(frozen=True)
class GapFinding:
    """One rule tested for one area or locality and one group of residents.

    Attributes
    ----------
    rule
        ``geographic``, ``times``, ``future``, ``rate``, ``hours``, ``distance`` or ``choice``.
    scope, subject
        ``area`` (subject: the area name) or ``locality`` (subject: its name).
    group
        ``all residents``, ``aged 65+`` or ``most deprived fifth``.
    time
        The moment tested (``times``), the projection year (``future``), else "".
    status
        One of :data:`STATUSES`.
    outcome
        For ``provisional``: ``gap`` or ``no gap`` as tested on the estimates; else equal to
        ``status`` where that is gap/no gap, "" otherwise.
    share
        The measured share (of residents with access; or the rate for ``rate``/``hours``).
    threshold
        What ``share`` is compared with (``min_share_covered``; England's rate for context rates).
    population, population_without
        Residents in the group, and those without access (NaN where not applicable).
    detail
        The finding in one plain sentence, with its numbers.
    population_with
        Residents with access (``population - population_without``).
    share_walk
        Share with access on foot alone (``geographic``, ``times``).
    population_walk_lost
        ``times``: residents who can walk to a pharmacy in the day but not to an open one then.
    population_one, necessary_pharmacies, population_relying
        ``choice``: residents with one pharmacy only within the walk threshold; pharmacies that are
        the only one within it for someone; residents who would be beyond it if that one closed.
    population_base
        ``future``: the projection's base-year residents.
    basis
        How the figures were made (and why a rule is provisional or not assessed).
    """

    rule: str
    scope: str
    subject: str
    group: str
    time: str
    status: str
    outcome: str
    share: float
    threshold: float
    population: float
    population_without: float
    detail: str
    basis: str
    population_with: float = float("nan")
    share_walk: float = float("nan")
    population_walk_lost: float = float("nan")
    population_one: float = float("nan")
    necessary_pharmacies: float = float("nan")
    population_relying: float = float("nan")
    population_base: float = float("nan")


def _pct(x: float) -> str:
    return "not known" if not np.isfinite(x) else f"{100 * x:.1f}%"


def _n(x: float) -> str:
    return "not known" if not np.isfinite(x) else f"{x:,.0f}"


def _status(share: float, cfg: Config, estimated: bool) -> tuple[str, str]:
    outcome = "gap" if share < cfg.gaps.min_share_covered else "no gap"
    return ("provisional" if estimated else outcome), outcome


def _weights(points: pd.DataFrame, group: str) -> np.ndarray | None:
    pop = points["population"].to_numpy(float)
    if group == "all residents":
        return pop
    if group == "aged 65+":
        return points["pop_65plus"].to_numpy(float) if "pop_65plus" in points else None
    q = points["imd2019_quintile"] if "imd2019_quintile" in points else None
    if q is None or not q.notna().any():
        return None
    return np.where(pd.to_numeric(q, errors="coerce").to_numpy() == 1, pop, 0.0)


def _subsets(points: pd.DataFrame, area_name: str, localities: Iterable[str]):
    yield "area", area_name, np.ones(len(points), dtype=bool)
    loc = points["locality"].astype(str).to_numpy() if "locality" in points else np.full(len(points), "")
    for name in localities:
        yield "locality", str(name), loc == str(name)


def access_mask(points: pd.DataFrame, cfg: Config, *, prefix: str = "minutes_") -> np.ndarray:
    """Residents with access: walk within the threshold, or public transport / car where walking fails.

    ``prefix`` picks the columns: ``minutes_`` (now) or ``open_<slug>_`` (an open pharmacy at a time).
    """
    g = cfg.gaps
    ok = np.zeros(len(points), dtype=bool)
    for mode, limit in ((Mode.WALK, g.walk_minutes), (Mode.TRANSIT, g.transit_minutes), (Mode.DRIVE, g.drive_minutes)):
        col = f"{prefix}{mode}"
        if col in points:
            ok |= points[col].to_numpy(float) <= limit
    return ok


def _modes_used(points: pd.DataFrame, prefix: str) -> list[Mode]:
    return [m for m in (Mode.WALK, Mode.TRANSIT, Mode.DRIVE) if f"{prefix}{m}" in points]


def _method_words(cfg: Config) -> str:
    g = cfg.gaps
    return (f"within {g.walk_minutes} minutes' walk, or {g.transit_minutes} minutes by public transport or "
            f"{g.drive_minutes} minutes by car where walking fails")


def _access_findings(rule: str, time: str, points: pd.DataFrame, ok: np.ndarray, walk_ok: np.ndarray | None,
                     cfg: Config, area: str, localities: list[str], estimated: bool, basis: str,
                     day_walk_ok: np.ndarray | None = None) -> list[GapFinding]:
    out = []
    for scope, subject, sel in _subsets(points, area, localities):
        for group in GROUPS:
            w = _weights(points, group)
            if w is None:
                out.append(GapFinding(rule, scope, subject, group, time, "not assessed", "", np.nan,
                                      cfg.gaps.min_share_covered, np.nan, np.nan,
                                      f"Not assessed for the {group}: the data does not say who they are here.",
                                      "no English IMD (or no age) for these small areas"))
                continue
            w = w * sel
            pop = float(w.sum())
            if pop <= 0:
                continue
            share = float(w[ok].sum()) / pop
            without = pop - float(w[ok].sum())
            status, outcome = _status(share, cfg, estimated)
            who = "residents" if group == "all residents" else f"residents {group}" if group == "aged 65+" \
                else "residents of the most deprived fifth of areas"
            where = subject if scope == "locality" else area
            when = f" at {time}, counting only pharmacies open when they arrive" if rule == "times" else \
                f" in {time} (projected)" if rule == "future" else ""
            text = (f"{where}: {_pct(share)} of {who} ({_n(pop - without)} of {_n(pop)}) can reach a pharmacy "
                    f"{_method_words(cfg)}{when}; {_n(without)} cannot.")
            ws, lose = np.nan, np.nan
            if walk_ok is not None:
                ws = float(w[walk_ok].sum()) / pop
                text += f" On foot alone: {_pct(ws)}."
                if day_walk_ok is not None:
                    lose = float(w[day_walk_ok & ~walk_ok].sum())
                    text += (f" {_n(lose)} who can walk to a pharmacy within {cfg.gaps.walk_minutes} minutes in "
                             f"the day cannot walk to an open one then.")
            out.append(GapFinding(rule, scope, subject, group, time, status, outcome, share,
                                  cfg.gaps.min_share_covered, pop, without, text, basis, population_with=pop - without,
                                  share_walk=ws, population_walk_lost=lose))
    return out


def evaluate(*, cfg: Config, points: pd.DataFrame | None, estimated: Mapping[Mode, bool],
             tables: Mapping[str, pd.DataFrame], localities: list[str]) -> tuple[GapFinding, ...]:
    """Every gap rule for the area, each locality and each group.

    Parameters
    ----------
    cfg
        Area config (``gaps`` holds the rules).
    points
        Per-resident reach (``Access.points``), or None where travel times were not computed.
    estimated
        Per mode: are its travel times estimates?
    tables
        Computed tables: ``provision``, ``opening_hours``, ``projection_lsoa``, ``resilience_walk``.
    localities
        Locality names in report order.
    """
    area = cfg.area.name
    g = cfg.gaps
    out: list[GapFinding] = []
    if points is None or points.empty:
        out.append(GapFinding("geographic", "area", area, "all residents", "", "not assessed", "", np.nan,
                              g.min_share_covered, np.nan, np.nan,
                              "Geographic access was not assessed: no travel times were computed.", ""))
        return tuple(out)
    used = _modes_used(points, "minutes_")
    est = any(estimated.get(m, False) for m in used)
    basis = ("rests on estimated travel times (" + ", ".join(str(m) for m in used if estimated.get(m, False))
             + "): straight-line distances, not real routes" if est else "street-network and timetable travel times")
    ok = access_mask(points, cfg)
    walk_ok = points[f"minutes_{Mode.WALK}"].to_numpy(float) <= g.walk_minutes if f"minutes_{Mode.WALK}" in points \
        else None
    out += _access_findings("geographic", "", points, ok, walk_ok, cfg, area, localities, est, basis)

    # times and days
    for t in g.times:
        prefix = f"open_{scenario_slug(t.label)}_"
        cols = [c for c in points.columns if c.startswith(prefix)]
        if not cols:
            out.append(GapFinding("times", "area", area, "all residents", t.label, "not assessed", "", np.nan,
                                  g.min_share_covered, np.nan, np.nan,
                                  f"Access at {t.label} was not assessed: opening hours are not known.",
                                  "no opening hours"))
            continue
        t_ok = access_mask(points, cfg, prefix=prefix)
        t_walk = points[f"{prefix}{Mode.WALK}"].to_numpy(float) <= g.walk_minutes \
            if f"{prefix}{Mode.WALK}" in points else None
        t_est = any(estimated.get(m, False) for m in _modes_used(points, prefix))
        t_basis = basis + "; opening hours as listed, pharmacies with unknown hours left out"
        out += _access_findings("times", t.label, points, t_ok, t_walk, cfg, area, localities, t_est, t_basis,
                                day_walk_ok=walk_ok)

    out += _future(points, ok, cfg, tables, area, localities, est, basis)
    out += _context(points, cfg, tables, area, localities)
    return tuple(out)


def _future(points: pd.DataFrame, ok: np.ndarray, cfg: Config, tables: Mapping[str, pd.DataFrame], area: str,
            localities: list[str], est: bool, basis: str) -> list[GapFinding]:
    proj = tables.get("projection_lsoa")
    if proj is None or proj.empty or "lsoa11_code" not in points:
        return [GapFinding("future", "area", area, "all residents", "", "not assessed", "", np.nan,
                           cfg.gaps.min_share_covered, np.nan, np.nan,
                           "Future access was not assessed: no population projections were made.", "")]
    pop = points["population"].to_numpy(float)
    lsoa = points["lsoa11_code"].astype(str)
    without_share = (pd.Series(np.where(ok, 0.0, pop), index=lsoa).groupby(level=0).sum()
                     / pd.Series(pop, index=lsoa).groupby(level=0).sum()).fillna(0.0)
    years = sorted(int(y) for y in proj["year"].unique())
    last = years[-1]
    out = []
    for col, label in (("pop_total", ""), ("pop_total_housing", " with planned housing")):
        if col not in proj:
            continue
        p = proj[proj["year"] == last]
        share_without = p["lsoa11_code"].astype(str).map(without_share).fillna(0.0).to_numpy()
        proj_pop = p[col].to_numpy(float)
        loc = p["locality"].astype(str).to_numpy()
        for scope, subject, sel in [("area", area, np.ones(len(p), dtype=bool))] + \
                [("locality", name, loc == name) for name in localities]:
            total = float(proj_pop[sel].sum())
            if total <= 0:
                continue
            without = float((proj_pop * share_without)[sel].sum())
            share = 1 - without / total
            status, outcome = _status(share, cfg, est)
            base = proj[proj["year"] == years[0]]
            in_base = base["locality"].astype(str) == subject if scope == "locality" else slice(None)
            now = float(base.loc[in_base, col].sum()) if len(base) else np.nan
            text = (f"{subject}: in {last}{label}, {_pct(share)} of a projected {_n(total)} residents "
                    f"(from {_n(now)} in {years[0]}) would live where residents can reach a pharmacy "
                    f"{_method_words(cfg)} today; about {_n(without)} would not.")
            out.append(GapFinding("future", scope, subject, "all residents", f"{last}{label}", status, outcome, share,
                                  cfg.gaps.min_share_covered, total, without, text,
                                  basis + "; each small area's projected residents take its share without "
                                  "access today", population_with=total - without,
                                  population_base=now))
    return out


def _context(points: pd.DataFrame, cfg: Config, tables: Mapping[str, pd.DataFrame], area: str,
             localities: list[str]) -> list[GapFinding]:
    out: list[GapFinding] = []
    g = cfg.gaps
    prov = tables.get("provision")
    if prov is not None and not prov.empty:
        eng = prov[prov["level"] == "england"]
        e_rate = float(eng["rate_per_10k"].iloc[0]) if len(eng) else np.nan
        ref = f"England {e_rate:.2f}" if np.isfinite(e_rate) else "no England comparator for this area"
        if g.min_rate_per_10k is not None:
            ref += f"; the board's reference {g.min_rate_per_10k:g}"
        for _, r in prov[prov["level"].isin(["area", "locality"])].iterrows():
            scope = "area" if r["level"] == "area" else "locality"
            rate = float(r["rate_per_10k"])
            out.append(GapFinding("rate", scope, str(r["locality"]), "all residents", "", "context", "", rate, e_rate,
                                  float(r["population"]), np.nan,
                                  f"{r['locality']}: {rate:.2f} pharmacies per 10,000 residents ({ref}). "
                                  "Context only: a rate is not a gap on its own.",
                                  "pharmacies on the list and mid-year population"))
    hours = tables.get("opening_hours")
    if hours is not None and not hours.empty and "hours_per_10k" in hours:
        for _, r in hours[hours["level"].isin(["area", "locality"])].iterrows():
            scope = "area" if r["level"] == "area" else "locality"
            h = float(r["hours_per_10k"]) if pd.notna(r["hours_per_10k"]) else np.nan
            out.append(GapFinding("hours", scope, str(r["locality"]), "all residents", "", "context", "", h, np.nan,
                                  float(r["population"]), np.nan,
                                  f"{r['locality']}: {_n(h)} weekly opening hours per 10,000 residents. Context only.",
                                  "opening hours as listed"))
    if "km_nearest" in points:
        for scope, subject, sel in _subsets(points, area, localities):
            w = points["population"].to_numpy(float) * sel
            pop = float(w.sum())
            if pop <= 0:
                continue
            within = float(w[points["km_nearest"].to_numpy(float) <= g.straight_line_km].sum())
            out.append(GapFinding("distance", scope, subject, "all residents", "", "context", "", within / pop,
                                  g.straight_line_km, pop, pop - within,
                                  f"{subject}: {_pct(within / pop)} of residents live within {g.straight_line_km:g} km "
                                  "(1 mile) of a pharmacy in a straight line, the measure national studies use.",
                                  "straight-line distance from each small area's population-weighted point"))
    if "choice_walk" in points:
        res = tables.get("resilience_walk")
        for scope, subject, sel in _subsets(points, area, localities):
            w = points["population"].to_numpy(float) * sel
            pop = float(w.sum())
            if pop <= 0:
                continue
            n = points["choice_walk"].to_numpy()
            one, none = float(w[n == 1].sum()), float(w[n == 0].sum())
            text = (f"{subject}: {_n(one)} residents ({_pct(one / pop)}) have only one pharmacy within "
                    f"{g.walk_minutes} minutes' walk and {_n(none)} have none.")
            n_nec, relying = np.nan, np.nan
            if res is not None and not res.empty:
                r = res[(res["threshold_min"] == g.walk_minutes) & res["necessary"].astype(bool)]
                if scope == "locality":
                    r = r[r["locality"].astype(str) == subject]
                n_nec, relying = float(len(r)), float(r["population_losing"].sum())
                where = "in the area" if scope == "area" else f"in {subject}"
                text += (f" {len(r)} {'pharmacy' if len(r) == 1 else 'pharmacies'} {where} "
                         f"{'is' if len(r) == 1 else 'are'} the only one within {g.walk_minutes} minutes' walk for "
                         f"some residents: {_n(relying)} residents in all would be beyond that walk if the one they "
                         "rely on closed.")
            out.append(GapFinding("choice", scope, subject, "all residents", "", "context", "", one / pop, np.nan,
                                  pop, none, text, "walking times to every pharmacy; single-closure resilience",
                                  population_one=one, necessary_pharmacies=n_nec, population_relying=relying))
    return out


def findings_table(findings: Iterable[GapFinding]) -> pd.DataFrame:
    """The findings as one table (:data:`FINDING_COLUMNS`), in rule order."""
    return pd.DataFrame([asdict(f) for f in findings], columns=FINDING_COLUMNS)


def for_subject(findings: Iterable[GapFinding], *, subject: str, rules: Iterable[str] | None = None,
                group: str = "all residents") -> list[GapFinding]:
    """The findings for one area or locality (and one group), optionally only some rules."""
    want = set(rules) if rules is not None else None
    return [f for f in findings if f.subject == subject and f.group == group and (want is None or f.rule in want)]
