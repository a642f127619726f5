"""Future needs: area-wide projections apportioned to LSOAs and localities.

Method (also returned as plain-language notes by :func:`run_projections`):

1. **Controls.** Area-wide all-ages and 65+ totals per year come from
   :func:`pna.provision.controls.load_controls` (linear interpolation between published years).
   Under-65 is all ages minus 65+.
2. **Observed small-area change.** Each LSOA (2011 codes) is observed up to four times:
   Census 2011 (Output Areas summed to LSOAs), ONS mid-year estimates (mid-2019, mid-2020) and
   Census 2021 (LSOA 2021 mapped back to LSOA 2011: unchanged and split LSOAs sum exactly; where
   LSOAs were merged, or changed irregularly, the 2021 count is shared among the 2011 parents in
   proportion to their mid-2020 populations of the same age group). Under-65 and 65+ are kept
   apart throughout.
3. **Damped share trend.** For each age group, each LSOA's share of the area total is fitted by
   weighted least squares against time across the observations (censuses weight 1, mid-year
   estimates 0.5: they are rolled forward from the last census and were revised by the next).
   The slope is carried forward from the latest observation (the base) with a damped trend:
   after ``h`` years the share has moved by ``slope * phi * (1 - phi**h) / (1 - phi)``
   (``phi`` = ``cfg.projections.trend_damping``; 0 holds shares, 1 is an undamped linear trend).
   Slopes are balanced so shares still sum to one, negative shares are set to zero and shares
   renormalised. An LSOA with fewer than two observations (e.g. no 2011 values) keeps its base
   share. Shares times the control give LSOA populations, so every year's sum equals the control
   (floats, exact to rounding error) and nothing is negative.
4. **Ages 0-17 and 18-64** split each LSOA's under-65 population in its mid-year-estimate
   proportions, held constant (rescaled to 0-17 controls when the controls give them).
5. **Housing scenario** (optional): dwellings completed after the base date times persons per
   dwelling, added on top of the baseline in a separate column. Where new homes will be built is
   not in the data: the extra population is placed in proportion to each LSOA's population growth
   between the earliest and latest observation (places that grew most take most), pro rata to
   population where nothing grew.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..cache import cached_frames
from ..config import Config, DataSource
from ..errors import InputError
from ..io import read_table
from ..loaders.population import age_groups, load_sape
from ..provenance import cite, with_provenance
from ..quality import QualityLog
from .controls import (
    ALL_AGES,
    OVER_65,
    STAGE,
    control_series,
    dwellings_by_year,
    load_controls,
    load_housing,
    normalise_age_group,
)

AGE_BANDS = ["0-17", "18-64", "65+", "all"]
UNDER_65 = "under 65"
DEFAULT_DAMPING = 0.9
# Mid-year estimates are rolled forward from the last census and were revised by the next, so they
# count for less than a census in the share trend.
ESTIMATE_WEIGHT = 0.5
_OAC_OVER65 = ["u016", "u017", "u018", "u019"]  # 2011 Census KS102: 65-74, 75-84, 85-89, 90+


# ----------------------------------------------------------------------------- history
@dataclass
class History:
    """Observed populations of each LSOA by broad age group at several dates.

    ``under65`` and ``over65`` are (n_lsoa, n_obs) arrays, NaN where an LSOA was not observed;
    ``times`` are decimal years; ``labels`` name each observation; the last is the base.
    """

    codes: np.ndarray
    times: np.ndarray
    labels: list[str]
    under65: np.ndarray
    over65: np.ndarray
    sources: list[DataSource | str | None] = field(default_factory=list)  # None: an unconfigured lookup

    @property
    def weights(self) -> np.ndarray:
        """Fit weights: censuses 1, modelled mid-year estimates ``ESTIMATE_WEIGHT``."""
        return np.array([1.0 if re.search("census", lab, re.I) else ESTIMATE_WEIGHT for lab in self.labels])

    @property
    def total(self) -> np.ndarray:
        """Population of all ages at each time."""
        return self.under65 + self.over65

    @property
    def base_time(self) -> float:
        """Time of the latest observation (decimal year)."""
        return float(self.times[-1])

    @property
    def base_year(self) -> int:
        """Calendar year of the latest observation."""
        return int(np.floor(self.times[-1]))


def vintage_time(vintage: str) -> float:
    """Decimal year of a source vintage: ``mid-2020`` -> 2020.5; census day for ``Census 2011/2021``."""
    census_days = {2011: 2011 + 86 / 365, 2021: 2021 + 79 / 365}  # 27 March 2011, 21 March 2021
    v = str(vintage)
    m = re.search(r"census\D*(\d{4})", v, re.I)
    if m:
        y = int(m.group(1))
        return census_days.get(y, y + 0.25)
    m = re.search(r"(\d{4})", v)
    if not m:
        raise ValueError(f"cannot read a year from vintage {vintage!r}")
    return int(m.group(1)) + 0.5


def _bad_count(cell: object, value: float) -> str:
    """Why a population cell is unusable: blank, not a number, or negative."""
    if pd.isna(cell) or not str(cell).strip():
        return "is blank"
    return f"{str(cell).strip()!r} is not a number" if np.isnan(value) else f"{value:g} is negative"


def census2011_by_lsoa(path: str | Path, codes: np.ndarray) -> pd.DataFrame:
    """2011 Census Output Area populations (CDRC OAC input variables) summed to LSOA 2011.

    Returns ``under65, over65`` indexed by ``lsoa11_code`` for the LSOAs in ``codes`` found in
    the file.
    """
    path = Path(path)
    need = ["LSOA11CD", "Total_Population", *_OAC_OVER65]
    try:
        df = read_table(path, usecols=lambda c: c in need, dtype=None, keep_default_na=True)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(path, f"missing column(s) {missing}")
    for c in need[1:]:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = (num.isna() | (num < 0)).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(path, f"LSOA {df['LSOA11CD'].iat[i]}, column {c!r}: population "
                             f"{_bad_count(df[c].iat[i], num.iat[i])}", row=i + 2)
    df = df[df["LSOA11CD"].isin(codes)]
    g = df.groupby("LSOA11CD").sum(numeric_only=True)
    over = g[_OAC_OVER65].sum(axis=1)
    return pd.DataFrame({"under65": g["Total_Population"] - over, "over65": over}).rename_axis("lsoa11_code")


def sape_broad(path: str | Path, codes: np.ndarray, quality: QualityLog | None = None, *,
               cache: Path | None = None) -> pd.DataFrame:
    """ONS small-area estimates (single year of age, LSOA 2011) as ``under65, over65`` by LSOA.

    LSOAs absent from the file are simply not returned (not observed at that date). ``cache``:
    the input cache folder (see :func:`pna.loaders.population.load_sape`).
    """
    sape = load_sape(Path(path), None, quality, cache=cache)
    g = age_groups(sape[sape.index.isin(codes)])
    return pd.DataFrame({"under65": g["pop_total"] - g["pop_65plus"], "over65": g["pop_65plus"]})


def census2021_to_lsoa11(census_path: str | Path, lookup_path: str | Path, codes: np.ndarray,
                         weights: pd.DataFrame, quality: QualityLog | None = None) -> pd.DataFrame:
    """Census 2021 LSOA 2021 residents mapped back to LSOA 2011, as ``under65, over65``.

    Each (LSOA11, LSOA21) pair of the lookup carries a weight: the LSOA11's ``weights`` (its
    population in the same age group, e.g. mid-2020) divided by its number of 2021 children,
    normalised over the 2021 LSOA's parents. Unchanged (U) and split (S) LSOAs get weight 1, so
    they sum exactly; merged (M) and irregular (X) ones are shared by population.

    Parameters
    ----------
    census_path
        Long CSV ``lsoa21_code, age_group, usual_residents``.
    lookup_path
        ``lsoa11_code, lsoa21_code`` (``change_code`` optional).
    codes
        The area's LSOA 2011 codes.
    weights
        ``under65, over65`` per ``lsoa11_code`` (index), used to share merged LSOAs.
    """
    census_path, lookup_path = Path(census_path), Path(lookup_path)
    try:
        lk = read_table(lookup_path, usecols=["lsoa11_code", "lsoa21_code"])
    except ValueError as exc:
        raise InputError(lookup_path, f"expected columns lsoa11_code, lsoa21_code: {exc}") from None
    lk = lk.drop_duplicates()
    lk = lk[lk["lsoa21_code"].isin(lk.loc[lk["lsoa11_code"].isin(codes), "lsoa21_code"])]
    outside = lk[~lk["lsoa11_code"].isin(codes)]
    if len(outside) and quality is not None:
        for b in sorted(outside["lsoa21_code"].unique()):
            quality.add(STAGE, lookup_path.name, None, b, "LSOA 2021 has 2011 parents outside the area; "
                        "only the area's parents share its Census 2021 population", action="flagged")
    lk = lk[lk["lsoa11_code"].isin(codes)]
    try:
        cen = read_table(census_path, usecols=["lsoa21_code", "age_group", "usual_residents"],
                         dtype=None, keep_default_na=True)
    except ValueError as exc:
        raise InputError(census_path, f"expected columns lsoa21_code, age_group, usual_residents: {exc}") from None
    cen = cen[cen["lsoa21_code"].isin(lk["lsoa21_code"])]
    vals = pd.to_numeric(cen["usual_residents"], errors="coerce")
    bad = vals.isna() | (vals < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(census_path, f"LSOA {cen['lsoa21_code'].iat[i]}, column 'usual_residents': population "
                         f"{_bad_count(cen['usual_residents'].iat[i], vals.iat[i])}", row=int(cen.index[i]) + 2)
    groups = cen["age_group"].map(normalise_age_group)
    if not (groups == OVER_65).any():
        raise InputError(census_path, "no '65 and over' age group")
    grp = np.where(groups == OVER_65, "over65", "under65")
    wide = (pd.DataFrame({"lsoa21_code": cen["lsoa21_code"], "g": grp, "v": vals})
            .groupby(["lsoa21_code", "g"])["v"].sum().unstack(fill_value=0.0))
    nchild = lk.groupby("lsoa11_code")["lsoa21_code"].transform("size")
    out = {}
    for g in ("under65", "over65"):
        w = lk["lsoa11_code"].map(weights[g]).fillna(0.0).to_numpy(float) / nchild.to_numpy(float)
        den = pd.Series(w).groupby(lk["lsoa21_code"].to_numpy()).transform("sum").to_numpy()
        nparent = lk.groupby("lsoa21_code")["lsoa11_code"].transform("size").to_numpy(float)
        share = np.where(den > 0, w / np.where(den > 0, den, 1.0), 1.0 / nparent)
        pop21 = lk["lsoa21_code"].map(wide[g] if g in wide else pd.Series(dtype=float)).to_numpy(float)
        contrib = share * pop21
        out[g] = pd.Series(contrib).groupby(lk["lsoa11_code"].to_numpy()).sum(min_count=1)
    return pd.DataFrame(out).rename_axis("lsoa11_code")


def _label(src: DataSource) -> str:
    v = src.vintage
    return v if re.search("census", v, re.I) else f"{v} estimates"


def build_history(cfg: Config, lsoa: pd.DataFrame, quality: QualityLog | None = None) -> History:
    """Assemble every configured observation of the area's LSOAs, oldest first.

    Uses ``lsoa`` (``pop_total``, ``pop_65plus``) as the estimate of ``cfg.inputs.population``
    and, when configured, the 2011 Output Area populations, the mid-2019 estimates and Census
    2021 (with the LSOA 2011 -> 2021 lookup). Missing inputs are skipped.
    """
    codes = lsoa["lsoa11_code"].astype(str).to_numpy()
    inp = cfg.inputs
    cur = pd.DataFrame({"under65": (lsoa["pop_total"] - lsoa["pop_65plus"]).to_numpy(float),
                        "over65": lsoa["pop_65plus"].to_numpy(float)}, index=codes)
    obs: list[tuple[float, str, pd.DataFrame, DataSource]] = [
        (vintage_time(inp.population.vintage), _label(inp.population), cur, inp.population)]
    if inp.output_area_population is not None:
        src = inp.output_area_population
        obs.append((vintage_time(src.vintage), _label(src),
                    census2011_by_lsoa(cfg.data_path(src), codes), src))
    if inp.population_mid2019 is not None:
        src = inp.population_mid2019
        obs.append((vintage_time(src.vintage), _label(src),
                    sape_broad(cfg.data_path(src), codes, quality, cache=cfg.input_cache), src))
    if inp.census2021_lsoa is not None and inp.lsoa11_lsoa21_lookup is not None:
        src = inp.census2021_lsoa
        census, lookup = cfg.data_path(src), cfg.data_path(inp.lsoa11_lsoa21_lookup)
        mapped = cached_frames(cfg.input_cache, "census2021-lsoa11", files=[census, lookup], params=(codes, cur),
                               quality=quality, build=lambda q: census2021_to_lsoa11(census, lookup, codes, cur, q))
        obs.append((vintage_time(src.vintage), _label(src), mapped, src))
    obs.sort(key=lambda o: o[0])
    # The base is the latest observation that covers every LSOA.
    while obs[-1][2].reindex(codes)[["under65", "over65"]].isna().any().any():
        dropped = obs.pop()
        if quality is not None:
            quality.add(STAGE, Path(dropped[3].path).name, None, dropped[1],
                        "does not cover every LSOA of the area; not used as the projection base", action="flagged")
    under = np.column_stack([o[2]["under65"].reindex(codes).to_numpy(float) for o in obs])
    over = np.column_stack([o[2]["over65"].reindex(codes).to_numpy(float) for o in obs])
    sources: list[DataSource | str | None] = [o[3] for o in obs]
    if inp.census2021_lsoa:
        sources.append(inp.lsoa11_lsoa21_lookup)
    return History(codes, np.array([o[0] for o in obs]), [o[1] for o in obs], under, over, sources)


# ----------------------------------------------------------------------------- shares
def damped_horizon(h: np.ndarray | float, damping: float) -> np.ndarray:
    """Cumulative damped trend multiplier ``sum_{k=1..h} phi**k`` (``h`` for phi = 1)."""
    h = np.asarray(h, dtype=float)
    if damping >= 1.0:
        return h
    if damping <= 0.0:
        return np.zeros_like(h)
    return damping * (1.0 - damping ** h) / (1.0 - damping)


def share_slopes(pops: np.ndarray, times: np.ndarray,
                 weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Base shares and balanced weighted least-squares share slopes (per year) for each row.

    Parameters
    ----------
    pops
        (n_areas, n_obs) populations, NaN where unobserved; the last column is the base and
        must be complete.
    times
        (n_obs,) decimal years.
    weights
        (n_obs,) weight of each observation in the fit (default equal).

    Returns
    -------
    (s0, slope)
        Base shares (sum to 1) and slopes that sum to 0. Rows with fewer than two observations
        get slope 0 (share held constant). At each date, shares are taken among the areas
        observed then, scaled to those areas' base share, so a missing area does not bias others.
    """
    pops = np.asarray(pops, dtype=float)
    base = pops[:, -1]
    if np.isnan(base).any() or (base < 0).any():
        raise ValueError("base populations must be complete and non-negative")
    total = base.sum()
    if total <= 0:
        raise ValueError("base population is zero")
    s0 = base / total
    shares = np.full_like(pops, np.nan)
    for j in range(pops.shape[1]):
        seen = ~np.isnan(pops[:, j])
        tot = pops[seen, j].sum()
        if tot > 0:
            shares[seen, j] = pops[seen, j] / tot * s0[seen].sum()
    mask = ~np.isnan(shares)
    w = np.where(mask, np.ones(pops.shape[1]) if weights is None else np.asarray(weights, float), 0.0)
    n = mask.sum(axis=1)
    wsum = w.sum(axis=1, keepdims=True)
    safe = np.where(wsum > 0, wsum, 1.0)
    t = np.broadcast_to(np.asarray(times, float), pops.shape)
    sv = np.where(mask, shares, 0.0)
    tm = (w * t).sum(axis=1, keepdims=True) / safe
    sm = (w * sv).sum(axis=1, keepdims=True) / safe
    dt = np.where(mask, t - tm, 0.0)
    var = (w * dt ** 2).sum(axis=1)
    cov = (w * dt * (sv - sm)).sum(axis=1)
    has = (n >= 2) & (var > 1e-12)
    slope = np.where(has, cov / np.where(has, var, 1.0), 0.0)
    mass = s0[has].sum()
    if has.any() and mass > 0:
        slope[has] -= slope.sum() * s0[has] / mass
    return s0, slope


