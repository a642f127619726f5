"""A right-to-left test catalogue: the English messages, each wrapped in right-to-left marks.

It is a pseudo-translation for tests only (language ``ar-XB``, the pseudo-locale browsers use for
right-to-left testing): no real language is invented. It proves the mechanism: every message
comes from the catalogue, the page takes its ``lang`` and ``dir``, and the layout mirrors.
"""

from __future__ import annotations

import json
from pathlib import Path

from pna.report.i18n import ENGLISH_PATH

RTL_CODE = "ar-XB"
MARK = "\u200f"   # RIGHT-TO-LEFT MARK


def write_rtl_catalogue(folder: Path) -> Path:
    """Write ``<folder>/ar-XB.json`` and return it."""
    english = json.loads(ENGLISH_PATH.read_text(encoding="utf-8"))
    cat = {"lang": RTL_CODE, "dir": "rtl", "name": "RTL test [ar-XB]",
           "messages": {k: MARK + "[" + v + "]" + MARK for k, v in english["messages"].items()},
           "config": {"question.purpose": MARK + "[purpose question, translated]" + MARK}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{RTL_CODE}.json"
    path.write_text(json.dumps(cat, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
