"""The scorer's output types: Score (labels, hype score, treatments) and Reason (the cue behind a label)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import labels as _labels

__all__ = [
    "Reason",
    "Score",
    "EVIDENCE_STAGES",
    "COMMERCIAL_LEVELS",
    "HYPE_LEVELS",
    "CLAIM_STRENGTHS",
    "PUBLISHERS",
]

# Ordered from weakest to strongest: the codes of the one label vocabulary (labels.toml).
EVIDENCE_STAGES = _labels.codes("evidence_stage")
COMMERCIAL_LEVELS = _labels.codes("commercial_interest")
HYPE_LEVELS = _labels.codes("hype")
#: Yu et al. 2019's scale of causal language.
CLAIM_STRENGTHS = _labels.codes("claim_strength")
PUBLISHERS = _labels.publishers()


_set_attr = object.__setattr__


@dataclass(frozen=True)
class Reason:
    """One cue that supported a label: where it was found and how much it counted."""

    dimension: str  # relevant | evidence_stage | commercial_interest | claim_strength | hype | treatments
    label: str  # the label value the cue speaks for (e.g. "animal", "direct", "high", "minoxidil")
    cue: str  # the matched words, lower case
    snippet: str  # the sentence it was found in, trimmed to ~200 characters
    weight: float  # its contribution (negative when it argues against the label)

    def __init__(self, dimension: str, label: str, cue: str, snippet: str, weight: float) -> None:
        # The generated frozen __init__ sets each field through object.__setattr__; one
        # instance dict set at once is ~40% cheaper, and every item builds ~20 reasons.
        _set_attr(self, "__dict__", {"dimension": dimension, "label": label, "cue": cue, "snippet": snippet, "weight": weight})

    def to_dict(self) -> dict:
        return {
            "dimension": self.dimension,
            "label": self.label,
            "cue": self.cue,
            "snippet": self.snippet,
            "weight": round(float(self.weight), 2),
        }


@dataclass
class Score:
    relevant: bool
    evidence_stage: str
    commercial_interest: str
    hype: str
    hype_score: int
    treatments: list[str]
    reasons: list[Reason] = field(default_factory=list)
    scoring_version: str = ""
    claim_strength: str = "no_claim"

    def to_dict(self) -> dict:
        """The score-jsonl object (one per input line), without "id"."""
        return {
            "relevant": self.relevant,
            "evidence_stage": self.evidence_stage,
            "commercial_interest": self.commercial_interest,
            "claim_strength": self.claim_strength,
            "hype": self.hype,
            "hype_score": int(self.hype_score),
            "treatments": list(self.treatments),
            "reasons": [r.to_dict() for r in self.reasons],
            "scoring_version": self.scoring_version,
        }
