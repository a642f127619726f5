"""The one Jinja environment every page is rendered with (report, consultation, assessment)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markupsafe import Markup

from ..statements.rules import Figure

__all__ = ["environment", "num", "pct", "TEMPLATES", "STATIC"]

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def num(v: Any, dp: int = 0) -> str:
    """A number with thousands separators; "–" for unknown, "unreachable" for infinity."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        return "unreachable"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer, float, np.floating)):
        return f"{float(v):,.{dp}f}"
    return str(v)


def pct(v: Any) -> str:
    """A share as a percentage to one decimal place; "–" for unknown."""
    return "–" if v is None or not np.isfinite(float(v)) else f"{100 * float(v):.1f}%"


def _fig(f: Any) -> Any:
    """A statement figure as its tagged HTML (``<data>`` with its reference)."""
    return Markup(f.html()) if isinstance(f, Figure) else f


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The shared environment: autoescaped, strict about undefined names, with the number filters."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["num"] = num
    env.filters["pct"] = pct
    env.filters["fig"] = _fig
    return env
