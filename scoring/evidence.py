"""Evidence stage: the strongest kind of study the item presents for its headline claim."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .model import EVIDENCE_STAGES, Reason
from .text import Doc, Sentence

__all__ = ["EvidenceResult", "assess_evidence"]

_RANK = {s: i for i, s in enumerate(EVIDENCE_STAGES)}
_STAGE_OF: dict[str, str] = {}  # "evidence.stage.animal" -> "animal", filled as met
_PREFIX = "evidence.stage."
_IN_VITRO = _PREFIX + "in_vitro"
_ANIMAL = _PREFIX + "animal"
# A stage needs this much weighted support (a single clear cue in the opening is enough).
THRESHOLD = 2.0
# A title cue decides the stage only when specific (e.g. "in mice", "randomised", "case report").
TITLE_THRESHOLD = 3.0
TITLE_CUE = 2.0
# A stronger stage wins over a better-supported weaker one only with this share of the top score.
MIN_SHARE = 0.2
# Multipliers for cues whose sentence is a plan/negation, or background on other studies.
PLANNED = 0.1
PLANNED_WITH_RESULTS = 0.6
BACKGROUND = 0.4
CITATION = 0.15
ANIMAL_IN_DISH = 0.3
# Registry-record wording ("Status: Recruiting", "Estimated enrollment") that makes a text a registry record.
REGISTRY_AT = 4.0
META_WEIGHT = 6.0
# PubMed publication types (lower case) -> the stage they set, strongest first.
PUBLICATION_TYPES = (
    ("meta-analysis", "meta_analysis"),
    ("systematic review", "meta_analysis"),
    ("network meta-analysis", "meta_analysis"),
    ("randomized controlled trial", "human_rct"),
    ("equivalence trial", "human_rct"),
    ("pragmatic clinical trial", "human_rct"),
    ("controlled clinical trial", "human_uncontrolled"),
    ("clinical trial, phase i", "human_uncontrolled"),
    ("clinical trial", "human_uncontrolled"),
    ("observational study", "human_uncontrolled"),
    ("multicenter study", "human_uncontrolled"),
    ("case reports", "human_anecdote"),
)
# Types that say people were studied but not how: a floor under the text's own stage
# (a "Clinical Trial" whose abstract reports a randomised, placebo-controlled design is an RCT).
FLOOR_TYPES = frozenset(("controlled clinical trial", "clinical trial", "observational study", "multicenter study"))


@dataclass
class EvidenceResult:
    stage: str
    scores: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)
    # per stage: sentences (by index) that carried its cues
    support: dict[str, set[int]] = field(default_factory=dict)
    # the stage the item's metadata (publication type, registry record) set, if any
    meta_stage: str | None = None
    # what the fitted model reads (scoring/features.py): per stage, the support found in the
    # title, the support discounted as a plan, and as background or citation
    title_scores: dict[str, float] = field(default_factory=dict)
    planned: dict[str, float] = field(default_factory=dict)
    background: dict[str, float] = field(default_factory=dict)
    registry_plan: bool = False
    open_design: bool = False
    # metadata (publication types, a registry record) had its say, whatever the stage it set
    meta_decided: bool = False
    # per stage, its strongest (weight, hit, sentence), and every counted one
    best: dict[str, tuple] = field(default_factory=dict)
    counted: dict[str, list] = field(default_factory=dict)
    # (discounted weight, stage hit, sentence, the context hit that discounted it, why)
    discounted: list = field(default_factory=list)


_PLANNING = frozenset(("evidence.context.planning", "evidence.context.negation"))
_OPEN_DESIGN = "evidence.context.open_design"
# Words of a controlled design. A randomised trial is an RCT because of these, not because it
# is called "phase 2": a study described as open-label or single-arm whose only trial words
# are its phase and "results" is uncontrolled.
_CONTROLLED = re.compile(r"randomi|random(?:ly)? |placebo|blind|sham|vehicle|controlled|inactive|identical|matching|dummy|allocated|versus placebo|vs\.? placebo|rct")
_CONTEXT = frozenset(
    ("evidence.context.planning", "evidence.context.negation", "evidence.context.citation", "evidence.context.background")
)


# Clause boundaries: context ("... are needed", "previously ...") binds within its clause,
# so "There was no control group, and larger placebo-controlled trials are needed" keeps
# its first clause as evidence.
_CLAUSE = re.compile(r"[;:] |, (?:and|but|while|whereas|although|though|yet|so) | (?:but|whereas|although|though) ")


def _context_factor(
    hits: list, sent: Sentence, reports: Callable[[], bool] | None = None
) -> tuple[float, str | None, object]:
    """Multiplier for stage cues that share a clause with these context hits. `reports`
    says whether the clause also reports results ("the trial, which will continue, showed")."""
    if not hits:
        return 1.0, None, None
    planning = [h for h in hits if h.cue.category in _PLANNING]
    if planning:
        strongest = max(planning, key=lambda h: h.cue.weight)
        if strongest.cue.weight < 3 and reports is not None and reports():
            return PLANNED_WITH_RESULTS, "planned", strongest
        return PLANNED, "planned", strongest
    citation = [h for h in hits if h.cue.category == "evidence.context.citation"]
    if citation and not sent.is_title:
        return CITATION, "citation", citation[0]
    background = [h for h in hits if h.cue.category == "evidence.context.background"]
    if background:
        return BACKGROUND, "background", max(background, key=lambda h: h.cue.weight)
    return 1.0, None, None


def _factors(
    doc: Doc, sent: Sentence, stage_hits: list, results: re.Pattern[str] | None
) -> list[tuple[float, str | None, object]]:
    """Context factor for each stage hit of a sentence. Plans and negations bind within
    their clause; citations and background mentions colour the whole sentence."""
    if _CONTEXT.isdisjoint(doc.categories_at(sent.index)):
        return [(1.0, None, None)] * len(stage_hits)
    ctx = doc.cats_in(sent, "evidence.context.")
    lower = doc.lower

    def reports(start: int, end: int) -> Callable[[], bool]:
        return lambda: results is not None and results.search(lower, start, end) is not None

    # Clause bounds matter only with a plan or negation among the context cues: look for
    # them (a regex pass over the sentence) only then.
    if not any(h.cue.category in _PLANNING for h in ctx) or not (
        bounds := [m.end() for m in _CLAUSE.finditer(lower, sent.start, sent.end)]
    ):
        f = _context_factor(ctx, sent, reports(sent.start, sent.end))
        return [f] * len(stage_hits)
    sentence_wide = [h for h in ctx if h.cue.category not in _PLANNING]
    by_clause: dict[int, list] = {}
    for h in ctx:
        if h.cue.category in _PLANNING:
            by_clause.setdefault(bisect.bisect_right(bounds, h.start), []).append(h)
    edges = [sent.start, *bounds, sent.end]
    cache: dict[int, tuple[float, str | None, object]] = {}
    out = []
    for h in stage_hits:
        k = bisect.bisect_right(bounds, h.start)
        if k not in cache:
            clause = by_clause.get(k)
            if clause:
                cache[k] = _context_factor(clause, sent, reports(edges[k], edges[k + 1]))
            else:
                cache[k] = _context_factor(sentence_wide, sent)
        out.append(cache[k])
    return out


def is_registry_meta(meta: dict | None) -> bool:
    """A ClinicalTrials.gov record's metadata (trial status or results flag)."""
    return bool(meta) and ("trial_status" in meta or "has_results" in meta)


