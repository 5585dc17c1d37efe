"""Hype: how far the item's claims run past its evidence (low, medium, high and a 0-100 score)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .model import Reason
from .text import Doc

__all__ = ["HypeResult", "assess_hype", "voiced_weight", "is_sceptic_doc", "MEDIUM_AT", "HIGH_AT"]

# How much a claim counts given the evidence behind it: claims on cells, mice, a few
# people or no study run further past the evidence than the same words on a trial.
STAGE_FACTOR = {
    "none": 1.1,
    "in_vitro": 1.5,
    "animal": 1.4,
    "human_anecdote": 1.3,
    "human_uncontrolled": 1.1,
    "human_rct": 0.9,
    "meta_analysis": 0.6,
}
PRECLINICAL = {"in_vitro", "animal"}
MEDIUM_AT = 27
HIGH_AT = 57
# Selling with no study behind the claims is itself an overstatement.
UNSUPPORTED_OFFER = 3.0
PROMOTED_TESTIMONIAL = 2.5
IMPLIED_FLOOR = 3.0
CAVEAT_RATE = 0.45
SAME_SENTENCE = 0.4
CAVEATED_SENTENCE = 0.6
SCEPTIC_DOC = 4.0
MAX_REPEAT = 2
_SCEPTIC = "hype.sceptic.cues"
_NEGATED = "hype.caveat.negated"
_STRONG_CAVEAT = "hype.caveat.strong"
_PLANNING = "evidence.context.planning"
_SUB_OF: dict[str, str] = {}  # "hype.claim.cure" -> "cure", filled as met


@dataclass
class HypeResult:
    label: str
    score: int
    claim: float
    caveat: float
    reasons: list[Reason] = field(default_factory=list)


def _in_quotes(doc: Doc, sent, pos: int) -> bool:
    seg = doc.text[sent.start:pos]
    return seg.count('"') % 2 == 1


def is_sceptic_doc(doc: Doc) -> bool:
    """A debunking piece: enough sceptical cues that the claims it contains are quoted, not made."""
    return sum(h.cue.weight for h in doc.category("hype.sceptic.")) >= SCEPTIC_DOC


def voiced_weight(doc: Doc, h, sent, repeat: int, doc_sceptic: bool) -> float:
    """How much one claim cue counts as the item's own voice: its weight where it stands
    (a second mention counts half), much less in a debunking piece or a sceptical sentence,
    less inside quotation marks, and hardly at all where its own sentence denies it."""
    w = h.cue.weight * sent.weight * (1.0 if repeat == 0 else 0.5)
    cats_here = doc.categories_at(sent.index)
    if doc_sceptic:
        w *= 0.1  # a debunking piece quotes claims, it does not make them
    elif _SCEPTIC in cats_here:
        w *= 0.2
    elif _in_quotes(doc, sent, h.start):
        w *= 0.6
    if _NEGATED in cats_here:
        w *= 0.15  # the claim is denied in its own sentence
    return w


def assess_hype(
    doc: Doc, *, stage: str, stage_support: dict[str, set[int]], commercial: str = "none", satire: bool = False
) -> HypeResult:
    doc_sceptic = is_sceptic_doc(doc)
    factor = STAGE_FACTOR.get(stage, 1.0)
    preclinical_sents = stage_support.get("animal", set()) | stage_support.get("in_vitro", set())

    claim = 0.0
    testimonial = 0.0
    reasons: list[tuple[float, str, object]] = []
    counts: dict[str, int] = {}
    per_sentence: dict[int, list[float]] = {}
    implied = 0.0
    sub_of = _SUB_OF
    for h in doc.category("hype.claim."):
        sub = sub_of.get(h.cue.category)
        if sub is None:
            sub = sub_of[h.cue.category] = h.cue.category.rsplit(".", 1)[-1]
        if sub == "human_benefit":
            continue
        if sub == "efficacy" and stage not in ("none", "human_anecdote"):
            continue
        if sub == "implied" and stage not in PRECLINICAL:
            continue
        n = counts.get(h.text, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.text] = n + 1
        sent = doc.sentence_of(h.start)
        w = voiced_weight(doc, h, sent, n, doc_sceptic)
        cats_here = doc.categories_at(sent.index)
        if sub == "testimonial":
            w *= 1.5 if stage in ("human_anecdote", "none") else 0.7
            testimonial += w
            reasons.append((w, h.text, sent))
            continue
        w *= factor
        if sub == "timeline" and _PLANNING in cats_here:
            w *= 0.3  # a study's schedule, not a promise to readers
        # Human benefit claimed from cells or mice, in a sentence that does not say so.
        if stage in PRECLINICAL and sub in ("cure", "superlative", "timeline", "proof") and sent.index not in preclinical_sents:
            w *= 1.3
        per_sentence.setdefault(sent.index, []).append(w)
        reasons.append((w, h.text, sent))
        if sub == "implied":
            implied += w

    # Within a sentence, claims pile up with diminishing weight; a caveat in the same
    # sentence ("…, though larger studies are needed") tempers them.
    for idx, ws in per_sentence.items():
        top = max(ws)
        c = top + SAME_SENTENCE * (sum(ws) - top)
        if _STRONG_CAVEAT in doc.categories_at(idx) and any(
            x.cue.weight >= 2 for x in doc.cats_in(doc.sentences[idx], _STRONG_CAVEAT)
        ):
            c *= CAVEATED_SENTENCE
        claim += c

    caveat = 0.0
    counts = {}
    # A caveat's words inside a claim ("side effects" in "zero side effects") are the claim's.
    claim_spans = [(h.start, h.end) for h in doc.category("hype.claim.")]
    for h in doc.category("hype.caveat."):
        if any(a <= h.start and h.end <= b and (b - a) > (h.end - h.start) for a, b in claim_spans):
            continue
        n = counts.get(h.cue.pattern, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.cue.pattern] = n + 1
        sent = doc.sentence_of(h.start)
        w = h.cue.weight * (1.0 if n == 0 else 0.5) * min(sent.weight, 1.5)
        caveat += w
        reasons.append((-w, h.text, sent))

    if commercial != "none":
        testimonial *= PROMOTED_TESTIMONIAL  # a testimonial on a page that sells is offered as proof
    raw = claim + testimonial - CAVEAT_RATE * caveat
    offer = commercial == "direct" and stage in ("none", "human_anecdote") and claim + testimonial > 0
    if offer:
        raw += UNSUPPORTED_OFFER
    score = 100.0 * (1.0 - math.exp(-max(raw, 0.0) / 14.0)) if raw > 0 else 0.0
    score = 8.0 + score * 0.92
    if satire:
        score = max(score, 85.0)
    if implied >= IMPLIED_FLOOR:
        # Human benefit implied from cells or mice is an overstatement even when caveated.
        score = max(score, float(MEDIUM_AT))
    score_i = int(round(min(max(score, 0.0), 100.0)))
    label = "high" if score_i >= HIGH_AT else "medium" if score_i >= MEDIUM_AT else "low"

    out: list[Reason] = []
    if offer:
        out.append(Reason("hype", label, "commercial claim without a study", doc.sentences[0].snippet(), UNSUPPORTED_OFFER))
    if satire:
        out.append(Reason("hype", "high", "satire", doc.sentences[0].snippet(), 0.0))
    pos = sorted((r for r in reasons if r[0] > 0), key=lambda r: -r[0])
    neg = sorted((r for r in reasons if r[0] < 0), key=lambda r: r[0])
    seen: set[str] = set()
    picked: list[Reason] = []
    for w, cue, sent in (pos if label != "low" else []) + neg + (pos if label == "low" else []):
        if cue in seen:
            continue
        seen.add(cue)
        picked.append(Reason("hype", label, cue, sent.snippet(), round(w, 2)))
        if len(picked) == 5:
            break
    out.extend(picked)
    return HypeResult(label, score_i, claim + testimonial, caveat, out)
