"""Relevance: is the item about hair loss at all (for broad feeds)?"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["RelevanceResult", "assess_relevance"]

RELEVANT_AT = 6.0
TITLE_CORE = 2.5


@dataclass
class RelevanceResult:
    relevant: bool
    score: float
    reasons: list[Reason] = field(default_factory=list)


def assess_relevance(doc: Doc, *, treatment_score: float = 0.0) -> RelevanceResult:
    score = 0.0
    best: list[tuple[float, object, object]] = []
    sentence_of = doc.sentence_of
    title_core = False
    for h in doc.category("relevance."):  # at most max_hits_per_cue per cue (relevance.toml)
        sent = sentence_of(h.start)
        cw = h.cue.weight
        w = cw * sent.weight
        score += w
        best.append((w, h, sent))
        # A headline naming the condition (not just "hair") makes the item about it.
        if cw >= TITLE_CORE and sent.is_title:
            title_core = True
    score += treatment_score
    relevant = score >= RELEVANT_AT or title_core
    reasons: list[Reason] = []
    seen: set[str] = set()
    for w, h, sent in sorted(best, key=lambda t: -t[0]):
        if h.text in seen:
            continue
        seen.add(h.text)
        reasons.append(Reason("relevant", "true" if relevant else "false", h.text, sent.snippet(), w))
        if len(reasons) == 3:
            break
    return RelevanceResult(relevant, score, reasons)
