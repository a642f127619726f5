"""What the consultation page says about the consultation and about each locality, in one language.

The locality findings are read from the statements stage's gap findings (:mod:`pna.statements.gaps`,
the one rule engine) and the provision and coverage tables; this module only puts them into
plain words from the catalogue. The consultation's dates, ways to respond and questions come
from ``cfg.consultation``; what the board has not filled in is said plainly, never invented.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ..config import Config, ConsultationSpec
from ..modes import MODES, Mode
from ..statements.gaps import GapFinding, for_subject
from .i18n import Catalogue

__all__ = ["clock_words", "time_words", "share_words", "locality_findings", "consultation_block", "window_state"]


def share_words(share: float, cat: Catalogue) -> str:
    """A share of residents in words that never round "almost all" up to "all" (or "a few" to none)."""
    if share is None or not math.isfinite(share):
        raise ValueError("share_words needs a known share")
    if share >= 1.0:
        return cat.t("share.all")
    if share <= 0.0:
        return cat.t("share.none")
    if share > 0.99:
        return cat.t("share.almost_all")
    if share < 0.01:
        return cat.t("share.under_one")
    return cat.t("share.pct", pct=f"{100 * share:.0f}")


def _status_line(f: GapFinding, cat: Catalogue) -> str:
    if f.status == "gap":
        return cat.t("area.gap")
    if f.status == "no gap":
        return cat.t("area.no_gap")
    if f.status == "provisional":
        return cat.t("area.provisional_gap" if f.outcome == "gap" else "area.provisional_no_gap")
    return cat.t("area.not_assessed", why=f.basis or f.detail)


def _number(x: float) -> str:
    return f"{x:,.0f}"


def _coverage_share(tables: Mapping[str, pd.DataFrame], mode: str, locality: str, minutes: int) -> float | None:
    cov = tables.get(f"coverage_{mode}")
    if cov is None or cov.empty:
        return None
    hit = cov[(cov["group_type"] == "locality") & (cov["group"] == locality) & (cov["threshold_min"] == minutes)]
    return float(hit["share_within"].iloc[0]) if len(hit) == 1 else None


def clock_words(minute: int, cat: Catalogue) -> str:
    """``8pm``, ``8:30am``, ``12 noon``, ``midnight`` in the catalogue's words (as the page's script writes them)."""
    if minute in (0, 1440):
        return cat.t("clock.midnight")
    if minute == 720:
        return cat.t("clock.noon")
    h, m = divmod(minute, 60)
    text = f"{12 if h % 12 == 0 else h % 12}" + (f":{m:02d}" if m else "")
    return cat.t("clock.am" if h < 12 else "clock.pm", t=text)


def time_words(weekday: int, minute: int, cat: Catalogue) -> str:
    """``Wednesday at 8pm``."""
    return cat.t("open.at", day=cat.t(f"day.{weekday}"), time=clock_words(minute, cat))


def _time_words(cfg: Config, label: str, cat: Catalogue) -> str:
    for t in cfg.gaps.times:
        if t.label == label:
            return time_words(t.weekday, t.minute, cat)
    return label


def locality_findings(*, cfg: Config, findings: Iterable[GapFinding], tables: Mapping[str, pd.DataFrame],
                      locality: str, cat: Catalogue) -> dict[str, Any]:
    """The draft's findings for one locality, as plain sentences.

    Returns
    -------
    dict
        ``name``; ``provision`` (pharmacies and rate, with England's); ``access`` (the
        geographic rule's finding and its status); ``modes`` (share within the gap threshold by
        each mode); ``open`` (the times rule at each of ``cfg.gaps.times``, each with its status).
        Lists are empty where the run has no figure.
    """
    own = for_subject(findings, subject=locality)
    out: dict[str, Any] = {"name": locality, "provision": [], "access": [], "modes": [], "open": []}
    prov = tables.get("provision")
    rate = next((f for f in own if f.rule == "rate"), None)
    if prov is not None and not prov.empty:
        row = prov[(prov["level"] == "locality") & (prov["locality"] == locality)]
        if len(row) == 1:
            r = row.iloc[0]
            words = {"pharmacies": int(r["pharmacies"]), "locality": locality, "population": _number(r["population"]),
                     "rate": f"{float(r['rate_per_10k']):.1f}"}
            if rate is not None and math.isfinite(rate.threshold):
                out["provision"].append(cat.t("area.provision", england=f"{rate.threshold:.1f}", **words))
            else:
                out["provision"].append(cat.t("area.provision_no_england", **words))
    g = cfg.gaps
    geo = next((f for f in own if f.rule == "geographic"), None)
    if geo is not None:
        if geo.status == "not assessed":
            out["access"].append(_status_line(geo, cat))
        else:
            out["access"].append(cat.t("area.geographic", share=share_words(geo.share, cat), walk=g.walk_minutes,
                                       transit=g.transit_minutes, drive=g.drive_minutes))
            out["access"].append(_status_line(geo, cat))
    for mode in MODES:
        minutes = g.minutes(mode)
        share = _coverage_share(tables, str(Mode(mode).value), locality, minutes)
        if share is not None:
            out["modes"].append(cat.t(f"area.mode_{Mode(mode).value}", share=share_words(share, cat),
                                      minutes=minutes))
    for f in own:
        if f.rule != "times":
            continue
        when = _time_words(cfg, f.time, cat)
        if f.status == "not assessed":
            out["open"].append(when + ": " + _status_line(f, cat))
            continue
        walk = share_words(f.share_walk, cat) if math.isfinite(f.share_walk) else None
        text = cat.t("area.times", when=when, share=share_words(f.share, cat), walk_share=walk or "",
                     walk=g.walk_minutes)
        if walk is None:   # no walking figure: keep the first sentence only
            text = text.split(". ")[0] + "."
        out["open"].append(text + " " + _status_line(f, cat))
    if not out["open"]:   # the times rule was not run (e.g. no opening hours): say so, never leave it blank
        out["open"].append(cat.t("area.open_unknown"))
    return out


def window_state(spec: ConsultationSpec, today: dt.date) -> str:
    """``before``, ``during`` or ``after`` the consultation on ``today``; ``none`` without dates."""
    if spec.opens is None or spec.closes is None:
        return "none"
    if today < spec.opens:
        return "before"
    return "during" if today <= spec.closes else "after"


def consultation_block(cfg: Config, *, cat: Catalogue) -> dict[str, Any]:
    """The consultation's dates, state on the run's date, ways to respond and questions, in ``cat``'s words.

    Board text (questions, contact, address, other formats, what next) is taken from the
    catalogue's ``config`` translations where given, else shown in English with ``lang``.
    """
    spec = cfg.consultation
    today = spec.today or cfg.as_at

    def board(key: str, text: str | None) -> dict[str, str | None] | None:
        if not text:
            return None
        got, lang = cat.board(key, text)
        return {"text": got, "lang": lang}

    fill_keys = {"online_form": spec.online_form, "email": spec.email, "post_address": spec.post_address,
                 "phone": spec.phone, "contact": spec.contact, "opens": spec.opens}
    missing = [cat.t(f"fill.{k}") for k, v in fill_keys.items() if v is None]
    return {
        "opens": spec.opens.isoformat() if spec.opens else None,
        "closes": spec.closes.isoformat() if spec.closes else None,
        "opens_text": cat.date(spec.opens) if spec.opens else "",
        "closes_text": cat.date(spec.closes) if spec.closes else "",
        "today": today.isoformat(),
        "state": window_state(spec, today),
        "online_form": spec.online_form,
        "email": spec.email,
        "post_address": board("post_address", spec.post_address),
        "phone": spec.phone,
        "phone_href": "tel:" + "".join(c for c in spec.phone if c.isdigit() or c == "+") if spec.phone else None,
        "contact": board("contact", spec.contact),
        "other_formats": board("other_formats", spec.other_formats),
        "what_next": board("what_next", spec.what_next),
        "missing": cat.t("list.sep").join(missing),
        "any_way": any(v is not None for v in (spec.online_form, spec.email, spec.post_address, spec.phone)),
        "questions": [dict(id=q.id, **(board(f"question.{q.id}", q.text) or {"text": q.text, "lang": None}))
                      for q in spec.questions],
    }
