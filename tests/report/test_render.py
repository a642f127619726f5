"""The report HTML from a synthetic run (and the real Leicester run)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from pna.report.render import render_report, table_view
from tests.report.synthetic import synthetic_context

SECTIONS = ["executive-summary", "introduction", "method", "demography", "provision", "access", "future-needs",
            "gaps", "conclusions", "consultation", "appendix-pharmacies", "appendix-small-areas", "methods", "sources",
            "data-quality"]


class Outline(HTMLParser):
    """Headings, ids, tables and their captions/scoped headers."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.ids: list[str] = []
        self.tables = 0
        self.captions = 0
        self.th_without_scope = 0
        self.iframes_without_title = 0
        self.landmarks: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        if tag == "iframe" and not a.get("title"):
            self.iframes_without_title += 1
        if tag in ("main", "header", "footer", "nav"):
            self.landmarks.append(tag)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    run = synthetic_context(out)
    report = render_report(run)
    return run, report, report.paths["report"].read_text(encoding="utf-8")


def test_structure_is_accessible(rendered):
    _, _, html = rendered
    o = Outline()
    o.feed(html)
    assert o.headings.count(1) == 1 and o.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(o.headings, o.headings[1:])), "heading levels skip"
    assert len(o.ids) == len(set(o.ids)), "duplicate ids"
    assert o.tables == o.captions and o.tables > 10
    assert o.th_without_scope == 0 and o.iframes_without_title == 0
    assert {"main", "header", "footer", "nav"} <= set(o.landmarks)
    assert '<html lang="en-GB" class="no-js">' in html and 'class="skip-link" href="#maincontent"' in html
    assert 'name="viewport"' in html and "user-scalable=no" not in html
    for s in SECTIONS:
        assert f'id="{s}"' in html and f'href="#{s}"' in html


def test_states_what_was_not_assessed(rendered):
    _, _, html = rendered
    assert "Public transport access was not assessed: no timetable (GTFS) was supplied." in html
    assert "Driving access was not assessed" in html
    assert "No data on services was supplied" in html
    assert "No consultation responses were supplied" in html   # statement 6
    assert "These walking times are estimated from straight-line distances" in html
    assert "Statement 2: Gaps in provision (provisional)" in html


def test_every_statement_and_legislation_present(rendered):
    _, _, html = rendered
    for i in range(1, 8):
        assert f'id="statement-{i}"' in html
    assert "NHS (Pharmaceutical and Local Pharmaceutical Services) Regulations 2013" in html
    assert "Schedule 1" in html and "regulation 4" in html


def test_selfcheck_result_is_shown_and_passes(rendered):
    _, report, html = rendered
    sc = report.selfcheck
    assert sc["passed"].all(), sc[~sc["passed"]]
    assert f"all {len(sc)} checks passed" in html
    assert "rows in = accepted + quarantined" in html


def test_figures_come_from_tables(rendered):
    _, _, html = rendered
    refs = re.findall(r'<data value="([^"]*)" data-ref="provision/South/rate_per_10k">([^<]*)</data>', html)
    assert len(refs) >= 2   # in the provision table and in statement 1
    assert {r[1] for r in refs} == {f"{2 / 3700 * 1e4:.1f}"}   # rates print to one decimal place
    assert {r[0] for r in refs} == {f"{2 / 3700 * 1e4!r}"} or len({r[0] for r in refs}) == 1
    assert "England" in html and f"{10785 / 56550138 * 1e4:.1f}" in html


def test_sources_and_provenance(rendered):
    _, _, html = rendered
    assert "Synthetic test data (2024)" in html and "31 December 2023" in html and "2023-12-31" not in html
    assert "NHS Business Services Authority" in html
    for title in ("Pharmacies and rates by locality", "Access coverage (walking)", "Statements", "Self-check"):
        assert f'<th scope="row">{title}</th>' in html


def test_deterministic(tmp_path):
    a = render_report(synthetic_context(tmp_path / "a")).paths
    b = render_report(synthetic_context(tmp_path / "b")).paths
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k
    assert not re.search(r"20\d\d-\d\d-\d\dT\d\d:\d\d", a["report"].read_text(encoding="utf-8"))


