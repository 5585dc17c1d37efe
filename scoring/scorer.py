"""score_item: one item (title, text, url?, publisher?) in, one Score with reasons out. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .claims import ClaimResult, assess_claims
from .commercial import assess_commercial, split_url
from .commercial import CommercialResult
from .evidence import EvidenceResult, assess_evidence
from .features import Features, commercial_features, evidence_features, hype_features
from .hype import HIGH_AT, MEDIUM_AT, assess_hype
from .lexicon import Lexicons, compute_version, load_lexicons
from .linear import LinearModel, Prediction, load_models
from .model import PUBLISHERS, Reason, Score
from .relevance import assess_relevance
from .text import build_doc
from .treatments import assess_treatments

__all__ = ["score_item", "default_scorer", "Scorer", "Analysis", "SCORING_VERSION", "model_reasons"]

SATIRE_AT = 2.5
# A satire or parody site's address (by its general name, or a few long-running outlets of the
# kind that get syndicated into news feeds): the text alone is written to pass as news.
_SATIRE_HOST = re.compile(
    r"satir|spoof|parody|(?:theonion\.|babylonbee\.|clickhole\.|thedailymash\.|newsthump\.|"
    r"waterfordwhispersnews\.|thebeaverton\.|duffelblog\.|thehardtimes\.|reductress\.|worldnewsdailyreport\.|"
    r"theshovel\.|thechaser\.|newsbiscuit\.|private-eye\.)"
)


@dataclass
class Analysis:
    """Everything the rules found in one item, before the fitted models decide the labels."""

    doc: object
    url: str | None
    publisher: str | None
    satire: bool
    satire_reason: Reason | None
    treatments: object
    relevance: object
    evidence: EvidenceResult
    commercial: CommercialResult
    claim: ClaimResult
    evidence_features: Features
    commercial_features: Features


def _snippet(sentence) -> str:
    return sentence if isinstance(sentence, str) else sentence.snippet()


def model_reasons(dimension: str, pred: Prediction, feats: Features, *, top: int = 3) -> list[Reason]:
    """The cues that moved the fitted model most towards its label (and the strongest
    against it): each feature's fitted contribution is shared among the cues that carried
    it, in proportion to their weight, and cues are listed by their share."""
    by_cue: dict[str, list] = {}
    for name, contribution in pred.contributions.items():
        for cue, sentence, share in feats.sources.get(name, [(name, "", 1.0)]):
            slot = by_cue.setdefault(cue or name, [0.0, sentence])
            slot[0] += contribution * share
    ranked = sorted(by_cue.items(), key=lambda kv: -kv[1][0])
    out: list[Reason] = []
    for cue, (w, sentence) in ranked:
        if w <= 0.05 or len(out) == top:
            break
        out.append(Reason(dimension, pred.label, cue, _snippet(sentence), round(w, 2)))
    if ranked and ranked[-1][1][0] < -0.25:
        cue, (w, sentence) = ranked[-1]
        out.append(Reason(dimension, pred.label, cue, _snippet(sentence), round(w, 2)))
    return out


def hype_score(pred: Prediction) -> int:
    """0-100 from the hype model's probabilities, kept inside its label's band."""
    p = pred.probabilities
    raw = 100.0 * (0.5 * p.get("medium", 0.0) + p.get("high", 0.0))
    lo, hi = {"low": (0, MEDIUM_AT - 1), "medium": (MEDIUM_AT, HIGH_AT - 1), "high": (HIGH_AT, 100)}[pred.label]
    return int(round(min(max(raw, lo), hi)))


class Scorer:
    """Holds the loaded lexicons and fitted weights; score() is pure and thread-safe."""

    def __init__(self, lexicons: Lexicons | None = None, models: dict[str, LinearModel] | None = None) -> None:
        self.lexicons = lexicons or load_lexicons()
        self.version = self.lexicons.version
        self.models = load_models() if models is None else models
        words = self.lexicons.data.get("evidence", {}).get("context", {}).get("results_words", [])
        self.results_words = re.compile(r"\b(?:" + "|".join(words) + r")\b") if words else None
        self.parents: dict[str, list[str]] = {
            name: list(spec.get("also", []))
            for name, spec in self.lexicons.data.get("treatments", {}).get("treatment", {}).items()
        }

    def analyse(self, item: dict) -> Analysis:
        """Run every rule over the item: cues, contexts and the features the models read."""
        title = item.get("title") or ""
        text = item.get("text") or ""
        if not isinstance(title, str) or not isinstance(text, str):
            raise TypeError("item title and text must be strings")
        publisher = item.get("publisher")
        if publisher not in PUBLISHERS:
            publisher = None
        meta = item.get("meta")
        if not isinstance(meta, dict):
            meta = None
        doc = build_doc(title, text, self.lexicons.matcher)

        url = item.get("url")
        if not isinstance(url, str):
            url = None
        parts = split_url(url) if url else None
        satire_hits = doc.category("hype.satire.")
        satire_site = parts is not None and _SATIRE_HOST.search(parts[0]) is not None
        satire = satire_site or sum(h.cue.weight for h in satire_hits) >= SATIRE_AT
        satire_reason = None
        if satire and satire_hits:
            h = satire_hits[0]
            satire_reason = Reason("hype", "high", h.text, doc.sentence_of(h.start).snippet(), SATIRE_AT)
        elif satire:
            satire_reason = Reason("hype", "high", "address: a satire site", url.strip()[:200], SATIRE_AT)

        treat = assess_treatments(doc, self.parents)
        rel = assess_relevance(doc, treatment_score=min(sum(treat.weights.values()), 4.0))
        ev = assess_evidence(
            doc, satire=satire, registry=publisher == "registry", results=self.results_words, meta=meta
        )
        claim = assess_claims(doc)
        com = assess_commercial(doc, publisher=publisher, satire=satire, url=url, meta=meta)
        return Analysis(
            doc=doc, url=url, publisher=publisher, satire=satire, satire_reason=satire_reason,
            treatments=treat, relevance=rel, evidence=ev, commercial=com, claim=claim,
            evidence_features=evidence_features(doc, ev, satire=satire),
            commercial_features=commercial_features(doc, com, url=url, publisher=publisher, satire=satire),
        )

    def score(self, item: dict) -> Score:
        a = self.analyse(item)
        doc, ev, com, claim, satire = a.doc, a.evidence, a.commercial, a.claim, a.satire
        models = self.models

        # Evidence: metadata (publication types, registry records) and satire decide when
        # present; otherwise the fitted model weighs the cues.
        stage, ev_reasons = ev.stage, ev.reasons
        model = models.get("evidence_stage")
        # Structured facts decide on their own: publication types and registry records
        # (metadata), a registry record without results (registrations are no
        # evidence), and satire.
        if model is not None and not ev.meta_decided and not ev.registry_plan and not satire:
            pred = model.predict(a.evidence_features.values)
            stage = pred.label
            ev_reasons = model_reasons("evidence_stage", pred, a.evidence_features)
        elif satire:
            ev_reasons = [Reason("evidence_stage", "none", "satire", doc.sentences[0].snippet(), 0.0)]

        commercial, com_reasons = com.label, com.reasons
        model = models.get("commercial_interest")
        if model is not None and not satire:
            pred = model.predict(a.commercial_features.values)
            commercial = pred.label
            com_reasons = model_reasons("commercial_interest", pred, a.commercial_features)
            if com.sponsor_reason is not None and commercial == "none":
                # A trial run by the maker of what it tests: at least indirect interest.
                commercial = "indirect"
                com_reasons = [com.sponsor_reason]

        model = models.get("hype")
        if model is not None:
            feats = hype_features(doc, stage=stage, commercial=commercial, claim=claim, satire=satire)
            pred = model.predict(feats.values)
            hype_label, score_i = pred.label, hype_score(pred)
            hype_reasons = model_reasons("hype", pred, feats, top=4)
            if satire:
                hype_label, score_i = "high", max(score_i, 85)
                hype_reasons = [Reason("hype", "high", "satire", doc.sentences[0].snippet(), 0.0)]
        else:
            hype = assess_hype(doc, stage=stage, stage_support=ev.support, commercial=commercial, satire=satire)
            hype_label, score_i, hype_reasons = hype.label, hype.score, hype.reasons

        rel = a.relevance
        reasons: list[Reason] = []
        reasons.extend(rel.reasons)
        reasons.extend(ev_reasons)
        reasons.extend(com_reasons)
        reasons.extend(claim.reasons)
        if a.satire_reason is not None:
            reasons.append(a.satire_reason)
        reasons.extend(hype_reasons)
        treatments = a.treatments.names if rel.relevant else []
        if rel.relevant:
            reasons.extend(a.treatments.reasons)
        # Every label carries at least one reason, even when it is the absence of cues.
        present = {r.dimension for r in reasons}
        for dimension, label, why in (
            ("relevant", "false", "no hair-loss terms"),
            ("evidence_stage", stage, "no study described"),
            ("commercial_interest", commercial, "no offer, price, company or promotional language"),
            ("hype", hype_label, "no strong claims"),
        ):
            if dimension not in present:
                reasons.append(Reason(dimension, label, why, "", 0.0))
        return Score(
            relevant=rel.relevant,
            evidence_stage=stage,
            commercial_interest=commercial,
            hype=hype_label,
            hype_score=score_i,
            treatments=treatments,
            reasons=reasons,
            scoring_version=self.version,
            claim_strength=claim.label,
        )


_DEFAULT: Scorer | None = None
#: Derived from the rules' source, the lexicons and the fitted weights, without loading them:
#: `import scoring` stays cheap, and the first score pays for compiling the lexicons.
SCORING_VERSION: str = compute_version()


def default_scorer() -> Scorer:
    """The shared Scorer, built on first use (compiling the lexicons takes most of a second)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Scorer()
    return _DEFAULT


def score_item(item: dict) -> Score:
    """Score one item: {"title", "text", "url"?, "publisher"?} -> Score."""
    return default_scorer().score(item)
