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
    best: list[tuple[float, object]] = []
    for h in doc.category("relevance."):  # at most max_hits_per_cue per cue (relevance.toml)
        sent = doc.sentence_of(h.start)
        w = h.cue.weight * sent.weight
        score += w
        best.append((w, h))
    score += treatment_score
    # A headline naming the condition (not just "hair") makes the item about it.
    title_core = any(h.cue.weight >= TITLE_CORE and doc.sentence_of(h.start).is_title for _, h in best)
    relevant = score >= RELEVANT_AT or title_core
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