def project_shares(pops: np.ndarray, times: np.ndarray, horizons: np.ndarray,
                   damping: float = DEFAULT_DAMPING, weights: np.ndarray | None = None) -> np.ndarray:
    """Shares of the area total for each horizon (years after the base): (n_horizons, n_areas).

    Damped linear trend in shares from the base, floored at zero and renormalised: every row is
    non-negative and sums to one.
    """
    s0, slope = share_slopes(pops, times, weights)
    d = damped_horizon(np.asarray(horizons, dtype=float), damping)
    s = np.clip(s0[None, :] + d[:, None] * slope[None, :], 0.0, None)
    return s / s.sum(axis=1, keepdims=True)


# ----------------------------------------------------------------------------- apportionment
def apportion(history: History, controls: pd.DataFrame, years: list[int], controls_path: str | Path,
              split_0_17: np.ndarray, damping: float = DEFAULT_DAMPING) -> pd.DataFrame:
    """LSOA populations by age band for each year, meeting the controls exactly.

    Parameters
    ----------
    history
        Observations of the LSOAs (see :func:`build_history`).
    controls
        Annual controls (``year, age_group, value``): ``all ages`` required; ``65+``, ``0-17``,
        ``18-64`` used when they cover every year.
    years
        Years wanted (each must be covered by the controls).
    split_0_17
        Each LSOA's share of its under-65s aged 0-17 (held constant).

    Returns
    -------
    pandas.DataFrame
        ``lsoa11_code, year, pop_0_17, pop_18_64, pop_65plus, pop_total`` (floats).
    """
    years = sorted(years)
    h = np.array([y - history.base_year for y in years], dtype=float)
    if (h < 0).any():
        raise ValueError(f"years before the base year {history.base_year} cannot be projected")
    total = control_series(controls, ALL_AGES, years, controls_path)
    has65 = _covers(controls, OVER_65, years)
    if has65:
        c65 = control_series(controls, OVER_65, years, controls_path)
        if (c65 > total).any():
            y = years[int(np.argmax(c65 > total))]
            raise InputError(controls_path, f"65+ control exceeds the all-ages control in {y}")
        s_u = project_shares(history.under65, history.times, h, damping, history.weights)
        s_o = project_shares(history.over65, history.times, h, damping, history.weights)
        u65 = (total - c65)[:, None] * s_u
        o65 = c65[:, None] * s_o
    else:
        # No 65+ controls: apportion all ages, keep each LSOA's base 65+ proportion.
        s_t = project_shares(history.total, history.times, h, damping, history.weights)
        tot = total[:, None] * s_t
        base_tot = history.total[:, -1]
        p65 = np.divide(history.over65[:, -1], base_tot, out=np.zeros_like(base_tot), where=base_tot > 0)
        o65 = tot * p65[None, :]
        u65 = tot - o65
    kids = u65 * split_0_17[None, :]
    if _covers(controls, "0-17", years):
        c017 = control_series(controls, "0-17", years, controls_path)
        k = c017 / kids.sum(axis=1)
        if (k[:, None] * split_0_17[None, :] > 1 + 1e-12).any():
            raise InputError(controls_path, "0-17 controls cannot be met within the under-65 populations")
        kids = kids * k[:, None]
    n, m = len(years), len(history.codes)
    out = pd.DataFrame({
        "lsoa11_code": np.tile(history.codes, n),
        "year": np.repeat(years, m),
        "pop_0_17": kids.ravel(),
        "pop_18_64": (u65 - kids).ravel(),
        "pop_65plus": o65.ravel(),
    })
    out["pop_total"] = out["pop_0_17"] + out["pop_18_64"] + out["pop_65plus"]
    return out


