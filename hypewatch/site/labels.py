"""The label vocabulary as the site shows it: codes in order, display names, short names, chart colours and badges."""

from __future__ import annotations

import re
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from hypewatch.site.markup import json_list

EVIDENCE_ORDER = ("none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled", "human_rct", "meta_analysis")
COMMERCIAL_ORDER = ("none", "indirect", "direct")
CLAIM_ORDER = ("no_claim", "correlational", "conditional_causal", "direct_causal")
HYPE_ORDER = ("low", "medium", "high")

LABELS: dict[str, dict[Any, str]] = {
    "evidence_stage": {
        "none": "No study",
        "in_vitro": "Cells / in vitro",
        "animal": "Animal",
        "human_anecdote": "Human anecdote",
        "human_uncontrolled": "Human, uncontrolled",
        "human_rct": "Human RCT",
        "meta_analysis": "Meta-analysis",
    },
    "claim_strength": {
        "no_claim": "No claim",
        "correlational": "Correlational claim",
        "conditional_causal": "Conditional causal claim",
        "direct_causal": "Direct causal claim",
    },
    "commercial_interest": {
        "none": "No commercial interest",
        "indirect": "Indirect commercial interest",
        "direct": "Direct commercial interest",
    },
    "hype": {"low": "Low hype", "medium": "Medium hype", "high": "High hype"},
    "relevant": {1: "Hair loss", 0: "Off-topic", "1": "Hair loss", "0": "Off-topic", True: "Hair loss",
                 False: "Off-topic"},
}
SHORT_LABELS = {
    "claim_strength": {"no_claim": "None", "correlational": "Correlational", "conditional_causal": "Conditional",
                       "direct_causal": "Direct"},
    "commercial_interest": {"none": "None", "indirect": "Indirect", "direct": "Direct"},
    "hype": {"low": "Low", "medium": "Medium", "high": "High"},
}
DIMENSION_NAMES = {
    "relevant": "Relevance",
    "evidence_stage": "Evidence stage",
    "claim_strength": "Claim strength",
    "commercial_interest": "Commercial interest",
    "hype": "Hype",
    "treatments": "Treatments",
}
COLORS = {
    "evidence_stage": {
        "none": "#9aa0a6", "in_vitro": "#b39ddb", "animal": "#f6ad55", "human_anecdote": "#f48fb1",
        "human_uncontrolled": "#81c784", "human_rct": "#2e7d32", "meta_analysis": "#174e1c",
    },
    "claim_strength": {"no_claim": "#b0bec5", "correlational": "#80deea", "conditional_causal": "#26c6da",
                       "direct_causal": "#00838f"},
    "commercial_interest": {"none": "#b0bec5", "indirect": "#f9c74f", "direct": "#8e44ad"},
    "hype": {"low": "#4caf50", "medium": "#fb8c00", "high": "#d32f2f"},
}
#: Columns (also in canned queries) whose values are label codes shown as badges.
BADGE_COLUMNS = {
    "evidence_stage": "evidence_stage",
    "strongest_evidence_stage": "evidence_stage",
    "claim_strength": "claim_strength",
    "commercial_interest": "commercial_interest",
    "hype": "hype",
    "relevant": "relevant",
}


def label(dimension: str, value: Any) -> str:
    """Readable name of a label code ("human_rct" -> "Human RCT"); "Not scored" for NULL."""
    if value is None or value == "":
        return "Not scored"
    return LABELS.get(dimension, {}).get(value, str(value))


def badge(dimension: str, value: Any, short: bool = False) -> Markup:
    """A coloured badge for one label; the CSS class carries the colour (static/hypewatch.css)."""
    text = label(dimension, value)
    if short and value is not None:
        text = SHORT_LABELS.get(dimension, {}).get(value, text)
    code = "unscored" if value is None or value == "" else str(value)
    css = re.sub(r"[^a-z0-9_-]", "", f"{dimension}-{code}".lower().replace("_", "-"))
    title = f"{DIMENSION_NAMES.get(dimension, dimension)}: {label(dimension, value)}"
    return Markup('<span class="hw-badge hw-{}" title="{}">{}</span>').format(css, title, text)


def reasons_by_dimension(value: Any) -> list[dict[str, Any]]:
    """Reasons grouped by dimension in reading order: [{dimension, name, reasons: [...]}]."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for reason in json_list(value):
        if isinstance(reason, dict):
            groups.setdefault(str(reason.get("dimension") or "other"), []).append(reason)
    order = list(DIMENSION_NAMES) + sorted(d for d in groups if d not in DIMENSION_NAMES)
    return [{"dimension": d, "name": DIMENSION_NAMES.get(d, d), "reasons": groups[d]} for d in order if d in groups]


def reason_label(reason: dict[str, Any]) -> Markup:
    dim = str(reason.get("dimension") or "")
    value = reason.get("label")
    if dim in ("evidence_stage", "claim_strength", "commercial_interest", "hype", "relevant"):
        return badge(dim, value)
    return Markup('<span class="hw-chip">{}</span>').format("" if value is None else value)


def _sql_label(dimension, value):
    return label(dimension, value)


@hookimpl
def prepare_connection(conn, database, datasette):
    """SQL: hw_label(dimension, code) is the display name, for canned queries and the SQL endpoint."""
    conn.create_function("hw_label", 2, _sql_label, deterministic=True)
