"""One translation catalogue for the public pages: English by default, other languages from the board.

A catalogue is a JSON file::

    {"lang": "ur", "dir": "rtl", "name": "اردو",
     "messages": {"title": "...", ...},
     "config": {"question.purpose": "...", "contact": "..."}}

``messages`` must hold every key of the English catalogue (``pna/report/locales/en.json``) with
the same ``{placeholders}``; ``config`` optionally translates text the board wrote in its config
(question texts, contact, other formats, what happens next). Text with no translation is shown
in English and marked ``lang="en-GB"``. Only catalogues the board supplies are used: nothing is
ever machine-translated here.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ..config import Config
from ..errors import InputError

__all__ = ["Catalogue", "english", "load_catalogue", "board_catalogues", "catalogue_digests", "ENGLISH_PATH",
           "page_name"]

ENGLISH_PATH = Path(__file__).parent / "locales" / "en.json"
_FORMATTER = string.Formatter()


def placeholders(text: str) -> frozenset[str]:
    """The ``{names}`` a message expects."""
    return frozenset(name for _, name, _, _ in _FORMATTER.parse(text) if name)


@dataclass(frozen=True)
class Catalogue:
    """The messages of one language.

    Attributes
    ----------
    code
        BCP 47 language code written to ``lang`` (``en-GB``, ``ur``).
    name
        The language's own name, for the language switch.
    dir
        ``ltr`` or ``rtl``, written to ``dir``.
    messages
        Message key -> text with ``{placeholders}``.
    config_text
        The board's translations of its config text (``question.<id>``, ``contact`` ...).
    source
        The file it was read from.
    """

    code: str
    name: str
    dir: Literal["ltr", "rtl"]
    messages: Mapping[str, str]
    config_text: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""

    @property
    def is_english(self) -> bool:
        """True for the default catalogue."""
        return self.code.split("-")[0] == "en"

    def t(self, key: str, **values: Any) -> str:
        """The message ``key`` with its placeholders filled (KeyError for an unknown key)."""
        text = self.messages[key]
        return text.format_map(values) if values else text

    def board(self, key: str, english_text: str) -> tuple[str, str | None]:
        """The board's text ``key`` in this language: ``(text, lang)``, lang set when it stays English."""
        if self.is_english:
            return english_text, None
        got = self.config_text.get(key)
        return (got, None) if got else (english_text, "en-GB")

    def date(self, d: Any) -> str:
        """``31 December 2023`` in this language's words (digits are kept as they are)."""
        return self.t("date", day=d.day, month=self.t(f"month.{d.month}"), year=d.year)


def _parse(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(path, "translation catalogue not found")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(path, "translation catalogue is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg})", row=exc.lineno) from None
    if not isinstance(raw, dict):
        raise InputError(path, "expected a JSON object with lang, dir, name and messages")
    return raw


def _build(path: Path, raw: dict[str, Any]) -> Catalogue:
    missing = [k for k in ("lang", "dir", "name", "messages") if k not in raw]
    if missing:
        raise InputError(path, f"missing {', '.join(missing)}")
    if raw["dir"] not in ("ltr", "rtl"):
        raise InputError(path, f"dir must be 'ltr' or 'rtl', not {raw['dir']!r}")
    for part in ("messages", "config"):
        val = raw.get(part, {})
        if not isinstance(val, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in val.items()):
            raise InputError(path, f"{part} must map keys to text")
    return Catalogue(code=str(raw["lang"]), name=str(raw["name"]), dir=raw["dir"],
                     messages=MappingProxyType(dict(raw["messages"])),
                     config_text=MappingProxyType(dict(raw.get("config", {}))), source=str(path))


def english() -> Catalogue:
    """The complete English catalogue shipped with the code."""
    return _build(ENGLISH_PATH, _parse(ENGLISH_PATH))


def load_catalogue(path: str | Path, *, reference: Catalogue | None = None,
                   expect_code: str | None = None) -> Catalogue:
    """Read a board's catalogue and check it against the English one.

    Raises
    ------
    InputError
        If the file is missing or not JSON, lacks a field, has a message key English does not
        have or lacks one it has, a message whose placeholders differ from English, or a
        ``lang`` other than ``expect_code``.
    """
    path = Path(path)
    ref = reference if reference is not None else english()
    cat = _build(path, _parse(path))
    if expect_code is not None and cat.code != expect_code:
        raise InputError(path, f"lang is {cat.code!r} but the file is configured for {expect_code!r}")
    lacking = sorted(set(ref.messages) - set(cat.messages))
    if lacking:
        shown = ", ".join(lacking[:8]) + (f" and {len(lacking) - 8} more" if len(lacking) > 8 else "")
        raise InputError(path, f"{len(lacking)} messages are not translated: {shown}")
    extra = sorted(set(cat.messages) - set(ref.messages))
    if extra:
        raise InputError(path, f"unknown message keys: {', '.join(extra[:8])}")
    for key, text in sorted(cat.messages.items()):
        try:
            got = placeholders(text)
        except ValueError as exc:
            raise InputError(path, f"message {key!r}: {exc}") from None
        if got != placeholders(ref.messages[key]):
            want = ", ".join("{" + p + "}" for p in sorted(placeholders(ref.messages[key]))) or "none"
            raise InputError(path, f"message {key!r}: placeholders must be {want}")
    return cat


def board_catalogues(cfg: Config) -> list[Catalogue]:
    """English and then each of ``cfg.consultation.languages``, from the board's catalogue folder."""
    ref = english()
    folder = cfg.project_path(cfg.consultation.catalogues)
    out = [ref]
    for code in cfg.consultation.languages:
        path = folder / f"{code}.json"
        if not path.is_file():
            raise InputError(path, f"consultation.languages lists {code!r} but the board has supplied no "
                             "catalogue for it (pages are translated only from a board's own catalogue)")
        out.append(load_catalogue(path, reference=ref, expect_code=code))
    return out


def catalogue_digests(cfg: Config) -> list[tuple[str, str]]:
    """``(language, SHA-256)`` of each board catalogue in ``cfg.consultation.languages`` ("" if missing).

    The pages depend on these files, which are not stage results, so the output cache keys on them.
    """
    folder = cfg.project_path(cfg.consultation.catalogues)
    out = []
    for code in cfg.consultation.languages:
        path = folder / f"{code}.json"
        out.append((code, hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""))
    return out


def page_name(cat: Catalogue) -> str:
    """``consultation.html`` for English, ``consultation.<code>.html`` for the others."""
    return "consultation.html" if cat.is_english else f"consultation.{cat.code}.html"