def _covers(controls: pd.DataFrame, age: str, years: list[int]) -> bool:
    have = set(controls.loc[controls["age_group"] == age, "year"])
    return bool(have) and all(y in have for y in years)


def housing_extra(history: History, housing: pd.DataFrame, years: list[int], occupancy: float,
                  allocation: str = "recent_growth") -> tuple[np.ndarray, str]:
    """Extra residents per (year, LSOA) from new dwellings, and how they were placed.

    Total per year = dwellings completed after the base and by mid-year x ``occupancy``.
    ``allocation='recent_growth'`` places them in proportion to each LSOA's population growth
    between the earliest and the base observation (pro rata to population if none grew);
    ``'pro_rata'`` in proportion to base population.
    """
    dw = dwellings_by_year(housing, history.base_time, years)
    base = history.total[:, -1]
    how = "pro rata to base population"
    w = base.copy()
    if allocation == "recent_growth":
        first = history.total[:, 0]
        growth = np.clip(np.where(np.isnan(first), 0.0, base - first), 0.0, None)
        if growth.sum() > 0:
            w = growth
            how = (f"in proportion to each LSOA's population growth {history.labels[0]} to "
                   f"{history.labels[-1]} (LSOAs that did not grow get none)")
    elif allocation != "pro_rata":
        raise ValueError(f"unknown housing allocation {allocation!r}")
    w = w / w.sum()
    return (dw * occupancy)[:, None] * w[None, :], how


