"""The provision stage: rates, hours, demography, projections and the board's optional tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import pandas as pd

from ..config import Config
from ..geography.stage import Geography
from ..loaders.stage import Inputs
from ..provenance import with_provenance
from ..quality import QualityLog
from ..schema import require_columns
from .optional import load_consultation, load_services, service_provision
from .projections import run_projections
from .tables import build_provision_tables

__all__ = ["Provision", "build_provision", "derived_tables", "future_rates"]


@dataclass(frozen=True)
class Provision:
    """Result of the provision stage.

    Attributes
    ----------
    tables
        ``pharmacies, provision, opening_categories, opening_hours, boundary_bands, demography``,
        the ``projection_*`` tables, ``future_rates`` where it can be derived, and, when the
        board supplies them, ``services``, ``service_provision`` and the ``consultation_*`` tables.
    services
        The board's per-pharmacy services, long (``ods_code, service, provided, activity``), or None.
    notes
        Plain statements of method and limits (projections).
    """

    tables: Mapping[str, pd.DataFrame]
    services: pd.DataFrame | None
    notes: tuple[str, ...]


def build_provision(*, cfg: Config, inputs: Inputs, geography: Geography, quality: QualityLog) -> Provision:
    """Provision tables, projections and the optional services and consultation tables.

    Parameters
    ----------
    cfg
        Area config.
    inputs
        The inputs stage's result (national list for the England comparator).
    geography
        The geography stage's result.
    quality
        Projection and optional-file exceptions and row accounting.
    """
    tables = build_provision_tables(cfg, geography.pharmacies, geography.lsoa, geography.localities,
                                    inputs.national_list)
    hours = tables["opening_hours"]
    by_loc = hours[hours["level"] == "locality"][["locality", "pharmacies", "weekly_hours"]]
    proj, proj_notes = run_projections(cfg, geography.lsoa, by_loc, quality)
    tables.update({k if k.startswith("projection") else f"projection_{k}": v for k, v in proj.items()})
    extra, services = derived_tables(tables, cfg=cfg, pharmacies=geography.pharmacies, quality=quality,
                                     geography=geography)
    tables.update(extra)
    require_columns(tables["provision"], ("level", "locality", "pharmacies", "population", "rate_per_10k"),
                    what="provision")
    return Provision(tables=MappingProxyType(tables), services=services, notes=tuple(proj_notes))


def derived_tables(tables: Mapping[str, pd.DataFrame], *, cfg: Config, pharmacies: pd.DataFrame,
                   quality: QualityLog, geography: Geography | None = None
                   ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The board's optional tables (services, the consultation report's tables) and ``future_rates``.

    They are derived from the provision and projection ``tables`` (which must hold ``provision``);
    ``geography`` (its small areas, localities and postcodes) lets the consultation's respondents
    be compared with the residents.

    Returns
    -------
    (tables to add, services)
        ``services`` is the board's per-pharmacy services (long), or None when none was supplied.
    """
    out: dict[str, pd.DataFrame] = {}
    services = load_services(cfg=cfg, pharmacies=pharmacies, quality=quality)
    if services is not None:
        out["services"] = with_provenance(services, f"Service data supplied by the board ({cfg.optional.services})")
        out["service_provision"] = service_provision(cfg=cfg, services=services, provision=tables["provision"],
                                                     pharmacies=pharmacies)
    consultation = load_consultation(
        cfg=cfg, quality=quality, lsoa=geography.lsoa if geography is not None else None,
        postcodes=geography.postcodes if geography is not None else None,
        localities=[str(v) for v in geography.localities["locality"]] if geography is not None
        else _locality_names(tables["provision"]))
    if consultation is not None:
        out.update(consultation)
    if not any(k.startswith("projection") and "pharmacies_per_10k" in v for k, v in tables.items()):
        fr = future_rates({**tables, **out})
        if fr is not None:
            out["future_rates"] = fr
    return out, services


def _locality_names(prov: pd.DataFrame) -> list[str] | None:
    if "level" not in prov:
        return None
    return [str(v) for v in prov.loc[prov["level"] == "locality", "locality"]]


def _area_key(prov: pd.DataFrame) -> str | None:
    if "level" not in prov:
        return None
    hit = prov.loc[prov["level"] == "area", "locality"]
    return str(hit.iloc[0]) if len(hit) == 1 else None


def future_rates(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """Pharmacies per 10,000 residents at each projected year, holding today's pharmacies fixed.

    Uses the first ``projection_*`` table with ``year`` and ``population`` columns (and a
    ``locality`` column, or area-only figures); today's pharmacies come from ``provision``.
    """
    prov = tables.get("provision")
    if prov is None or prov.empty:
        return None
    for name in sorted(k for k in tables if k.startswith("projection")):
        proj = tables[name]
        if not {"year", "population"} <= set(proj.columns) or proj.empty:
            continue
        p = proj.copy()
        area_key = _area_key(prov)
        if "locality" not in p:
            p["locality"] = area_key
        if "scenario" in p and p["scenario"].nunique() > 1:
            # keep every scenario distinct in the row key
            p["locality"] = p["locality"].astype(str) + " (" + p["scenario"].astype(str) + ")"
            base = p["locality"].str.replace(r" \(.*\)$", "", regex=True)
        else:
            base = p["locality"].astype(str)
        pharm = prov.assign(_k=prov["locality"].astype(str)).set_index("_k")["pharmacies"]
        p = p.assign(pharmacies=base.map(pharm))
        p = p[p["pharmacies"].notna()]
        if p.empty:
            continue
        p["projected_population"] = p["population"].astype(float)
        p["rate_per_10k"] = p["pharmacies"].astype(float) / p["projected_population"] * 10_000
        out = p[["year", "locality", "pharmacies", "projected_population", "rate_per_10k"]].copy()
        out["source_table"] = name
        out = out.sort_values(["year", "locality"], kind="stable").reset_index(drop=True)
        prov_text = str(proj["provenance"].iloc[0]) if "provenance" in proj else name
        return with_provenance(out, prov_text, "pharmacies held at today's count (provision table)")
    return None
