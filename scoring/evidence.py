"""Evidence stage: the strongest kind of study the item presents for its headline claim."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import EVIDENCE_STAGES, Reason
from .text import Doc, Sentence

__all__ = ["EvidenceResult", "assess_evidence"]

_RANK = {s: i for i, s in enumerate(EVIDENCE_STAGES)}
_PREFIX = "evidence.stage."
# A stage needs this much weighted support (a single clear cue in the opening is enough).
THRESHOLD = 2.0
# A title cue decides the stage only when specific (e.g. "in mice", "randomised", "case report").
TITLE_THRESHOLD = 3.0
# A stronger stage wins over a better-supported weaker one only with this share of the top score.
MIN_SHARE = 0.2
# Multipliers for cues whose sentence is a plan/negation, or background on other studies.
PLANNED = 0.1
PLANNED_WITH_RESULTS = 0.6
BACKGROUND = 0.4
ANIMAL_IN_DISH = 0.3


@dataclass
class EvidenceResult:
    stage: str
    scores: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)
    # per stage: sentences (by index) that carried its cues
    support: dict[str, set[int]] = field(default_factory=dict)


def _sentence_factor(doc: Doc, sent: Sentence) -> tuple[float, str | None, object]:
    hits = doc.by_sentence.get(sent.index, ())
    planning = [h for h in hits if h.cue.category in ("evidence.context.planning", "evidence.context.negation")]
    if planning:
        strongest = max(planning, key=lambda h: h.cue.weight)
        results = any(h.cue.category == "evidence.context.results" and h.start > strongest.start for h in hits)
        if results and strongest.cue.weight < 3:
            return PLANNED_WITH_RESULTS, "planned", strongest
        return PLANNED, "planned", strongest
    background = [h for h in hits if h.cue.category == "evidence.context.background"]
    if background:
        return BACKGROUND, "background", max(background, key=lambda h: h.cue.weight)
    return 1.0, None, None


def assess_evidence(doc: Doc, *, satire: bool = False) -> EvidenceResult:
    scores = {s: 0.0 for s in EVIDENCE_STAGES}
    best: dict[str, tuple[float, object, Sentence]] = {}
    support: dict[str, set[int]] = {}
    title_scores: dict[str, float] = {}
    discounted: list[tuple[float, object, Sentence, object]] = []
    planned: dict[str, float] = {}
    for sent in doc.sentences:
        stage_hits = doc.cats_in(sent, _PREFIX)
        if not stage_hits:
            continue
        factor, why, ctx = _sentence_factor(doc, sent)
        has_dish = any(
            h.cue.category == _PREFIX + "in_vitro" and h.cue.weight >= 2.5 for h in stage_hits
        )
        explicit_animal = any(
            h.cue.category == _PREFIX + "animal" and h.cue.weight >= 3 for h in stage_hits
        )
        seen: set[tuple[str, str]] = set()
        for h in stage_hits:
            stage = h.cue.category[len(_PREFIX):]
            key = (stage, h.text)
            if key in seen:  # the same words twice in one sentence count once
                continue
            seen.add(key)
            w = h.cue.weight * sent.weight * factor
            if stage == "animal" and has_dish and not explicit_animal:
                w *= ANIMAL_IN_DISH  # "organoids from mouse stem cells": a dish, not an animal
            if factor < 1.0 and ctx is not None:
                discounted.append((h.cue.weight * sent.weight * (1 - factor), h, sent, ctx))
                if why == "planned":
                    planned[stage] = planned.get(stage, 0.0) + h.cue.weight * sent.weight
            scores[stage] += w
            support.setdefault(stage, set()).add(sent.index)
            if sent.is_title:
                title_scores[stage] = title_scores.get(stage, 0.0) + w
            if stage not in best or w > best[stage][0]:
                best[stage] = (w, h, sent)

    reasons: list[Reason] = []
    if satire:
        stage = "none"
    else:
        # An item mostly about a planned or enrolling study: what is left is its description.
        for st, mass in planned.items():
            if mass > scores[st] and st not in title_scores:
                scores[st] = min(scores[st], THRESHOLD * 0.99)
        stage = _decide(scores, title_scores)
    if stage != "none" and stage in best:
        # the decisive stage's strongest cues first
        picked = sorted(
            ((w, h, s) for (w, h, s) in _all_hits(doc, stage)),
            key=lambda t: -t[0],
        )[:3]
        for w, h, s in picked:
            reasons.append(Reason("evidence_stage", stage, h.text, s.snippet(), w))
    if stage == "none":
        for w, h, s, ctx in sorted(discounted, key=lambda t: -t[0])[:3]:
            reasons.append(Reason("evidence_stage", "none", ctx.text, s.snippet(), round(w, 2)))
        if satire:
            reasons.append(Reason("evidence_stage", "none", "satire", doc.sentences[0].snippet(), 0.0))
    # the runner-up stage, so a reader sees what else was considered
    others = [s for s in EVIDENCE_STAGES if s not in (stage, "none") and scores[s] >= THRESHOLD and s in best]
    if others:
        other = max(others, key=lambda s: scores[s])
        w, h, s = best[other]
        reasons.append(Reason("evidence_stage", other, h.text, s.snippet(), -round(w, 2)))
    return EvidenceResult(stage=stage, scores=scores, reasons=reasons, support=support)


def _all_hits(doc: Doc, stage: str):
    for sent in doc.sentences:
        factor, _, _ = _sentence_factor(doc, sent)
        for h in doc.cats_in(sent, _PREFIX + stage):
            yield h.cue.weight * sent.weight * factor, h, sent


def _decide(scores: dict[str, float], title_scores: dict[str, float]) -> str:
    # The headline's own study design (title cue) is the item's stage.
    title_cands = [s for s, v in title_scores.items() if v >= TITLE_THRESHOLD]
    if title_cands:
        return max(title_cands, key=_RANK.__getitem__)
    top = max(scores.values())
    cands = [s for s, v in scores.items() if s != "none" and v >= THRESHOLD and v >= MIN_SHARE * top]
    if not cands:
        return "none"
    return max(cands, key=_RANK.__getitem__)