# ----------------------------------------------------------------------------- tables
def _long_by_band(df: pd.DataFrame, value: str) -> pd.DataFrame:
    cols = {"pop_0_17": "0-17", "pop_18_64": "18-64", "pop_65plus": "65+", "pop_total": "all"}
    out = df.melt(id_vars=["level", "locality", "year"], value_vars=list(cols), var_name="age_band",
                  value_name=value)
    out["age_band"] = out["age_band"].map(cols)
    return out


def _aggregate(lsoa_proj: pd.DataFrame, localities: list[str], area_name: str, cols: list[str]) -> pd.DataFrame:
    loc = lsoa_proj.groupby(["locality", "year"], sort=False)[cols].sum().reset_index()
    loc.insert(0, "level", "locality")
    area = lsoa_proj.groupby("year", sort=False)[cols].sum().reset_index()
    area.insert(0, "locality", area_name)
    area.insert(0, "level", "area")
    out = pd.concat([loc, area], ignore_index=True)
    order = {name: i for i, name in enumerate([*localities, area_name])}
    out["_o"] = out["locality"].map(order)
    return out.sort_values(["_o", "year"], kind="stable").drop(columns="_o").reset_index(drop=True)


def projected_population_by_locality_age(lsoa_proj: pd.DataFrame, localities: list[str], area_name: str,
                                         base_year: int, provenance: str) -> pd.DataFrame:
    """Population by locality (then the area) x age band (0-17, 18-64, 65+, all) x year.

    Columns ``level, locality, age_band, year, is_base_year, persons, persons_housing_scenario,
    provenance``; the housing column is NaN where no housing scenario was run.
    """
    cols = ["pop_0_17", "pop_18_64", "pop_65plus", "pop_total"]
    base = _aggregate(lsoa_proj, localities, area_name, cols)
    out = _long_by_band(base, "persons")
    hcols = [f"{c}_housing" for c in cols]
    if all(c in lsoa_proj for c in hcols):
        hs = _aggregate(lsoa_proj, localities, area_name, hcols).rename(columns=dict(zip(hcols, cols)))
        out["persons_housing_scenario"] = _long_by_band(hs, "v")["v"].to_numpy()
    else:
        out["persons_housing_scenario"] = np.nan
    order = {name: i for i, name in enumerate([*localities, area_name])}
    out = out.assign(_o=out["locality"].map(order), _b=out["age_band"].map(AGE_BANDS.index))
    out = out.sort_values(["_o", "_b", "year"], kind="stable").drop(columns=["_o", "_b"])
    out.insert(4, "is_base_year", out["year"] == base_year)
    return with_provenance(out.reset_index(drop=True), provenance)


