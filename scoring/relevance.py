"""Relevance: is the item about hair loss at all (for broad feeds)?"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["RelevanceResult", "assess_relevance"]

RELEVANT_AT = 7.0
MAX_REPEAT = 4


@dataclass
class RelevanceResult:
    relevant: bool
    score: float
    reasons: list[Reason] = field(default_factory=list)


def assess_relevance(doc: Doc, *, treatment_score: float = 0.0) -> RelevanceResult:
    score = 0.0
    counts: dict[str, int] = {}
    best: list[tuple[float, object]] = []
    for h in doc.category("relevance."):
        n = counts.get(h.cue.pattern, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.cue.pattern] = n + 1
        sent = doc.sentence_of(h.start)
        w = h.cue.weight * sent.weight
        score += w
        best.append((w, h))
    score += treatment_score
    relevant = score >= RELEVANT_AT
    reasons: list[Reason] = []
    seen: set[str] = set()
    for w, h in sorted(best, key=lambda t: -t[0]):
        if h.text in seen:
            continue
        seen.add(h.text)
        reasons.append(Reason("relevant", "true" if relevant else "false", h.text, doc.sentence_of(h.start).snippet(), w))
        if len(reasons) == 3:
            break
    return RelevanceResult(relevant, score, reasons)