def test_services_and_consultation(tmp_path):
    svc = tmp_path / "services.csv"
    svc.write_text("ods_code,New Medicine Service,Flu vaccination\nFA001,yes,120\nFA002,no,0\nFA004,Y,35\n"
                   "FZ999,yes,1\nFA003,maybe,2\n", encoding="utf-8")
    cons = tmp_path / "consultation.csv"
    cons.write_text("respondent_type,area,age_band,purpose,provision,needs,gaps,conclusions,comments\n"
                    "Member of the public,North,25 to 44,Yes,Yes,Yes,No,Yes,Fine\n"
                    "GP practice,South,,No,Yes,Yes,No,No,Too far to walk\n"
                    "Member of the public,,,Yes,,,,,\n,,,,,,,,\n", encoding="utf-8")
    run = synthetic_context(tmp_path / "out", services=str(svc), consultation=str(cons))
    report = render_report(run)
    paths = report.paths
    html = paths["report"].read_text(encoding="utf-8")
    sp = run.tables["service_provision"]
    flu = sp[(sp["service"] == "Flu vaccination") & (sp["level"] == "area")].iloc[0]
    assert flu["pharmacies"] == 2 and flu["rate_per_10k"] == pytest.approx(2 / 7000 * 1e4)
    assert flu["activity"] == 155
    ex = run.tables["exceptions"]
    assert {"ODS code is not a pharmacy in the area or its bands"} <= set(ex["reason"])
    assert ex["reason"].str.contains("'maybe' is not yes/no").any()
    ra = run.tables["row_accounting"].set_index("check")
    counts = ["rows_in", "accepted", "quarantined"]
    assert ra.loc["services file: services.csv", counts].tolist() == [5, 3, 2]
    assert ra.loc["consultation file: consultation.csv", counts].tolist() == [4, 3, 1]
    assert "map_service_01" in paths and "map_service_02" in paths
    cs = run.tables["consultation_summary"]
    purpose = cs[cs["question"].str.startswith("Has the purpose")].set_index("answer")["responses"]
    assert purpose.to_dict() == {"Yes": 2, "No": 1, "Not sure": 0, "not answered (share of all responses)": 0}
    # comments are grouped for the board, each with a place for its response
    assert "Too far to walk" in html and "Getting there" in html and "To be added by the board" in html
    # the Word document carries the same section (it is made from this HTML)
    from docx import Document

    from pna.report.docx_export import export_docx
    docx = export_docx(paths["report"], tmp_path / "report.docx", title="Test")
    words = "\n".join(p.text for p in Document(str(docx)).paragraphs)
    assert "Comments, grouped for the board" in words and "Who responded, and who did not" in words
    assert "No data on services was supplied" not in html and "Flu vaccination" in html
    assert report.selfcheck["passed"].all()


def test_table_view_formats_and_refs():
    df = pd.DataFrame({"locality": ["A", "B"], "pharmacies": [3, 4], "rate_per_10k": [1.234, 5.0],
                       "share": [0.5, 0.25], "provenance": ["src", "src"]})
    tv = table_view(df, "provision", "Cap")
    assert tv.headers == ["Locality", "Pharmacies", "Pharmacies per 10,000 residents", "Share"]
    assert [c.text for c in tv.rows[0]] == ["A", "3", "1.2", "50.0%"]
    assert tv.rows[1][2].ref == "provision/B/rate_per_10k" and tv.provenance == "src"


@pytest.fixture(scope="module")
def leicester(leicester_report):
    """The real Leicester results (pna.pipeline.build_results) and their rendered report."""
    return leicester_report


@pytest.mark.e2e
def test_real_leicester_report(leicester):
    """The full report from the real Leicester run."""
    run, report, html = leicester
    prov = run.tables["provision"]
    area = prov[prov["level"] == "area"].iloc[0]
    assert 70 <= area["pharmacies"] <= 90
    assert f'data-ref="provision/{area["locality"]}/pharmacies">{int(area["pharmacies"])}</data>' in html
    for loc in ("Central", "East", "North", "North West", "South", "West"):
        assert f'<th scope="row">{loc}</th>' in html
    sc = report.selfcheck
    assert sc["passed"].all(), sc[~sc["passed"]].to_string()
    assert {"map_premises", "map_access_walk", "map_rates", "map_imd"} <= set(report.paths)
    assert "Statement 7: Map of premises" in html and "No data on services was supplied" in html