def projected_provision(population: pd.DataFrame, provision_by_locality: pd.DataFrame, min_rate_per_10k: float,
                        area_name: str, provenance: str) -> pd.DataFrame:
    """Pharmacies and weekly opening hours per 10,000 residents at today's provision, per year.

    Parameters
    ----------
    population
        The table from :func:`projected_population_by_locality_age`.
    provision_by_locality
        ``locality, pharmacies, weekly_hours`` today; localities not listed have none. The area
        row sums the localities.
    min_rate_per_10k
        Rates below this are flagged (``below_min_rate``, and ``below_min_rate_housing`` for the
        housing scenario).
    """
    need = {"locality", "pharmacies", "weekly_hours"}
    if not need <= set(provision_by_locality.columns):
        raise ValueError(f"provision_by_locality needs columns {sorted(need)}")
    prov = provision_by_locality.groupby("locality")[["pharmacies", "weekly_hours"]].sum()
    allp = population[population["age_band"] == "all"]
    out = allp[["level", "locality", "year", "is_base_year"]].copy()
    out["population"] = allp["persons"].to_numpy()
    out["population_housing_scenario"] = allp["persons_housing_scenario"].to_numpy()
    loc = out["level"] == "locality"
    out["pharmacies"] = out["locality"].map(prov["pharmacies"]).fillna(0.0)
    out["weekly_hours"] = out["locality"].map(prov["weekly_hours"]).fillna(0.0)
    out.loc[~loc, "pharmacies"] = float(prov.loc[prov.index.isin(out.loc[loc, "locality"]), "pharmacies"].sum())
    out.loc[~loc, "weekly_hours"] = float(prov.loc[prov.index.isin(out.loc[loc, "locality"]), "weekly_hours"].sum())
    for suffix, pop in (("", "population"), ("_housing", "population_housing_scenario")):
        p = out[pop].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"pharmacies_per_10k{suffix}"] = np.where(p > 0, out["pharmacies"] / p * 1e4, np.nan)
            out[f"hours_per_10k{suffix}"] = np.where(p > 0, out["weekly_hours"] / p * 1e4, np.nan)
        rate = out[f"pharmacies_per_10k{suffix}"]
        out[f"below_min_rate{suffix}"] = rate.notna() & (rate < min_rate_per_10k)
    out["min_rate_per_10k"] = float(min_rate_per_10k)
    if np.allclose(out["pharmacies"], out["pharmacies"].round()):
        out["pharmacies"] = out["pharmacies"].round().astype(int)
    return with_provenance(out.reset_index(drop=True), provenance,
                           "today's pharmacies and weekly opening hours, held fixed")


