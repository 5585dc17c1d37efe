"""Coverage gaps: a telling's evidence stage and claim strength set beside its paper's, with a plain reason (pure)."""

from __future__ import annotations

from scoring import labels

from .studywords import settings

__all__ = ["telling_gap"]

ROLE_WORDS = {
    "press": "The release", "news": "The story", "blog": "The blog post", "clinic": "The clinic page",
    "company": "The company's text", "forum": "The forum post", "journal": "The journal item",
    "preprint": "The preprint", "registry": "The trial record",
}


def _lower(name: str) -> str:
    """A label name inside a sentence: "Human RCT" -> "human RCT", "Animal study" -> "animal study"."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def _a(name: str) -> str:
    return ("an " if name[:1].lower() in "aeiou" else "a ") + f"'{name}'"


def _rank(dim: str, code: str | None) -> int | None:
    codes = labels.codes(dim)
    return codes.index(code) if code in codes else None


def telling_gap(role: str | None, t_stage_code: str | None, t_claim_code: str | None, hype: str | None,
                stage: str | None, claim: str | None, *, paper_source: str = "abstract") -> tuple[str, str]:
    """The coverage_gap code of a telling against its paper's stage and claim, with a plain reason.

    A telling with no study presented (stage ``none``) or no stage at all is never "stronger"
    in stage; a paper whose stage is unknown or ``none`` (not judged a study) gives ``unknown``.
    """
    who = ROLE_WORDS.get(role or "", "The telling")
    paper = "the paper's abstract" if paper_source == "abstract" else "the paper's record"
    p_stage = _rank("evidence_stage", stage)
    p_claim = _rank("claim_strength", claim)
    if p_stage is None or p_claim is None or stage == "none":
        missing = "evidence stage" if (p_stage is None or stage == "none") else "claim strength"
        return "unknown", f"The paper's {missing} is not known, so {who.lower()} cannot be set beside it."
    t_stage = _rank("evidence_stage", t_stage_code)
    t_claim = _rank("claim_strength", t_claim_code)
    stronger_stage = t_stage is not None and t_stage_code != "none" and t_stage > p_stage
    stronger_claim = t_claim is not None and t_claim > p_claim
    preclinical = stage in settings().preclinical
    stage_name = _lower(labels.name("evidence_stage", stage))
    t_stage_name = _lower(labels.name("evidence_stage", t_stage_code))
    claim_name = _lower(labels.name("claim_strength", claim))
    t_claim_name = _lower(labels.name("claim_strength", t_claim_code))
    if stronger_stage and stronger_claim:
        return "stage_claim", (f"{who} presents {_a(t_stage_name)} with {_a(t_claim_name)} where {paper} is "
                               f"{_a(stage_name)} with {_a(claim_name)}.")
    if preclinical and hype == "high":
        return "stage_claim", f"{who} is highly hyped about {_a(stage_name)} ({paper} makes {_a(claim_name)})."
    if preclinical and stronger_claim and t_claim_code == "direct_causal":
        return "stage_claim", (f"{who} makes {_a(t_claim_name)} from {_a(stage_name)} where {paper} "
                               f"makes {_a(claim_name)}.")
    if stronger_stage:
        return "stage", f"{who} presents {_a(t_stage_name)} where {paper} is {_a(stage_name)}."
    if stronger_claim:
        return "claim", f"{who} says '{t_claim_name}' where {paper} makes {_a(claim_name)}."
    if t_claim is None and t_stage is None:
        return "unknown", f"{who} has not been labelled yet, so it cannot be set beside {paper}."
    return "none", (f"{who} claims no more than {paper}: {_a(claim_name)} from {_a(stage_name)}.")
