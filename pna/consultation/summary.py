"""The consultation report's tables: who responded, what they said, and who did not respond.

Responses (:func:`pna.consultation.responses.read_responses`) are counted by respondent type and
locality, each closed question's answers are counted, the public's responses are compared with
the area's residents by age band, locality and deprivation quintile (so groups that responded
less than their share are visible), and free-text comments are grouped by theme with a column
for the board's reply.

A response gives a postcode district (``LE2``) or a locality, never a full address: a district
counts towards the locality holding most of its postcodes in the area, and towards deprivation
quintiles in proportion to its postcodes in each (so those counts are estimates, and are said to
be). Districts with no postcode in the area count as outside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import ConsultationSpec
from ..crs import BNG, to_bng
from ..provenance import with_provenance
from .responses import NOT_GIVEN

__all__ = ["consultation_tables", "district_profile", "OTHER_THEME"]

OTHER_THEME = "Other comments"
QUINTILES = {1: "1 (most deprived)", 2: "2", 3: "3", 4: "4", 5: "5 (least deprived)"}


def district_profile(*, lsoa: gpd.GeoDataFrame, postcodes: pd.DataFrame, area_codes: frozenset[str]) -> pd.DataFrame:
    """Each postcode district's in-area postcodes by locality and deprivation quintile.

    Returns
    -------
    DataFrame
        ``district, locality, quintile, postcodes`` (quintile 0 where unknown).
    """
    pcs = postcodes.reset_index() if "postcode" not in postcodes.columns else postcodes
    if "la_code" in pcs:
        pcs = pcs[pcs["la_code"].astype("string").isin(sorted(area_codes)).fillna(False).to_numpy(bool)]
    pcs = pcs.dropna(subset=["easting", "northing"])
    if pcs.empty or lsoa is None or lsoa.empty:
        return pd.DataFrame(columns=["district", "locality", "quintile", "postcodes"])
    pts = gpd.GeoDataFrame({"district": pcs["postcode"].astype(str).str.split(" ").str[0].to_numpy()},
                           geometry=gpd.points_from_xy(pcs["easting"].to_numpy(float), pcs["northing"].to_numpy(float)),
                           crs=BNG)
    cols = ["locality"] + (["imd2019_quintile"] if "imd2019_quintile" in lsoa else [])
    polys = to_bng(lsoa[cols + [lsoa.geometry.name]].reset_index(drop=True))
    hit = gpd.sjoin(pts, polys, how="inner", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    q = hit["imd2019_quintile"] if "imd2019_quintile" in hit else pd.Series(0, index=hit.index)
    frame = pd.DataFrame({"district": hit["district"], "locality": hit["locality"].astype(str),
                          "quintile": q.fillna(0).astype(int)})
    return frame.groupby(["district", "locality", "quintile"]).size().rename("postcodes").reset_index()


def _share(n: pd.Series) -> pd.Series:
    total = float(n.sum())
    return n / total if total > 0 else n * np.nan


def _residents_by_age(lsoa: pd.DataFrame, spec: ConsultationSpec) -> pd.Series:
    out = {}
    for b in spec.age_bands:
        high = b.high if b.high is not None else 89
        cols = [f"age_{a}_{a + 4}" for a in range(b.low, min(high, 84) + 1, 5) if f"age_{a}_{a + 4}" in lsoa]
        if b.high is None or b.high >= 85:
            cols += ["age_85plus"] if "age_85plus" in lsoa else []
        out[b.label] = float(lsoa[cols].to_numpy(float).sum()) if cols else np.nan
    return pd.Series(out)


def _compare(measure: str, respondents: pd.Series, residents: pd.Series, spec: ConsultationSpec,
             basis: str) -> pd.DataFrame:
    groups = list(residents.index)
    r = respondents.reindex(groups).fillna(0.0).astype(float)
    res = residents.reindex(groups).astype(float)
    sr, sp = _share(r), _share(res)
    ratio = sr / sp.where(sp > 0)
    return pd.DataFrame({"measure": measure, "group": groups, "respondents": r.to_numpy(),
                         "share_respondents": sr.to_numpy(), "residents": res.to_numpy(),
                         "share_residents": sp.to_numpy(), "ratio": ratio.to_numpy(),
                         "under_represented": (ratio < spec.under_represented).to_numpy(), "basis": basis})


def _theme(text: str, themes: Mapping[str, list[str]]) -> tuple[str, str]:
    low = text.casefold()
    hits = [name for name, words in themes.items() if any(w.casefold() in low for w in words)]
    return (hits[0], "; ".join(hits[1:])) if hits else (OTHER_THEME, "")


def consultation_tables(*, responses: pd.DataFrame, comments: pd.DataFrame, spec: ConsultationSpec,
                        lsoa: gpd.GeoDataFrame | None, postcodes: pd.DataFrame | None, area_name: str,
                        area_codes: frozenset[str], localities: list[str], source: str) -> dict[str, pd.DataFrame]:
    """The consultation report's tables.

    Returns
    -------
    dict
        ``consultation_summary`` (question, answer, responses, share of those who answered it,
        and of all responses for "not answered"; first row: all responses),
        ``consultation_respondents`` (respondent_type, responses, share),
        ``consultation_localities`` (locality, responses, public), and, when the area's small
        areas are known, ``consultation_representation`` (measure, group, respondents,
        share_respondents, residents, share_residents, ratio, under_represented, basis), and
        ``consultation_comments`` (theme, also_about, line, respondent_type, locality, column,
        comment, board_response). Every table carries its provenance.
    """
    outside = f"Outside {area_name}"
    prof = (district_profile(lsoa=lsoa, postcodes=postcodes, area_codes=area_codes)
            if lsoa is not None and postcodes is not None else pd.DataFrame(columns=["district", "locality",
                                                                                     "quintile", "postcodes"]))
    by_loc = prof.groupby(["district", "locality"])["postcodes"].sum().reset_index()
    by_loc = by_loc.sort_values(["district", "postcodes", "locality"], ascending=[True, False, True], kind="stable")
    majority = by_loc.drop_duplicates("district").set_index("district")["locality"]
    resp = responses.copy()
    from_district = resp["district"] != ""
    resp.loc[from_district, "locality"] = resp.loc[from_district, "district"].map(majority).fillna(outside)
    n = len(resp)
    public = resp[resp["respondent_type"] == spec.public_type]

    kinds = pd.Series(0, index=spec.respondent_types, dtype=int).add(
        resp["respondent_type"].value_counts(), fill_value=0).astype(int)
    respondents = pd.DataFrame({"respondent_type": kinds.index, "responses": kinds.to_numpy(),
                                "share": (kinds / n).to_numpy() if n else np.nan})

    order = list(localities) + [outside, NOT_GIVEN]
    locs = pd.DataFrame({"locality": order,
                         "responses": [int((resp["locality"] == x).sum()) for x in order],
                         "public": [int((public["locality"] == x).sum()) for x in order]})
    locs = locs[(locs["responses"] > 0) | locs["locality"].isin(localities)].reset_index(drop=True)

    rows = [{"question": "All responses", "answer": "responses received", "responses": n,
             "share": 1.0 if n else np.nan}]
    for q in spec.questions:
        vals = resp[q.id]
        answered = vals[vals != ""]
        if q.options:
            for opt in q.options:
                k = int((answered == opt).sum())
                rows.append({"question": q.text, "answer": opt, "responses": k,
                             "share": k / len(answered) if len(answered) else np.nan})
        else:
            rows.append({"question": q.text, "answer": "answered (free text)", "responses": int(len(answered)),
                         "share": len(answered) / n if n else np.nan})
        rows.append({"question": q.text, "answer": "not answered (share of all responses)",
                     "responses": int(n - len(answered)), "share": (n - len(answered)) / n if n else np.nan})
    summary = pd.DataFrame(rows)

    out = {"consultation_summary": with_provenance(summary, source),
           "consultation_respondents": with_provenance(respondents, source),
           "consultation_localities": with_provenance(locs, source, "postcode districts counted in the locality "
                                                      "holding most of their postcodes")}

    if lsoa is not None and len(lsoa):
        ages = _residents_by_age(lsoa, spec)
        rep = [_compare("age band", public["age_band"].value_counts(), ages, spec,
                        f"public respondents who gave their age; residents aged {spec.age_bands[0].low} and over")]
        loc_res = lsoa.groupby("locality")["pop_total"].sum().reindex(localities)
        rep.append(_compare("locality", public["locality"].value_counts(), loc_res, spec,
                            f"public respondents in {area_name} who gave a district or locality"))
        if "imd2019_quintile" in lsoa:
            q_res = lsoa.groupby(lsoa["imd2019_quintile"].fillna(0).astype(int))["pop_total"].sum()
            q_res = q_res[q_res.index > 0]
            loc_q = lsoa.assign(q=lsoa["imd2019_quintile"].fillna(0).astype(int)).groupby(["locality", "q"])[
                "pop_total"].sum()
            dist_q = prof[prof["quintile"] > 0].groupby(["district", "quintile"])["postcodes"].sum()
            est = pd.Series(0.0, index=q_res.index)
            for _, r in public.iterrows():
                if r["district"] and r["district"] in dist_q.index.get_level_values(0):
                    w = dist_q.loc[r["district"]].astype(float)
                elif r["locality"] in localities and r["locality"] in loc_q.index.get_level_values(0):
                    w = loc_q.loc[r["locality"]].astype(float)
                    w = w[w.index > 0]
                else:
                    continue
                est = est.add(w / w.sum(), fill_value=0.0)
            q_res.index = [QUINTILES.get(int(i), str(i)) for i in q_res.index]
            est.index = [QUINTILES.get(int(i), str(i)) for i in est.index]
            rep.append(_compare("deprivation quintile (IMD 2019)", est, q_res, spec,
                                "estimated: each response shared across the quintiles of its district's (or "
                                "locality's) postcodes"))
        out["consultation_representation"] = with_provenance(
            pd.concat(rep, ignore_index=True), source, "ONS small area population estimates and IMD 2019 "
            "(the run's small areas)")

    if len(comments):
        c = comments.merge(resp[["line", "respondent_type", "locality"]], on="line", how="left")
        themed = [_theme(t, spec.themes) for t in c["comment"]]
        c["theme"] = [a for a, _ in themed]
        c["also_about"] = [b for _, b in themed]
        rank = {name: i for i, name in enumerate([*spec.themes, OTHER_THEME])}
        c = c.assign(_r=c["theme"].map(rank)).sort_values(["_r", "line", "column"], kind="stable").drop(columns="_r")
        c = c[["theme", "also_about", "line", "respondent_type", "locality", "column", "comment", "board_response"]]
        out["consultation_comments"] = with_provenance(c.reset_index(drop=True), source, "themes by the words "
                                                       "in consultation.themes")
    return out