def change_65plus(population: pd.DataFrame, base_year: int, provenance: str) -> pd.DataFrame:
    """65+ residents by locality (then the area): change from the base year to each later year."""
    p = population[population["age_band"] == "65+"]
    base = p[p["year"] == base_year].set_index("locality")["persons"]
    later = p[p["year"] > base_year]
    out = later[["level", "locality", "year"]].copy()
    out.insert(2, "base_year", base_year)
    out["pop_65plus_base"] = out["locality"].map(base).to_numpy()
    out["pop_65plus"] = later["persons"].to_numpy()
    out["change"] = out["pop_65plus"] - out["pop_65plus_base"]
    out["change_pct"] = np.where(out["pop_65plus_base"] > 0, out["change"] / out["pop_65plus_base"] * 100, np.nan)
    hs = later["persons_housing_scenario"].to_numpy(float)
    out["change_housing_scenario"] = hs - out["pop_65plus_base"].to_numpy(float) if np.isfinite(hs).any() else np.nan
    return with_provenance(out.reset_index(drop=True), provenance)


# ----------------------------------------------------------------------------- stage
def run_projections(cfg: Config, lsoa: pd.DataFrame, provision_by_locality: pd.DataFrame,
                    quality: QualityLog, damping: float | None = None,
                    housing_allocation: str | None = None) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Project population by LSOA and locality and the provision rates it implies.

    Parameters
    ----------
    cfg
        Area configuration (``cfg.projections``: controls, housing, occupancy, years, min rate).
    lsoa
        ``ctx.lsoa``: ``lsoa11_code, locality, pop_total, pop_65plus, pop_0_17, pop_18_64``.
    provision_by_locality
        ``locality, pharmacies, weekly_hours`` today.
    quality
        Data-quality log.
    damping
        Trend damping ``phi`` (0 holds today's shares; 1 is an undamped trend); default
        ``cfg.projections.trend_damping``.
    housing_allocation
        ``recent_growth`` or ``pro_rata``; default ``cfg.projections.housing_allocation``.

    Returns
    -------
    (tables, notes)
        ``projection_population_by_locality_age``, ``projection_provision``,
        ``projection_change_65plus``, ``projection_controls``, ``projection_lsoa``; and plain
        statements of method and limits. Empty tables and a note if no controls are configured.
    """
    pc = cfg.projections
    damping = float(getattr(pc, "trend_damping", DEFAULT_DAMPING) if damping is None else damping)
    housing_allocation = str(getattr(pc, "housing_allocation", "recent_growth")
                             if housing_allocation is None else housing_allocation)
    if pc.controls is None:
        return {}, ["Population projections were not made: no projection controls are configured "
                    "(projections.controls)."]
    need = {"lsoa11_code", "locality", "pop_total", "pop_65plus", "pop_0_17", "pop_18_64"}
    missing = need - set(lsoa.columns)
    if missing:
        raise ValueError(f"lsoa frame lacks columns {sorted(missing)}")
    lsoa = pd.DataFrame(lsoa.drop(columns="geometry", errors="ignore")).sort_values("lsoa11_code", kind="stable")
    lsoa = lsoa.reset_index(drop=True)
    cpath = cfg.data_path(pc.controls)
    controls = load_controls(cpath, cfg.area.code, quality)
    history = build_history(cfg, lsoa, quality)
    # The base year leads the tables when the controls cover it (else the first projected year does).
    covered = set(controls.loc[controls["age_group"] == ALL_AGES, "year"])
    years = sorted({*pc.years} | ({history.base_year} if history.base_year in covered else set()))
    ref_year = years[0]
    u = (lsoa["pop_0_17"] + lsoa["pop_18_64"]).to_numpy(float)
    split = np.divide(lsoa["pop_0_17"].to_numpy(float), u, out=np.zeros_like(u), where=u > 0)
    proj = apportion(history, controls, years, cpath, split, damping)
    proj.insert(1, "locality", proj["lsoa11_code"].map(dict(zip(lsoa["lsoa11_code"], lsoa["locality"]))))
    sources: list = [pc.controls, *history.sources]
    notes = _method_notes(cfg, controls, history, years, damping)
    if pc.housing is not None:
        housing = load_housing(cfg.data_path(pc.housing), cfg.area.code, quality)
        extra, how = housing_extra(history, housing, years, pc.occupancy_per_dwelling, housing_allocation)
        ex = extra.ravel()
        tot = proj["pop_total"].to_numpy()
        frac = {c: np.divide(proj[c].to_numpy(), tot, out=np.zeros_like(tot), where=tot > 0)
                for c in ("pop_0_17", "pop_18_64", "pop_65plus")}
        for c, f in frac.items():
            proj[f"{c}_housing"] = proj[c] + ex * f
        proj["pop_total_housing"] = proj["pop_total"] + ex
        sources.append(pc.housing)
        dw = dwellings_by_year(housing, history.base_time, years)
        counted = housing.loc[housing["start"] >= history.base_time, "period"].tolist()
        span = f"{counted[0]} to {counted[-1]}" if counted else "none"
        notes.append(
            f"Housing scenario (separate from the baseline): dwellings in the housing trajectory completed "
            f"after the base date ({span}) "
            f"times {pc.occupancy_per_dwelling:g} residents per dwelling: {dw[-1]:,.0f} dwellings and "
            f"{dw[-1] * pc.occupancy_per_dwelling:,.0f} extra residents by {years[-1]}, added on top of the "
            f"baseline. Where the homes will be built is not in the data, so the extra residents are placed "
            f"{how}; each LSOA's extra residents take its projected age mix. The baseline projection already "
            f"assumes some household growth, so this scenario is an upper estimate, not a forecast.")
        if housing["end"].max() < years[-1] + 0.5:
            notes.append(f"The housing trajectory ends in {housing['period'].iloc[-1]}; no new homes are "
                         f"assumed after that in the housing scenario.")
    notes.append(_sensitivity_note(history, controls, cpath, split, lsoa, years[-1], damping))
    today = _label(cfg.inputs.population)
    if today in history.labels[:-1]:
        loc = lsoa["locality"].astype(str).to_numpy()
        base = pd.Series(history.total[:, -1]).groupby(loc).sum()
        prev = pd.Series(history.total[:, history.labels.index(today)]).groupby(loc).sum()
        notes.append(f"The projection base ({history.labels[-1]}) differs from the {today} used for "
                     "today's rates: " + "; ".join(f"{k} {base[k]:,.0f} against {prev[k]:,.0f}" for k in base.index)
                     + ". Projected rates for the base year therefore differ from today's rates.")
    provenance = cite(*sources, f"apportioned to LSOAs by damped share trend (phi={damping:g})")
    localities = sorted(lsoa["locality"].dropna().astype(str).unique())
    pop = projected_population_by_locality_age(proj, localities, cfg.area.name, ref_year, provenance)
    provision = projected_provision(pop, provision_by_locality, pc.min_rate_per_10k, cfg.area.name, provenance)
    flagged = provision[(provision["level"] == "locality") & provision["below_min_rate"]]
    if len(flagged):
        first = flagged.groupby("locality")["year"].min()
        notes.append("At today's provision, pharmacies per 10,000 residents are below "
                     f"{pc.min_rate_per_10k:g} in: " + "; ".join(
                         f"{loc} ({'already in ' if y == ref_year else 'from '}{y})"
                         for loc, y in first.items()) + ".")
    else:
        notes.append(f"At today's provision, no locality's projected pharmacies per 10,000 residents falls "
                     f"below {pc.min_rate_per_10k:g} by {years[-1]}.")
    ctl = controls[controls["year"].isin(years)].sort_values(["age_group", "year"], kind="stable")
    lsoa_out = proj.sort_values(["lsoa11_code", "year"], kind="stable").reset_index(drop=True)
    tables = {
        "projection_population_by_locality_age": pop,
        "projection_provision": provision,
        "projection_change_65plus": change_65plus(pop, ref_year, provenance),
        "projection_controls": with_provenance(ctl.reset_index(drop=True), pc.controls),
        "projection_lsoa": with_provenance(lsoa_out, provenance),
    }
    return tables, notes


def _sensitivity_note(history: History, controls: pd.DataFrame, cpath: Path, split: np.ndarray,
                      lsoa: pd.DataFrame, year: int, damping: float) -> str:
    loc = lsoa["locality"].astype(str).to_numpy()
    runs = {phi: pd.Series(apportion(history, controls, [year], cpath, split, phi)["pop_total"].to_numpy())
            .groupby(loc).sum() for phi in (0.0, damping, 1.0)}
    parts = [f"{name} {runs[damping][name]:,.0f} ({runs[0.0][name]:,.0f} to {runs[1.0][name]:,.0f})"
             for name in runs[damping].index]
    return (f"Sensitivity: {year} population by locality with the damped trend used, and in brackets with "
            f"today's shares held and with the trend undamped: " + "; ".join(parts) + ". The further ahead, "
            "the less certain the split between localities; the area total is fixed by the controls.")


def _derived_note(controls: pd.DataFrame) -> str:
    b = controls["basis"]
    d = controls[b.str.startswith("published share") | b.str.contains(" plus published change ", regex=False)]
    if d.empty:
        return ""
    return " Derived figures: " + "; ".join(f"{a} in {y} = {v:,.0f} ({basis})" for y, a, v, basis in
                                            d[["year", "age_group", "value", "basis"]].itertuples(index=False)) + "."


def _method_notes(cfg: Config, controls: pd.DataFrame, history: History, years: list[int],
                  damping: float) -> list[str]:
    pc = cfg.projections
    assert pc.controls is not None  # only called when controls are configured
    c = controls.set_index(["age_group", "year"])["value"]
    y0, y1 = years[0], years[-1]
    notes = [
        f"Population projections to {y1} follow the area-wide figures in '{pc.controls.title}' "
        f"({pc.controls.publisher}, {pc.controls.vintage}): {c.get((ALL_AGES, y0), np.nan):,.0f} residents in {y0} "
        f"and {c.get((ALL_AGES, y1), np.nan):,.0f} in {y1}"
        + (f"; aged 65+ {c.get((OVER_65, y0), np.nan):,.0f} and {c.get((OVER_65, y1), np.nan):,.0f}."
           if (OVER_65, y1) in c.index else "; no 65+ figures were given, so each LSOA keeps its 65+ proportion."),
        "Years between published figures are linear interpolations; nothing is extrapolated beyond the "
        "published years." + _derived_note(controls),
        f"Only area-wide figures exist. They are shared among LSOAs by each LSOA's share of the area, "
        f"carried forward with a damped trend (damping {damping:g} a year: about "
        f"{float(damped_horizon(y1 - history.base_year, damping)):.1f} years' worth of the observed "
        f"yearly change in shares by {y1}) fitted to: {'; '.join(history.labels)} (mid-year estimates "
        f"weigh {ESTIMATE_WEIGHT:g} of a census in the fit: they are rolled forward from the last census "
        f"and were revised by the next). Under-65s and over-65s are "
        f"projected separately, so places whose older population grew keep gaining older residents. "
        f"LSOAs with fewer than two observations keep their base share. Localities are sums of LSOAs.",
        f"The base is {history.labels[-1]}. LSOA 2021 counts are mapped back to LSOA 2011 with the ONS "
        f"lookup: split LSOAs are summed, merged ones shared by mid-year population.",
        "Ages 0-17 and 18-64 split each LSOA's under-65s in its mid-year-estimate proportions, held constant.",
        "Pharmacies and opening hours per 10,000 residents hold today's pharmacies and weekly hours fixed: "
        "they show what population change alone would do to provision, not a forecast of provision.",
    ]
    if (OVER_65, history.base_year) in c.index:
        obs65 = float(np.nansum(history.over65[:, -1]))
        ctl65 = float(c[(OVER_65, history.base_year)])
        notes.append(f"In {history.base_year} the 65+ control ({ctl65:,.0f}) differs from the observed "
                     f"{history.labels[-1]} count ({obs65:,.0f}) by {ctl65 - obs65:+,.0f} "
                     f"({(ctl65 - obs65) / obs65 * 100:+.1f}%); the projection follows the control.")
    return notes
