"""The translation catalogue: English complete by default; a board's catalogue checked against it."""

from __future__ import annotations

import json
import re

import pytest

from pna.errors import InputError
from pna.report.i18n import ENGLISH_PATH, board_catalogues, english, load_catalogue, page_name, placeholders
from tests.report.rtl import RTL_CODE, write_rtl_catalogue


def test_english_is_complete_and_every_key_used():
    cat = english()
    assert cat.code == "en-GB" and cat.dir == "ltr" and cat.is_english
    assert all(v.strip() for v in cat.messages.values())
    # every message is used by the page's template, script or Python (no dead or missing keys)
    from pna.report import consultation, consultation_text
    root = ENGLISH_PATH.parents[1]
    code = "".join(p.read_text(encoding="utf-8") for p in (
        root / "templates" / "consultation.html", root / "static" / "consultation.js",
        root / "consultation.py", root / "consultation_text.py", root / "i18n.py"))
    assert consultation and consultation_text
    prefixes = ("day.", "month.", "rank.", "fill.", "clock.", "mode.", "area.mode_", "method.straight_",
                "method.network_", "method.start_", "share.", "min.")
    unused = [k for k in cat.messages if f'"{k}"' not in code and f"'{k}'" not in code and not k.startswith(prefixes)]
    assert unused == []
    used = set(re.findall(r'\bt\(\s*["\']([a-z_]+\.[a-z0-9_]+)["\']', code))
    assert len(used) > 100
    assert used - set(cat.messages) == set()


def test_messages_fill_placeholders():
    cat = english()
    assert cat.t("h1", area="Leicester") == "Have your say on pharmacies in Leicester"
    assert placeholders(cat.messages["state.before"]) == {"opens", "closes"}
    import datetime as dt
    assert cat.date(dt.date(2025, 7, 31)) == "31 July 2025"
    assert page_name(cat) == "consultation.html"


def test_rtl_catalogue_loads(tmp_path):
    path = write_rtl_catalogue(tmp_path)
    cat = load_catalogue(path, expect_code=RTL_CODE)
    assert cat.dir == "rtl" and not cat.is_english and page_name(cat) == "consultation.ar-XB.html"
    assert cat.board("question.purpose", "English text")[1] is None
    assert cat.board("contact", "Public Health team") == ("Public Health team", "en-GB")   # not translated


@pytest.mark.parametrize("change, why", [
    (lambda c: c["messages"].pop("h1"), "1 messages are not translated: h1"),
    (lambda c: c["messages"].update({"h1": "no area here"}), r"message 'h1': placeholders must be \{area\}"),
    (lambda c: c["messages"].update({"made.up": "x"}), "unknown message keys: made.up"),
    (lambda c: c.update({"dir": "up"}), "dir must be 'ltr' or 'rtl'"),
    (lambda c: c.pop("name"), "missing name"),
    (lambda c: c.update({"lang": "ur"}), "lang is 'ur' but the file is configured for 'ar-XB'"),
])
def test_bad_catalogues_are_clear_errors(tmp_path, change, why):
    path = write_rtl_catalogue(tmp_path)
    cat = json.loads(path.read_text(encoding="utf-8"))
    change(cat)
    path.write_text(json.dumps(cat), encoding="utf-8")
    with pytest.raises(InputError, match=why) as err:
        load_catalogue(path, expect_code=RTL_CODE)
    assert str(path) in str(err.value)


def test_broken_json_names_the_line(tmp_path):
    path = tmp_path / "ur.json"
    path.write_text('{"lang": "ur",\n "dir": }', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        load_catalogue(path)
    assert err.value.row == 2


def test_board_catalogues_need_a_file_per_language(tmp_path, leicester_cfg):
    cfg = leicester_cfg.model_copy(update={"consultation": leicester_cfg.consultation.model_copy(
        update={"languages": ["ur"], "catalogues": str(tmp_path)})})
    with pytest.raises(InputError, match="supplied no catalogue"):
        board_catalogues(cfg)
    write_rtl_catalogue(tmp_path)
    cfg = cfg.model_copy(update={"consultation": cfg.consultation.model_copy(update={"languages": [RTL_CODE]})})
    assert [c.code for c in board_catalogues(cfg)] == ["en-GB", RTL_CODE]
    assert [c.code for c in board_catalogues(leicester_cfg)] == ["en-GB"]   # Leicester supplies none yet


def _syllables(word: str) -> int:
    w = re.sub(r"[^a-z]", "", word.lower())
    n = len(re.findall(r"[aeiouy]+", w))
    if w.endswith("e") and n > 1 and not w.endswith("le"):
        n -= 1
    return max(1, n)


def test_what_a_pna_is_reads_at_about_age_nine():
    """Flesch-Kincaid grade of the explanation (grade 4 is about age 9): short sentences, short words."""
    m = english().messages
    text = " ".join(m[k].replace("{area}", "Leicester") for k in ("what.p1", "what.p2", "what.p3", "lead"))
    text = text.replace("{board}", "The board")
    sentences = [s for s in re.split(r"[.!?]+(?:\s|$)", text) if s.strip()]
    words = re.findall(r"[A-Za-z']+", text)
    grade = 0.39 * len(words) / len(sentences) + 11.8 * sum(map(_syllables, words)) / len(words) - 15.59
    assert grade <= 5.0, grade
    assert max(len(s.split()) for s in sentences) <= 16


def test_catalogue_digests_follow_the_files(tmp_path, leicester_cfg):
    from pna.report.i18n import catalogue_digests

    path = write_rtl_catalogue(tmp_path)
    cfg = leicester_cfg.model_copy(update={"consultation": leicester_cfg.consultation.model_copy(
        update={"languages": [RTL_CODE], "catalogues": str(tmp_path)})})
    before = catalogue_digests(cfg)
    path.write_text(path.read_text(encoding="utf-8").replace("RTL test", "RTL test 2"), encoding="utf-8")
    assert before != catalogue_digests(cfg) and before[0][0] == RTL_CODE
    assert catalogue_digests(leicester_cfg) == []
