"""Claim strength: the strongest claim an item makes about what a treatment or exposure does.

The scale is Yu, Li and Wang's (EMNLP 2019): no claim, correlational ("is associated with"),
conditional causal ("may improve"), direct causal ("regrows", "reduces"). Each sentence is
judged from its cues (lexicons/claims.toml): an association phrase makes it correlational; a
causal verb makes it causal, conditional when a hedge ("may", "could", "suggests") governs
it. The item's claim is the strongest sentence of its title and opening, where readers meet
the claim, and otherwise the strongest of the rest; that sentence is the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import CLAIM_STRENGTHS, Reason
from .text import Doc, Sentence

__all__ = ["ClaimResult", "assess_claims", "sentence_claim", "LEAD_SENTENCES"]

_PREFIX = "claims.claim."
_CORR = _PREFIX + "correlational"
_CAUSAL = _PREFIX + "causal"
_HEDGE = _PREFIX + "hedge"
_NO_CLAIM = _PREFIX + "no_claim"
RANK = {label: i for i, label in enumerate(CLAIM_STRENGTHS)}
#: The title and this many opening body sentences are where the item states its claim.
LEAD_SENTENCES = 3
# Cue mass below this does not make a claim (one weak word such as "treated" or "due to").
CAUSAL_AT = 1.5
CORRELATIONAL_AT = 2.0
HEDGE_AT = 2.0
NO_CLAIM_AT = 2.0


@dataclass
class ClaimResult:
    label: str
    sentence: int | None  # index of the deciding sentence
    in_lead: bool  # the deciding sentence is the title or the opening
    # how far the deciding sentence's wording leans causal (> 0) or correlational (< 0):
    # ranks items by causal strength within and across labels
    score: float = 0.0
    reasons: list[Reason] = field(default_factory=list)


def sentence_claim(doc: Doc, sent: Sentence) -> tuple[str, float, object]:
    """(label, balance, deciding hit) of one sentence from its claim cues; `balance` is
    how far its wording leans causal (positive) or correlational (negative)."""
    hits = doc.cats_in(sent, _PREFIX)
    if not hits:
        return "no_claim", 0.0, None
    mass = {_CORR: 0.0, _CAUSAL: 0.0, _HEDGE: 0.0, _NO_CLAIM: 0.0}
    top: dict[str, object] = {}  # per category, its heaviest hit (the first on a tie)
    corr_spans = [(h.start, h.end) for h in hits if h.cue.category == _CORR]
    for h in hits:
        cat = h.cue.category
        if cat == _CAUSAL and any(a <= h.start < b for a, b in corr_spans):
            continue  # "increased risk of", "lower prevalence in": part of an association
        mass[cat] = mass.get(cat, 0.0) + h.cue.weight
        if cat not in top or h.cue.weight > top[cat].cue.weight:
            top[cat] = h
    corr, causal, hedge, none = mass[_CORR], mass[_CAUSAL], mass[_HEDGE], mass[_NO_CLAIM]
    top_corr, top_causal, top_hedge = top.get(_CORR), top.get(_CAUSAL), top.get(_HEDGE)
    # How causal the wording is, against how correlational: ranks sentences by strength.
    balance = min(causal, 6.0) - min(corr, 6.0) - 0.5 * min(hedge, 4.0)
    # An association stated is correlational even when its outcome is a verb-like word
    # ("associated with improved survival"); a causal verb the association does not
    # govern (one that comes before it) makes the sentence causal.
    if corr >= CORRELATIONAL_AT and (top_causal is None or top_causal.start > top_corr.start or causal < corr):
        return "correlational", balance, top_corr
    if none >= NO_CLAIM_AT and causal < 2 * CAUSAL_AT and corr < CORRELATIONAL_AT:
        # advice, an aim or a call for research that mentions an effect states no finding
        return "no_claim", balance, None
    if causal >= CAUSAL_AT:
        if hedge >= HEDGE_AT and top_hedge is not None:
            return "conditional_causal", balance, top_causal
        return "direct_causal", balance, top_causal
    if corr >= CORRELATIONAL_AT / 2 and causal < 1.0:
        return "correlational", balance, top_corr
    return "no_claim", balance, None


def assess_claims(doc: Doc) -> ClaimResult:
    """The strongest claim of the title and opening, or else of the item's own text
    (sentences in the references or comments below it are not the item's claim)."""
    lead_limit = LEAD_SENTENCES + (1 if doc.sentences and doc.sentences[0].is_title else 0)
    best: dict[bool, tuple[float, str, Sentence, object]] = {}
    seen: set[int] = set()
    sentence_of = doc.sentence_of
    for h in doc.category(_PREFIX):
        sent = sentence_of(h.start)
        index = sent.index
        if index in seen:
            continue
        seen.add(index)
        if sent.weight < 0.5:
            continue  # references, comments, author box
        label, balance, hit = sentence_claim(doc, sent)
        if hit is None:
            continue
        lead = index < lead_limit
        strength = RANK[label] + max(-0.9, min(0.9, balance / 10.0))
        if lead not in best or strength > best[lead][0]:
            best[lead] = (strength, label, sent, hit)
    pick = best.get(True) or best.get(False)
    if pick is None:
        return ClaimResult("no_claim", None, False, 0.0, [
            Reason("claim_strength", "no_claim", "no claim about what a treatment does", "", 0.0)
        ])
    strength, label, sent, hit = pick
    in_lead = True in best
    balance = (strength - RANK[label]) * 10.0
    where = "title" if sent.is_title else ("opening" if in_lead else "body")
    reasons = [Reason("claim_strength", label, f"{hit.text} ({where})", sent.snippet(), round(strength, 2))]
    return ClaimResult(label, sent.index, in_lead, balance, reasons)
