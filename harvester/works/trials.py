"""ClinicalTrials.gov v2 ``/api/v2/studies/{nct}`` answers to Work records (work_type "trial");
other registries' ids are recognised and left unqueried."""

from __future__ import annotations

import json
import logging

from harvester.apis.clinicaltrials import _trial_entry, _trial_text
from harvester.apis.fields import as_dict, unique

from .model import Work, split_key

__all__ = ["parse_study", "study_url", "unsupported"]

log = logging.getLogger(__name__)

_REGISTRIES = {"isrctn": "ISRCTN", "eudract": "EudraCT", "chictr": "ChiCTR", "actrn": "ANZCTR (ACTRN)"}


def study_url(base: str, nct: str) -> str:
    """The v2 study URL on ``base`` (…/api/v2)."""
    return f"{base.rstrip('/')}/studies/{nct}"


def parse_study(body: bytes, key: str) -> Work:
    """One study record as a Work: found with its trial facts, or error with one line why."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return _error(key, f"ClinicalTrials.gov sent unreadable JSON ({str(exc)[:80]}); will retry later")
    if not isinstance(data, dict) or not isinstance(data.get("protocolSection"), dict):
        return _error(key, "ClinicalTrials.gov answered without a study record (protocolSection); will retry later")
    entry = _trial_entry(data)
    if entry is None:
        return _error(key, "ClinicalTrials.gov's record has no valid NCT id")
    nct = entry.guid.rsplit("/", 1)[-1]
    _, asked = split_key(key)
    if asked and asked.upper() != nct:
        log.info("clinicaltrials answered %s for %s (an alias or merged record)", nct, asked)
    meta = entry.meta
    proto = as_dict(data.get("protocolSection"))
    start = meta.get("start_date")
    conditions = list(meta.get("conditions", []))
    ct_keywords = [k for k in as_dict(proto.get("conditionsModule")).get("keywords") or [] if isinstance(k, str)]
    return Work(
        key=key,
        service="clinicaltrials",
        state="found",
        nct=nct,
        title=entry.title,
        authors=[],
        year=int(start[:4]) if start else None,
        published=start[:10] if start else None,
        work_type="trial",
        abstract=_trial_text(as_dict(proto.get("descriptionModule")).get("briefSummary")) or None,
        keywords=unique([*conditions, *(" ".join(k.split()) for k in ct_keywords)]),
        trial={
            "phase": meta.get("trial_phase"),
            "status": meta.get("trial_status"),
            "enrollment": meta.get("enrollment"),
            "has_results": bool(meta.get("has_results")),
            "conditions": conditions,
            "interventions": list(meta.get("interventions", [])),
            "sponsor": meta.get("sponsor"),
            "sponsor_class": meta.get("sponsor_class"),
            "study_type": meta.get("study_type"),
            "allocation": meta.get("allocation") or _single_group(proto),
            "masking": meta.get("masking"),
            "result_pmids": list(meta.get("result_pmids", [])),
        },
        url=entry.url,
    )


def unsupported(key: str) -> Work:
    """A registry we do not query (ISRCTN, EudraCT, ChiCTR, ANZCTR): recognised, not looked up."""
    kind, _ = split_key(key)
    registry = _REGISTRIES.get(kind, kind or "this registry")
    return Work(key=key, service="none", state="unsupported",
                error=f"{registry} records are not looked up; only ClinicalTrials.gov (NCT) trials are")


def _single_group(proto: dict) -> str | None:
    """"single_group" when the record says one arm (allocation "NA", or the single-group model).

    The feed adapter leaves a single-arm study's allocation out (nothing to show on an item), but
    for a cited trial it is the design itself: one arm cited as "a randomized controlled trial" is
    a design mismatch the checker can only see if the record keeps it.
    """
    info = as_dict(as_dict(proto.get("designModule")).get("designInfo"))
    if str(info.get("allocation") or "").upper() == "NA" or str(info.get("interventionModel") or "").upper() == "SINGLE_GROUP":
        return "single_group"
    return None


def _error(key: str, message: str) -> Work:
    return Work(key=key, service="clinicaltrials", state="error", error=message)
