"""score_item: one item (title, text, url?, publisher?) in, one Score with reasons out. Pure."""

from __future__ import annotations

import re

from .claims import assess_claims
from .commercial import assess_commercial, split_url
from .evidence import assess_evidence
from .hype import assess_hype
from .lexicon import Lexicons, load_lexicons
from .model import PUBLISHERS, Reason, Score
from .relevance import assess_relevance
from .text import build_doc
from .treatments import assess_treatments

__all__ = ["score_item", "Scorer", "SCORING_VERSION"]

SATIRE_AT = 2.5
# A satire or parody site's address (by its general name, or a few long-running outlets of the
# kind that get syndicated into news feeds): the text alone is written to pass as news.
_SATIRE_HOST = re.compile(
    r"satir|spoof|parody|(?:theonion\.|babylonbee\.|clickhole\.|thedailymash\.|newsthump\.|"
    r"waterfordwhispersnews\.|thebeaverton\.|duffelblog\.|thehardtimes\.|reductress\.|worldnewsdailyreport\.|"
    r"theshovel\.|thechaser\.|newsbiscuit\.|private-eye\.)"
)


class Scorer:
    """Holds the loaded lexicons; score() is pure and thread-safe."""

    def __init__(self, lexicons: Lexicons | None = None) -> None:
        self.lexicons = lexicons or load_lexicons()
        self.version = self.lexicons.version
        words = self.lexicons.data.get("evidence", {}).get("context", {}).get("results_words", [])
        self.results_words = re.compile(r"\b(?:" + "|".join(words) + r")\b") if words else None
        self.parents: dict[str, list[str]] = {
            name: list(spec.get("also", []))
            for name, spec in self.lexicons.data.get("treatments", {}).get("treatment", {}).items()
        }

    def score(self, item: dict) -> Score:
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

        treat = assess_treatments(doc, self.parents)
        rel = assess_relevance(doc, treatment_score=min(sum(treat.weights.values()), 4.0))
        ev = assess_evidence(
            doc, satire=satire, registry=publisher == "registry", results=self.results_words, meta=meta
        )
        claim = assess_claims(doc)
        com = assess_commercial(doc, publisher=publisher, satire=satire, url=url, meta=meta)
        hype = assess_hype(doc, stage=ev.stage, stage_support=ev.support, commercial=com.label, satire=satire)

        reasons: list[Reason] = []
        reasons.extend(rel.reasons)
        reasons.extend(ev.reasons)
        reasons.extend(com.reasons)
        reasons.extend(claim.reasons)
        if satire and satire_hits:
            h = satire_hits[0]
            reasons.append(Reason("hype", "high", h.text, doc.sentence_of(h.start).snippet(), SATIRE_AT))
        elif satire:
            reasons.append(Reason("hype", "high", "address: a satire site", url.strip()[:200], SATIRE_AT))
        reasons.extend(hype.reasons)
        treatments = treat.names if rel.relevant else []
        if rel.relevant:
            reasons.extend(treat.reasons)
        # Every label carries at least one reason, even when it is the absence of cues.
        present = {r.dimension for r in reasons}
        for dimension, label, why in (
            ("relevant", "false", "no hair-loss terms"),
            ("evidence_stage", ev.stage, "no study described"),
            ("commercial_interest", com.label, "no offer, price, company or promotional language"),
            ("hype", hype.label, "no strong claims"),
        ):
            if dimension not in present:
                reasons.append(Reason(dimension, label, why, "", 0.0))
        return Score(
            relevant=rel.relevant,
            evidence_stage=ev.stage,
            commercial_interest=com.label,
            hype=hype.label,
            hype_score=hype.score,
            treatments=treatments,
            reasons=reasons,
            scoring_version=self.version,
            claim_strength=claim.label,
        )


_DEFAULT = Scorer()
SCORING_VERSION: str = _DEFAULT.version


def score_item(item: dict) -> Score:
    """Score one item: {"title", "text", "url"?, "publisher"?} -> Score."""
    return _DEFAULT.score(item)
