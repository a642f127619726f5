"""Optional inputs a board supplies: per-pharmacy services and consultation responses.

Paths are relative to the project root:

* ``cfg.optional.services`` - CSV keyed by ``ods_code``: either wide (one column per service,
  values yes/no/true/false/1/0 or a non-negative activity count) or long
  (``ods_code, service`` and ``provided`` and/or ``activity``);
* ``cfg.optional.consultation`` - the consultation survey's export, one row per response
  (:mod:`pna.consultation`).
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import Config
from ..consultation.responses import read_responses
from ..consultation.summary import consultation_tables
from ..errors import InputError
from ..io import read_table
from ..provenance import with_provenance
from ..quality import QualityLog

__all__ = ["load_services", "service_provision", "load_consultation"]

TRUE = {"y", "yes", "true", "t", "1", "provided"}
FALSE = {"n", "no", "false", "f", "0", "", "not provided"}


def _read_optional_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "optional input file not found")
    return read_table(path, blank_rows=True)


def load_services(*, cfg: Config, pharmacies: pd.DataFrame, quality: QualityLog) -> pd.DataFrame | None:
    """Read ``cfg.optional.services`` into a long table ``ods_code, service, provided, activity``.

    Rows whose ODS code is not among the mapped pharmacies, or with a value that is neither a
    yes/no flag nor a non-negative number, are quarantined with their reason.
    """
    rel = cfg.optional.services
    if rel is None:
        return None
    path = cfg.project_path(rel)
    raw = _read_optional_csv(path)
    cols = {c.strip().lower(): c for c in raw.columns}
    if "ods_code" not in cols:
        raise InputError(path, "no ods_code column")
    known = set(pharmacies["ods_code"])
    long_format = "service" in cols
    records, bad = [], 0
    for i, r in raw.iterrows():
        line = int(i) + 2
        ods = str(r[cols["ods_code"]]).strip().upper()
        if known and ods not in known:
            quality.add("report", str(path), line, ods, "ODS code is not a pharmacy in the area or its bands",
                            "ods_code")
            bad += 1
            continue
        items = ([(str(r[cols["service"]]).strip(), r.get(cols.get("provided", ""), ""),
                   r.get(cols.get("activity", ""), ""))]
                 if long_format else [(c.strip(), r[c], "") for c in raw.columns if c != cols["ods_code"]])
        parsed, reason = [], ""
        for svc, flag, act in items:
            p = _parse_service_value(str(flag)) if str(flag).strip() or not str(act).strip() else None
            a = _parse_service_value(str(act)) if str(act).strip() else None
            if (p is None and a is None) or (p is not None and p[0] is None) or (a is not None and a[1] is None):
                reason = f"service {svc!r}: value {flag or act!r} is not yes/no or a non-negative number"
                break
            if p is not None:
                provided = bool(p[0])
            else:
                assert a is not None  # both None is rejected above
                provided = bool(a[1] and a[1] > 0)
            activity = a[1] if a is not None else (p[1] if p is not None else np.nan)
            if not svc:
                reason = "blank service name"
                break
            parsed.append({"ods_code": ods, "service": svc, "provided": provided, "activity": activity})
        if reason:
            quality.add("report", str(path), line, ods, reason, "service")
            bad += 1
            continue
        records += parsed
    quality.account(f"services file: {path.name}", str(path), len(raw), len(raw) - bad, bad)
    df = pd.DataFrame(records, columns=["ods_code", "service", "provided", "activity"])
    df = df.sort_values(["service", "ods_code"], kind="stable").drop_duplicates(["service", "ods_code"], keep="last")
    return df.reset_index(drop=True)


def _parse_service_value(text: str) -> tuple[bool | None, float | None]:
    t = text.strip().lower()
    if t in TRUE:
        return True, np.nan
    if t in FALSE:
        return False, np.nan
    try:
        v = float(t.replace(",", ""))
    except ValueError:
        return None, None
    if not math.isfinite(v) or v < 0:
        return None, None
    return v > 0, v


def service_provision(*, cfg: Config, services: pd.DataFrame, provision: pd.DataFrame,
                      pharmacies: pd.DataFrame) -> pd.DataFrame:
    """Pharmacies providing each service (in the area) by locality and area, with rates per 10,000."""
    prov = provision
    ph = pharmacies
    inside = ph[ph["in_area"].astype(bool)] if "in_area" in ph else ph
    rows = []
    units = prov[prov["level"].isin(["locality", "area"])] if "level" in prov else prov
    for svc, g in services.groupby("service", sort=True):
        on = g.loc[g["provided"].astype(bool), "ods_code"]
        act = g.set_index("ods_code")["activity"]
        for _, u in units.iterrows():
            sub = inside if u.get("level") == "area" else inside[inside["locality"] == u["locality"]]
            n = int(sub["ods_code"].isin(on).sum())
            a = act.reindex(sub["ods_code"]).astype(float)
            rows.append({"service": svc, "level": u.get("level", "locality"), "locality": u["locality"],
                         "pharmacies": n, "population": float(u["population"]),
                         "rate_per_10k": n / float(u["population"]) * 1e4 if float(u["population"]) > 0 else np.nan,
                         "activity": float(a.sum()) if a.notna().any() else np.nan})
    src = f"Service data supplied by the board ({cfg.optional.services})"
    return with_provenance(pd.DataFrame(rows), src, str(prov["provenance"].iloc[0]) if "provenance" in prov else None)


def load_consultation(*, cfg: Config, quality: QualityLog, lsoa: gpd.GeoDataFrame | None = None,
                      postcodes: pd.DataFrame | None = None,
                      localities: list[str] | None = None) -> dict[str, pd.DataFrame] | None:
    """The consultation report's tables from the survey export ``cfg.optional.consultation``.

    See :mod:`pna.consultation.summary`; ``lsoa`` and ``postcodes`` (the geography stage's) let
    the responses be compared with the residents. None when no responses file is configured.
    """
    rel = cfg.optional.consultation
    if rel is None:
        return None
    path = cfg.project_path(rel)
    names = list(localities) if localities is not None else (
        sorted(lsoa["locality"].dropna().astype(str).unique()) if lsoa is not None and "locality" in lsoa else [])
    responses, comments = read_responses(path=path, spec=cfg.consultation, localities=names, quality=quality)
    return consultation_tables(responses=responses, comments=comments, spec=cfg.consultation, lsoa=lsoa,
                               postcodes=postcodes, area_name=cfg.area.name, area_codes=cfg.area.all_codes,
                               localities=names, source=f"Consultation responses ({Path(rel).name})")
