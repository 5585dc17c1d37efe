"""Features: the cue families found in an item, turned into the numbers the fitted models read.

Each feature is a family of lexicon cues (or one plain fact about the text, its address or
its publisher) with a value, and the words and sentence that carried most of it, so a label
decided by the fitted weights (scoring/linear.py) can still name its cues. Values are
log(1 + weighted cue mass): a second cue of a family adds less than the first, and one long
page cannot outweigh a short one by repetition alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .claims import ClaimResult
from .commercial import MAX_REPEAT, CommercialResult, url_signals
from .evidence import EvidenceResult
from .hype import is_sceptic_doc, voiced_weight
from .model import CLAIM_STRENGTHS, COMMERCIAL_LEVELS, EVIDENCE_STAGES, PUBLISHERS
from .text import Doc

__all__ = ["Features", "evidence_features", "commercial_features", "hype_features", "PRECLINICAL", "WEAK_EVIDENCE"]

PRECLINICAL = frozenset(("in_vitro", "animal"))
#: Stages a direct causal claim runs past (Sumner et al.: correlational or uncontrolled
#: studies, cells or animals, and no study at all).
WEAK_EVIDENCE = frozenset(("none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled"))
_STAGES = EVIDENCE_STAGES[1:]
_DESIGN = ("protocol", "narrative_review", "single_case", "people_studied", "other_random", "bench", "own_study")
_COMMERCIAL_FAMILIES = (
    "direct.call_to_action", "direct.first_person_offer", "direct.product_page", "direct.clinic_service",
    "direct.service_voice", "direct.company_voice", "indirect.company_announcement", "indirect.investor", "indirect.institutional",
    "indirect.sponsored", "independent.critical",
)
_HYPE_FAMILIES = ("cure", "superlative", "proof", "efficacy", "timeline", "testimonial", "implied", "human_benefit")
_LEAD = 4  # the title and the first three body sentences
# Sentences weighing less than this come after the page's own text (comments, references).
TAIL_BELOW = 0.5
_DOSE = re.compile(r"\d(?:\.\d+)?\s?(?:mg|mcg|µg|ml|%)(?![\w%])")
# " you", " your", " we", " our", " us" as whole words, in one pass (a literal first character is
# found at C speed): group 1 is the second person, group 2 the first.
_PERSON = re.compile(r" (?:(you(?:r|rs|'re|'ll|'ve)?)|(we(?:'re|'ve)?|ours?|us))(?![a-z])")
# A capitalised word inside a sentence (not its first word): names of brands, products, places.
_NAME = re.compile(r" [A-Z][A-Za-z0-9]+")
_BEFORE_NAME = frozenset("abcdefghijklmnopqrstuvwxyz,;:")
_NOT_NAMES = frozenset(
    "I The A An In On Of For And Or But This That These Those It Its We Our You Your He She They Dr Mr Ms Mrs "
    "Prof University Institute Hospital School College Department Journal Study Trial Phase FDA US UK EU".split()
)


def _f(x: float) -> float:
    return math.log1p(x) if x > 0 else 0.0


@dataclass
class Features:
    """Feature values, and for each the cues that carried it: (cue, sentence, share of the value).
    The sentence is a Sentence (its snippet is made only for the reasons shown) or a string."""

    values: dict[str, float] = field(default_factory=dict)
    sources: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)

    def set(self, name: str, value: float, cue: str = "", snippet: str = "") -> None:
        if value:
            self.values[name] = value
            if cue:
                self.sources[name] = [(cue, snippet, 1.0)]

    def set_hits(self, name: str, value: float, hits: list[tuple[str, str, float]]) -> None:
        """A feature carried by several cues, each with its own weight (shares follow them)."""
        if not value:
            return
        self.values[name] = value
        total = sum(w for _, _, w in hits if w > 0)
        if total > 0:
            self.sources[name] = [(cue, snip, w / total) for cue, snip, w in hits if w > 0]


def _family(doc: Doc, prefix: str, lead_only: bool = False) -> tuple[float, list]:
    """Position-weighted mass of a cue family (each distinct cue counted twice at most) and its hits with their weights."""
    total = 0.0
    found = []
    counts: dict[str, int] = {}
    for h in doc.category(prefix):
        sent = doc.sentence_of(h.start)
        if lead_only and sent.index >= _LEAD:
            continue
        n = counts.get(h.text, 0)
        if n >= MAX_REPEAT:
            continue
        counts[h.text] = n + 1
        w = h.cue.weight * sent.weight * (1.0 if n == 0 else 0.5)
        total += w
        found.append((h.text, sent, w))
    return total, found


def _put_family(feats: Features, doc: Doc, name: str, prefix: str, lead_only: bool = False) -> None:
    mass, found = _family(doc, prefix, lead_only)
    if found:
        feats.set_hits(name, _f(mass), found)


def evidence_features(doc: Doc, ev: EvidenceResult, *, satire: bool = False) -> Features:
    feats = Features()
    for stage in _STAGES:
        hits = [(h.text, s, w) for w, h, s in ev.counted.get(stage, ())]
        feats.set_hits(f"stage:{stage}", _f(max(ev.scores.get(stage, 0.0), 0.0)), hits)
        if ev.title_scores.get(stage):
            feats.set_hits(f"title:{stage}", _f(ev.title_scores[stage]), [t for t in hits if t[1].is_title] or hits)
        # a discounted stage is explained by the words that discounted it ("not yet tested")
        for kind, mass in (("planned", ev.planned.get(stage, 0.0)), ("background", ev.background.get(stage, 0.0))):
            if mass:
                context = [(ctx.text, sent, w) for w, h, sent, ctx, why in ev.discounted
                           if (why == "planned") == (kind == "planned") and h.cue.category.endswith("." + stage)]
                feats.set_hits(f"{kind}:{stage}", _f(mass), context or hits)
    for family in _DESIGN:
        _put_family(feats, doc, f"design:{family}", f"evidence.design.{family}")
        _put_family(feats, doc, f"design_lead:{family}", f"evidence.design.{family}", lead_only=True)
    for ctx in ("planning", "negation", "vague", "background", "citation"):
        _put_family(feats, doc, f"context:{ctx}", f"evidence.context.{ctx}")
    feats.set("registry_plan", 1.0 if ev.registry_plan else 0.0, "registry record without results")
    feats.set("open_design", 1.0 if ev.open_design else 0.0, "open-label or without a control group")
    feats.set("satire", 1.0 if satire else 0.0, "satire")
    feats.set("length", math.log1p(len(doc.sentences)) / 3.0, f"text length ({len(doc.sentences)} sentences)")
    # The hand-written rules' own verdict (title cues decide, plans and backgrounds discounted,
    # open designs are uncontrolled) is one feature among the others: the fit learns how far
    # to trust it against the design families.
    top = ev.best.get(ev.stage)
    feats.set_hits(f"rule:{ev.stage}", 1.0, [(top[1].text, top[2], 1.0)] if top else [("no study described", "", 1.0)])
    return feats


def _brand_focus(doc: Doc) -> tuple[float, str]:
    """How often the most repeated capitalised name inside sentences recurs (pages built
    around one brand name it again and again)."""
    counts: dict[str, int] = {}
    text = doc.text
    for m in _NAME.finditer(text):
        if text[m.start() - 1 : m.start()] not in _BEFORE_NAME:
            continue  # a sentence's first word, not a name inside it
        word = m.group()[1:]
        if word in _NOT_NAMES or word.isupper() and len(word) <= 2:
            continue
        counts[word] = counts.get(word, 0) + 1
    if not counts:
        return 0.0, ""
    word, n = max(counts.items(), key=lambda kv: kv[1])
    return (_f(n - 2) if n >= 3 else 0.0), word


def commercial_features(
    doc: Doc, com: CommercialResult, *, url: str | None, publisher: str | None, satire: bool = False
) -> Features:
    feats = Features()
    for family in _COMMERCIAL_FAMILIES:
        _put_family(feats, doc, f"cue:{family}", f"commercial.{family}")
    # Selling language: promises of cures, guarantees, proof and timelines are what
    # marketing says, so they speak for a seller as well as for hype.
    for family, (mass, hit, _) in _claim_masses(doc).items():
        if family in ("cure", "superlative", "proof", "efficacy", "timeline", "testimonial"):
            feats.set_hits(f"promo:{family}", _f(mass), [(hit.text, doc.sentence_of(hit.start), 1.0)])
    for r in com.reasons:
        if r.cue == "trademark sign":
            feats.set("trademark", 1.0, r.cue, r.snippet)
        elif r.dimension == "commercial_interest" and r.label == "direct" and r.cue[:1] in "$€£0123456789":
            feats.set("price", 1.0, r.cue, r.snippet)
    text = doc.text
    if "price" not in feats.values and any(c in text for c in "$€£"):
        m = re.search(r"[$€£]\s?\d", text)
        if m:
            feats.set("price", 1.0, m.group(0), doc.sentence_of(m.start()).snippet())
    n_sent = max(len(doc.sentences), 1)
    doses = _DOSE.findall(doc.lower) if ("%" in doc.lower or "mg" in doc.lower or "ml" in doc.lower) else ()
    if doses:
        feats.set("dose", _f(len(doses)) / 2.0, doses[0])
    second = first = 0
    for you, we in _PERSON.findall(doc.lower):
        if you:
            second += 1
        else:
            first += 1
    feats.set("second_person", min(second / n_sent, 2.0), "you, your")
    feats.set("first_person", min(first / n_sent, 2.0), "we, our")
    focus, word = _brand_focus(doc)
    feats.set("brand_focus", focus, f"one name throughout ({word})" if word else "")
    for lab, pts, why in url_signals(url):
        key = "url:" + why.split(": ", 1)[-1].split(" (")[0].replace(" ", "_")
        feats.set(key, 1.0, why, (url or "")[:200])
    if publisher in PUBLISHERS:
        feats.set(f"publisher:{publisher}", 1.0, f"publisher: {publisher}")
    feats.set("satire", 1.0 if satire else 0.0, "satire")
    first = next((r for r in com.reasons if r.weight > 0), None)
    feats.set(f"rule:{com.label}", 1.0, first.cue if first else "", first.snippet if first else "")
    return feats


def _claim_masses(doc: Doc) -> dict[str, tuple[float, object, list]]:
    """Position-weighted mass per hype-claim family, discounted where the text quotes,
    denies or debunks the claim rather than making it: (mass, heaviest hit, [(cue, sentence, weight)]).
    Computed once per document (commercial and hype features both read it)."""
    cached = doc.__dict__.get("_claim_masses")
    if cached is not None:
        return cached
    out: dict[str, list] = {}
    counts: dict[str, int] = {}
    sceptic_doc = is_sceptic_doc(doc)
    for h in doc.category("hype.claim."):
        sub = h.cue.category.rsplit(".", 1)[-1]
        n = counts.get(h.text, 0)
        if n >= MAX_REPEAT:
            continue
        sent = doc.sentence_of(h.start)
        if sent.weight < TAIL_BELOW:
            continue  # comments, references, an author box: not the item's own claims
        counts[h.text] = n + 1
        w = voiced_weight(doc, h, sent, n, sceptic_doc)
        slot = out.setdefault(sub, [0.0, None, 0.0, []])
        slot[0] += w
        slot[3].append((h.text, sent, w))
        if w > slot[2]:
            slot[1], slot[2] = h, w
    result = {k: (v[0], v[1], v[3]) for k, v in out.items()}
    doc.__dict__["_claim_masses"] = result
    return result


def hype_features(
    doc: Doc, *, stage: str, commercial: str, claim: ClaimResult, satire: bool = False
) -> Features:
    feats = Features()
    masses = _claim_masses(doc)
    preclinical = stage in PRECLINICAL
    total = 0.0
    every: list[tuple[str, str, float]] = []
    for family in _HYPE_FAMILIES:
        mass, hit, found = masses.get(family, (0.0, None, []))
        if hit is None:
            continue
        hits = found
        every += hits
        total += mass
        feats.set_hits(f"claim:{family}", _f(mass), hits)
        if preclinical:
            feats.set_hits(f"preclinical_x:{family}", _f(mass), hits)
        if family == "testimonial" and commercial != "none":
            feats.set_hits("selling_x:testimonial", _f(mass), hits)
    _put_family(feats, doc, "caveat:strong", "hype.caveat.strong")
    _put_family(feats, doc, "caveat:negated", "hype.caveat.negated")
    _put_family(feats, doc, "sceptic", "hype.sceptic.")
    for s in EVIDENCE_STAGES:
        feats.set(f"stage:{s}", 1.0 if s == stage else 0.0, f"evidence: {s.replace('_', ' ')}")
    for c in COMMERCIAL_LEVELS[1:]:
        feats.set(f"commercial:{c}", 1.0 if c == commercial else 0.0, f"commercial interest: {c}")
    why = claim.reasons[0] if claim.reasons else None
    for c in CLAIM_STRENGTHS[1:]:
        feats.set(f"claim_strength:{c}", 1.0 if c == claim.label else 0.0,
                  why.cue if why else c, why.snippet if why else "")
    if claim.label == "direct_causal" and stage in WEAK_EVIDENCE:
        # Sumner et al.'s exaggerations: a direct causal claim on weaker evidence
        key = "preclinical" if preclinical else "weak"
        feats.set(f"direct_claim_x:{key}", 1.0 + (0.5 if claim.in_lead else 0.0),
                  why.cue if why else "", why.snippet if why else "")
    if total:
        feats.set_hits("claims_x:" + ("preclinical" if preclinical else stage), _f(total), every)
    feats.set("satire", 1.0 if satire else 0.0, "satire")
    return feats