def meta_decision(meta: dict | None) -> tuple[str, str, bool] | None:
    """(stage, cue, floor) that metadata sets, or None; `floor`: the stage is a minimum
    and a stronger design stated in the text stands. A registry record without results is `none`
    whatever its design words say; with results its allocation decides. PubMed publication
    types set the stage (the strongest type wins); a retracted paper is no evidence."""
    if not meta or not isinstance(meta, dict):
        return None
    if is_registry_meta(meta):
        status = str(meta.get("trial_status") or "unknown").replace("_", " ")
        if meta.get("has_results") is True:
            allocation = str(meta.get("allocation") or "").lower()
            if allocation == "randomized":
                return "human_rct", "registry record with results: randomized", False
            how = allocation.replace("_", "-") or "allocation not randomized"
            return "human_uncontrolled", f"registry record with results: {how}", False
        return "none", f"registry record without results (status: {status})", False
    types = meta.get("publication_types") or []
    if isinstance(types, str):
        types = [types]
    names = [t for t in types if isinstance(t, str)]
    lowered = [t.strip().lower() for t in names]
    if meta.get("retracted") is True or "retracted publication" in lowered:
        return "none", "publication type: Retracted Publication", False
    for key, stage in PUBLICATION_TYPES:
        for orig, low in zip(names, lowered):
            if low == key or (key.startswith("clinical trial") and low.startswith(key)):
                floor = key in FLOOR_TYPES or key.startswith("clinical trial")
                return stage, f"publication type: {orig.strip()}", floor
    return None


