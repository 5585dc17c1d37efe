"""Treatments: canonical names of the treatments the item is about, from the synonym lexicon."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["TreatmentResult", "assess_treatments"]

# A treatment is "about" the item when named in the title, or with this share of the most
# discussed treatment's weight (background mentions of other drugs drop out).
SHARE = 0.35
MIN_WEIGHT = 1.0


@dataclass
class TreatmentResult:
    names: list[str]
    weights: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)


def assess_treatments(doc: Doc, parents: dict[str, list[str]]) -> TreatmentResult:
    weights: dict[str, float] = {}
    first: dict[str, object] = {}
    in_title: set[str] = set()
    for h in doc.category("treatment"):
        name = h.cue.value
        sent = doc.sentence_of(h.start)
        weights[name] = weights.get(name, 0.0) + sent.weight * h.cue.weight
        first.setdefault(name, h)
        if sent.is_title:
            in_title.add(name)
    chosen: set[str] = set()
    if weights:
        top = max(weights.values())
        for name, w in weights.items():
            if name in in_title or (w >= MIN_WEIGHT and w >= SHARE * top):
                chosen.add(name)
    for name in sorted(chosen):
        for parent in parents.get(name, ()):
            if parent not in chosen or parent not in first:
                chosen.add(parent)
                first.setdefault(parent, first[name])
                weights.setdefault(parent, weights[name])
    reasons = []
    for name in sorted(chosen):
        h = first[name]
        reasons.append(Reason("treatments", name, h.text, doc.sentence_of(h.start).snippet(), round(weights[name], 2)))
    return TreatmentResult(sorted(chosen), weights, reasons)
