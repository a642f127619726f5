"""One label dictionary for every code name that reaches a reader (HTML, PDF, Word, spreadsheets).

Tables keep their code names (``rate_per_10k``) so that scripts and QGIS can use them; what a
reader sees is :func:`label` of the column and :func:`table_title` of the table. A code name
with no entry is turned into words by rule (``pop_65plus`` -> "Residents aged 65+"), so no
snake_case identifier is ever printed. Dates are written the British way, "31 March 2022".
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["LABELS", "TABLE_TITLES", "label", "table_title", "date_text", "humanise", "plain"]

LABELS: dict[str, str] = {
    # consultation report (pna.consultation.summary)
    "respondent_type": "Type of respondent", "public": "Members of the public",
    "measure": "Compared by", "respondents": "Public respondents", "share_respondents": "Share of respondents",
    "share_residents": "Share of residents", "ratio": "Respondents' share over residents' share",
    "under_represented": "Fewer responses than its share", "theme": "Group of comments",
    "also_about": "Also about", "comment": "Comment", "board_response": "The board's response",

    "ods_code": "ODS code", "trading_name": "Trading name", "org_name": "Organisation", "name": "Name",
    "level": "Level", "locality": "Locality", "population": "Residents", "pop_18plus": "Adults (18+)",
    "pharmacies": "Pharmacies", "hundred_hour": "100-hour pharmacies", "distance_selling": "Distance-selling",
    "lps": "Local pharmaceutical services", "rate_per_10k": "Pharmacies per 10,000 residents",
    "rate_per_10k_18plus": "Pharmacies per 10,000 adults",
    "residents_per_pharmacy": "Residents per pharmacy", "weekly_hours": "Weekly hours",
    "hours_per_10k": "Weekly hours per 10,000 residents", "late_weekday": "Open after 18:30 on a weekday",
    "sat_pm": "Open Saturday afternoon", "sunday": "Open Sunday", "category": "Opening category",
    "share": "Share", "band": "Distance band", "age_0_17": "Aged 0 to 17", "age_18_64": "Aged 18 to 64",
    "age_65plus": "Aged 65+", "share_65plus": "Share aged 65+", "imd_q1": "Most deprived fifth (1)",
    "imd_q2": "Fifth 2", "imd_q3": "Fifth 3", "imd_q4": "Fifth 4", "imd_q5": "Least deprived fifth (5)",
    "group_type": "Group type", "group": "Group", "threshold_min": "Minutes", "population_within": "Residents within",
    "share_within": "Share within", "provenance": "Source", "year": "Year",
    "projected_population": "Projected residents", "service": "Service", "question": "Question",
    "answer": "Answer", "responses": "Responses", "opening_category": "Opening category",
    "imd2019_quintile": "Deprivation fifth (IMD 2019)", "lsoa11_code": "Small area (LSOA)", "type": "Type",
    "address": "Address", "postcode": "Postcode", "stage": "Stage", "source_file": "File", "row": "Row",
    "record": "Record", "field": "Field", "reason": "Reason", "action": "Action", "check": "Check",
    "rows_in": "Rows in", "accepted": "Accepted", "quarantined": "Quarantined", "balanced": "Balanced",
    "points_beyond": "Places beyond", "population_beyond": "Residents beyond",
    "pop_65plus_beyond": "Residents aged 65+ beyond", "share_beyond": "Share beyond",
    "max_minutes": "Longest time (minutes)", "activity": "Activity", "pharmacies_per_10k": "Pharmacies per 10,000",
    "population_housing_scenario": "Residents (housing scenario)", "is_base_year": "Base year",
    "pharmacies_per_10k_housing": "Pharmacies per 10,000 (housing scenario)", "below_min_rate": "Below minimum rate",
    "contract_type": "Contract", "is_100_hour": "100-hour", "is_distance_selling": "Distance-selling",
    "in_area": "In the area", "rank": "Rank", "population_losing": "Residents who would lose access",
    "pop_65plus_losing": "Residents aged 65+ who would lose access",
    "max_minutes_after": "Longest time after closure (minutes)", "scenario": "Time", "mode": "Travel mode",
    "is_estimate": "Estimate", "pop_65plus": "Residents aged 65+", "change_pct": "Change (%)",
    "value": "Value", "msoa11_code": "Middle-layer area (MSOA)", "lsoa21_code": "Small area (LSOA 2021)",
    "lad_code": "District code", "hwb_name": "Health and Wellbeing Board", "near_boundary": "Near a locality boundary",
    "status": "Finding", "outcome": "Outcome on estimates", "rule": "Rule", "scope": "Scope",
    "subject": "Where", "time": "When", "threshold": "Threshold", "population_with": "Residents with access",
    "population_without": "Residents without access", "share_walk": "Share on foot alone",
    "population_walk_lost": "Residents who can walk in the day but not then",
    "population_one": "Residents with one pharmacy only", "necessary_pharmacies": "Pharmacies that are the only one",
    "population_relying": "Residents relying on one pharmacy", "population_base": "Residents at base year",
    "detail": "Finding in words", "basis": "How it was worked out", "expected": "Expected", "observed": "Observed",
    "passed": "Passed", "count_flag": "Counted", "easting": "Easting", "northing": "Northing",
    "open_72plus_hours": "Listed as open 72+ hours a week", "open_100plus_hours": "Listed as open 100+ hours a week",
    "min_rate_per_10k": "Minimum rate (per 10,000)", "below_min_rate_housing": "Below minimum rate (housing scenario)",
    "lsoa": "Small areas (LSOA)", "projected_lsoa": "Projected small areas",
    "lat": "Latitude", "lon": "Longitude", "geocode_source": "Placed by", "code": "Code",
}

TABLE_TITLES: dict[str, str] = {
    "provision": "Pharmacies and rates by locality", "demography": "Residents by age and deprivation",
    "pharmacies": "Every pharmacy", "boundary_bands": "Cross-border pharmacies by distance",
    "opening_hours": "Opening hours by locality", "opening_categories": "Opening categories by locality",
    "open_access": "Reaching an open pharmacy", "gap_findings": "Gap findings", "statements": "Statements",
    "exceptions": "Data exceptions", "row_accounting": "Row accounting", "reconciliation": "List and ODS reconciled",
    "selfcheck": "Self-check", "future_rates": "Future rates", "service_provision": "Services by locality",
    "consultation_summary": "Consultation responses", "list_changes": "Changes to the list",
    "lsoa": "Small areas", "localities": "Localities", "projection_lsoa": "Projection: small areas (LSOA)",
    "projection_population_by_locality_age": "Projection: residents by locality and age",
    "projection_change_65plus": "Projection: change in residents aged 65+",
    "projection_controls": "Projection: published area figures", "projection_provision": "Projection: provision",
}

_WORDS = {"pct": "(%)", "10k": "10,000", "65plus": "aged 65+", "18plus": "aged 18+", "lsoa": "LSOA", "msoa": "MSOA",
          "lsoa11": "LSOA", "lsoa21": "LSOA 2021", "imd": "deprivation", "imd2019": "deprivation (IMD 2019)",
          "ods": "ODS", "min": "minutes", "pop": "residents", "km": "km", "id": "ID", "gp": "GP", "hwb": "board",
          "osm": "OpenStreetMap", "gtfs": "timetable", "lad": "district", "utla": "upper-tier area",
          "per": "per", "n": "number", "q1": "fifth 1", "q5": "fifth 5", "dq": "data quality"}
_MODE_WORDS = {"walk": "walking", "drive": "driving", "transit": "public transport"}


def humanise(code: str) -> str:
    """Words for a code name with no dictionary entry (``foo_bar_10k`` -> "Foo bar 10,000")."""
    parts = [p for p in re.split(r"[_\s]+", str(code)) if p]
    # "min" is minutes at the end of a name (threshold_min) and minimum elsewhere (min_rate)
    words = [("minimum" if p.lower() == "min" and i < len(parts) - 1 else
              _WORDS.get(p.lower(), _MODE_WORDS.get(p.lower(), p))) for i, p in enumerate(parts)]
    text = " ".join(words).strip() or str(code)
    return text[:1].upper() + text[1:]


def label(code: str) -> str:
    """The reader-facing label of a column code name."""
    if code in LABELS:
        return LABELS[code]
    for mode, word in _MODE_WORDS.items():
        if code.endswith("_" + mode) and code[: -len(mode) - 1] in LABELS:
            return f"{LABELS[code[: -len(mode) - 1]]} ({word})"
    return humanise(code)


def table_title(name: str) -> str:
    """A short readable title for an output table (sheet names, provenance lists)."""
    if name in TABLE_TITLES:
        return TABLE_TITLES[name]
    for prefix, words in (("coverage_", "Access coverage"), ("beyond_lsoa_", "Small areas beyond the threshold"),
                          ("resilience_", "If one pharmacy closed"), ("nearest_", "Nearest pharmacy"),
                          ("projection_", "Projection: "), ("map_", "Map data: ")):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if prefix in ("projection_", "map_"):
                return words + humanise(rest).lower()
            return f"{words} ({_MODE_WORDS.get(rest, humanise(rest).lower())})"
    return humanise(name)


def date_text(d: dt.date | str | None) -> str:
    """'31 March 2022' (no leading zero); '' for None."""
    if d is None:
        return ""
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    return f"{d.day} {d:%B %Y}"


_TOKEN = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:[._][a-z0-9]+)+(?![\w])")


def _inline(words: str) -> str:
    # mid-sentence: "Share within" -> "share within", but "ODS code" stays
    return words[:1].lower() + words[1:] if len(words) > 1 and words[1].islower() else words


def plain(text: str, codes: frozenset[str] | set[str]) -> str:
    """``text`` with every code name in ``codes`` replaced by its reader-facing words.

    Column and table names become their labels and titles; a dotted config key
    (``overrides.hundred_hour_codes``) becomes "the hundred hour codes setting". Other words,
    file names among them, are left alone.
    """
    def sub(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok.startswith("pna."):   # a module of this pipeline, named in a provenance line
            return "the pna pipeline"
        if tok not in codes:
            # a dotted path whose last part is a code name ("access.demand.output_areas")
            last = tok.rsplit(".", 1)[-1]
            if "." in tok and last in codes and "_" in last:
                return _inline(label(last))
            return tok
        if "." in tok:
            return f"the {humanise(tok.rsplit('.', 1)[-1]).lower()} setting"
        return _inline(table_title(tok) if tok in TABLE_TITLES or tok.startswith(
            ("coverage_", "beyond_", "resilience_", "projection_", "nearest_")) else label(tok))

    return _TOKEN.sub(sub, text)