def assess_evidence(
    doc: Doc,
    *,
    satire: bool = False,
    registry: bool = False,
    results: re.Pattern[str] | None = None,
    meta: dict | None = None,
) -> EvidenceResult:
    """`results` matches words that report results (lexicons/evidence.toml results_words);
    `meta` is the API adapters' structured facts (publication types, registry status)."""
    scores = {s: 0.0 for s in EVIDENCE_STAGES}
    best: dict[str, tuple[float, object, Sentence]] = {}
    support: dict[str, set[int]] = {}
    title_scores: dict[str, float] = {}
    discounted: list[tuple[float, object, Sentence, object]] = []
    planned: dict[str, float] = {}
    background: dict[str, float] = {}
    counted: dict[str, list[tuple[float, object, Sentence]]] = {}
    grouped: dict[int, tuple[Sentence, list]] = {}  # by sentence index, in order of first hit
    sentence_of = doc.sentence_of
    for h in doc.category(_PREFIX):
        sent = sentence_of(h[1])
        group = grouped.get(sent.index)
        if group is None:
            grouped[sent.index] = (sent, [h])
        else:
            group[1].append(h)
    n_prefix = len(_PREFIX)
    stage_of = _STAGE_OF
    for sent, stage_hits in grouped.values():
        factors = _factors(doc, sent, stage_hits, results)
        has_dish = explicit_animal = False
        for h in stage_hits:
            cue = h.cue
            if cue.category == _IN_VITRO and cue.weight >= 2.5:
                has_dish = True
            elif cue.category == _ANIMAL and cue.weight >= 3:
                explicit_animal = True
        dish_only = has_dish and not explicit_animal
        sw = sent.weight
        si = sent.index
        title = sent.is_title
        seen: set[tuple[str, str]] = set()
        for h, (factor, why, ctx) in zip(stage_hits, factors):
            cue = h[0]
            stage = stage_of.get(cue.category)
            if stage is None:
                stage = stage_of[cue.category] = cue.category[n_prefix:]
            key = (stage, h[3])
            if key in seen:  # the same words twice in one sentence count once
                continue
            seen.add(key)
            cw = cue.weight
            w = cw * sw * factor
            if dish_only and stage == "animal":
                w *= ANIMAL_IN_DISH  # "organoids from mouse stem cells": a dish, not an animal
            if factor < 1.0 and ctx is not None:
                discounted.append((cw * sw * (1 - factor), h, sent, ctx, why))
                if why == "planned":
                    planned[stage] = planned.get(stage, 0.0) + cw * sw
                else:
                    background[stage] = background.get(stage, 0.0) + cw * sw * (1 - factor)
            scores[stage] += w
            if stage in best:
                support[stage].add(si)
                counted[stage].append((w, h, sent))
                if w > best[stage][0]:
                    best[stage] = (w, h, sent)
            else:
                support[stage] = {si}
                counted[stage] = [(w, h, sent)]
                best[stage] = (w, h, sent)
            if title and cw >= TITLE_CUE:
                title_scores[stage] = title_scores.get(stage, 0.0) + w

    reasons: list[Reason] = []
    no_results = doc.category("evidence.context.registry_no_results")
    has_results = bool(doc.category("evidence.context.registry_results")) and not no_results
    record_words = sum(h.cue.weight for h in doc.category("evidence.context.registry_record"))
    registry_like = registry or record_words >= REGISTRY_AT
    registry_plan = registry_like and not has_results
    decided = meta_decision(meta)
    meta_stage = None
    if decided is not None:
        meta_stage, meta_cue, floor = decided
        text_stage = _decide(scores, title_scores) if not registry_plan else "none"
        # The text may bind the headline to cells or mice (a "Review" of mouse studies):
        # a preclinical stage named in the title outranks a human publication type.
        if floor and _RANK[text_stage] > _RANK[meta_stage]:
            # the text names a stronger design than the type does: its cues decide
            stage = text_stage
            reasons.append(Reason("evidence_stage", stage, f"{meta_cue} (at least {meta_stage.replace('_', ' ')})", "", 0.0))
            meta_stage = None
        elif (
            meta_stage not in ("none",)
            and not is_registry_meta(meta)
            and text_stage in ("in_vitro", "animal")
            and title_scores.get(text_stage, 0.0) >= TITLE_THRESHOLD
        ):
            stage = text_stage
            reasons.append(Reason("evidence_stage", stage, f"{meta_cue} (headline bound to {text_stage.replace('_', ' ')})", doc.sentences[0].snippet(), 0.0))
            meta_stage = None
        else:
            stage = meta_stage
            reasons.append(Reason("evidence_stage", stage, meta_cue, "", META_WEIGHT))
    elif satire or registry_plan:
        stage = "none"
    else:
        # An item mostly about a planned or enrolling study: what is left is its description.
        for st, mass in planned.items():
            if mass > scores[st] and st not in title_scores:
                scores[st] = min(scores[st], THRESHOLD * 0.99)
        stage = _decide(scores, title_scores)
    open_design = _open_design(doc, counted.get("human_rct", ()))
    if stage == "human_rct" and meta_stage is None:
        if open_design is not None:
            stage = "human_uncontrolled"
            sent = doc.sentence_of(open_design.start)
            reasons.append(Reason("evidence_stage", stage, open_design.text, sent.snippet(),
                                  round(open_design.cue.weight * sent.weight, 2)))
    if meta_stage is not None:
        pass  # metadata decided: its reason is first; text cues follow only as context below
    elif stage != "none" and stage in best:
        # the decisive stage's strongest cues first
        picked = sorted(counted.get(stage, ()), key=lambda t: -t[0])[:3]
        for w, h, s in picked:
            reasons.append(Reason("evidence_stage", stage, h.text, s.snippet(), w))
    if stage == "none" and meta_stage is None:
        for w, h, s, ctx, _ in sorted(discounted, key=lambda t: -t[0])[:3]:
            reasons.append(Reason("evidence_stage", "none", ctx.text, s.snippet(), round(w, 2)))
        if satire:
            reasons.append(Reason("evidence_stage", "none", "satire", doc.sentences[0].snippet(), 0.0))
        elif registry_plan:
            why = no_results[0] if no_results else None
            reasons.append(Reason(
                "evidence_stage", "none", "registry record without results" + (f" ({why.text})" if why else ""),
                doc.sentence_of(why.start).snippet() if why else "", 0.0,
            ))
    # the runner-up stage, so a reader sees what else was considered
    others = [s for s in EVIDENCE_STAGES if s not in (stage, "none") and scores[s] >= THRESHOLD and s in best]
    if others:
        other = max(others, key=lambda s: scores[s])
        w, h, s = best[other]
        reasons.append(Reason("evidence_stage", other, h.text, s.snippet(), -round(w, 2)))
    return EvidenceResult(
        stage=stage, scores=scores, reasons=reasons, support=support, meta_stage=meta_stage,
        title_scores=title_scores, planned=planned, background=background, registry_plan=registry_plan,
        meta_decided=decided is not None,
        open_design=open_design is not None, best=best, counted=counted, discounted=discounted,
    )


_DENIAL = ("no", "without", "there was no")  # "no placebo group", "not randomised", "non-randomised"


def _open_design(doc: Doc, rct: list | tuple):
    """The cue that says the reported study had no control ("open-label", "no placebo group"),
    when nothing else in the item describes a controlled design; else None.

    A controlled-design word in a sentence that also denies a control ("there was no placebo
    group") or in a planned or background clause does not count; "randomised, open-label" is
    a randomised trial.
    """
    hits = [h for h in doc.category(_OPEN_DESIGN)
            if _PLANNING.isdisjoint(doc.categories_at(doc.sentence_of(h.start).index))]
    if not hits:
        return None
    # "open-label" and "single-arm" sit beside "randomised" in randomised open-label trials;
    # only a denial ("no placebo group", "non-randomised") speaks for its whole sentence.
    denied = {doc.sentence_of(h.start).index for h in hits if h.text.startswith(_DENIAL)}
    for w, h, sent in rct:
        if sent.index in denied or w < 0.9 * h.cue.weight * sent.weight:
            continue
        if _CONTROLLED.search(h.text):
            return None
    return hits[0]


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
