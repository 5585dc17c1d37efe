"""Commercial interest: who gains if the reader believes the item (none, indirect, direct)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["CommercialResult", "assess_commercial", "PUBLISHER_PRIOR"]

# Publisher kind (sources.toml `publisher`) as one signal among others: (direct, indirect) points.
PUBLISHER_PRIOR = {
    "clinic": (5.0, 0.0),
    "company": (5.0, 0.0),
    "press": (0.0, 3.0),
}
DIRECT_AT = 4.0
INDIRECT_AT = 2.5
# Each distinct cue counts at most this many times.
MAX_REPEAT = 2

_PRICE = re.compile(r"[$€£]\s?\d[\d,]*(?:\.\d{2})?(?![\d,])(?!\s*(?:million|billion|bn|m\b|k\b))")
_PRICE_WORDS = re.compile(r"\b\d[\d,]*(?:\.\d{2})?\s?(?:usd|eur|gbp|dollars|euros|pounds)\b")
_MARKS = re.compile(r"[™®]|\((?:tm|r)\)", re.I)


@dataclass
class CommercialResult:
    label: str
    direct: float
    indirect: float
    independent: float
    reasons: list[Reason] = field(default_factory=list)


def _sum(doc: Doc, prefix: str) -> tuple[float, list[tuple[float, object]]]:
    total = 0.0
    counts: dict[str, int] = {}
    used: list[tuple[float, object]] = []
    for h in doc.category(prefix):
        n = counts.get(h.text, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.text] = n + 1
        w = h.cue.weight * (1.0 if n == 0 else 0.5)
        total += w
        used.append((w, h))
    return total, used


def assess_commercial(doc: Doc, *, publisher: str | None = None, satire: bool = False) -> CommercialResult:
    direct, d_hits = _sum(doc, "commercial.direct.")
    indirect, i_hits = _sum(doc, "commercial.indirect.")
    independent, _ = _sum(doc, "commercial.independent.")
    reasons: list[Reason] = []
    extra: list[Reason] = []

    text = doc.text
    prices = list(_PRICE.finditer(text)) if ("$" in text or "€" in text or "£" in text) else []
    if "usd" in doc.lower or "dollars" in doc.lower or "euros" in doc.lower or "eur " in doc.lower or "gbp" in doc.lower:
        prices += list(_PRICE_WORDS.finditer(doc.lower))
    if prices:
        # A price sells only alongside an offer; quoted in a debunking piece it does not.
        w = min(len(prices), 3) * 1.0
        if independent >= 3:
            w *= 0.3
        direct += w
        m = prices[0]
        extra.append(Reason("commercial_interest", "direct", m.group(0).strip(), doc.sentence_of(m.start()).snippet(), w))
    marks = _MARKS.findall(text) if ("™" in text or "®" in text or "(" in text) else []
    if marks:
        w = min(len(marks), 3) * 0.5
        direct += w
        pos = _MARKS.search(doc.text).start()
        extra.append(Reason("commercial_interest", "direct", "trademark sign", doc.sentence_of(pos).snippet(), w))

    if publisher in PUBLISHER_PRIOR:
        pd, pi = PUBLISHER_PRIOR[publisher]
        direct += pd
        indirect += pi
        lab = "direct" if pd else "indirect"
        extra.append(Reason("commercial_interest", lab, f"publisher: {publisher}", "", pd or pi))

    # Independent comment dilutes coverage built on an announcement.
    indirect_eff = indirect - 0.5 * independent
    if satire:
        label = "none"
    elif direct >= DIRECT_AT:
        label = "direct"
    elif indirect_eff + 0.5 * direct >= INDIRECT_AT:
        label = "indirect"
    else:
        label = "none"

    if label != "none":
        pool = d_hits if label == "direct" else i_hits + d_hits
        for w, h in sorted(pool, key=lambda t: -t[0])[:4]:
            lab = "direct" if h.cue.category.startswith("commercial.direct") else "indirect"
            reasons.append(Reason("commercial_interest", lab, h.text, doc.sentence_of(h.start).snippet(), w))
        reasons.extend(r for r in extra if r.weight > 0)
    elif satire:
        reasons.append(Reason("commercial_interest", "none", "satire", doc.sentences[0].snippet(), 0.0))
    else:
        for h in doc.category("commercial.independent.")[:2]:
            reasons.append(Reason("commercial_interest", "none", h.text, doc.sentence_of(h.start).snippet(), h.cue.weight))
    return CommercialResult(label, direct, indirect, independent, reasons)
