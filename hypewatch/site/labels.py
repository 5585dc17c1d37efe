"""The label vocabulary as the site shows it: codes in order, display names, short names, chart colours and badges."""

from __future__ import annotations

import re
from typing import Any

from datasette import hookimpl
from markupsafe import Markup

from hypewatch.site.markup import json_list
from scoring import labels as vocabulary

# Everything below is read from the one label vocabulary (scoring/labels.toml).
_VOCABULARY = vocabulary.vocabulary()
EVIDENCE_ORDER = vocabulary.codes("evidence_stage")
COMMERCIAL_ORDER = vocabulary.codes("commercial_interest")
CLAIM_ORDER = vocabulary.codes("claim_strength")
HYPE_ORDER = vocabulary.codes("hype")
CITATION_ORDER = vocabulary.codes("citation_check")
GAP_ORDER = vocabulary.codes("coverage_gap")
#: The citation verdicts a reader is warned about (docs/citations.md): feeds, canned queries and the digest.
CITATION_FLAGS = ("not_found", "mismatch", "off_topic", "retracted")
#: The coverage gaps where a telling outruns its paper.
OUTRUNNING_GAPS = ("stage", "claim", "stage_claim")
# SQLite stores relevance as 1/0; Python code may hold True/False or "true"/"false".
_RELEVANT_KEYS = {"true": (1, "1", True, "true"), "false": (0, "0", False, "false")}


def _keys(dim: str, code: str) -> tuple:
    return _RELEVANT_KEYS.get(code, (code,)) if dim == "relevant" else (code,)


LABELS: dict[str, dict[Any, str]] = {
    dim: {key: lab.name for lab in d.labels for key in _keys(dim, lab.code)}
    for dim, d in _VOCABULARY.items() if d.labels
}
SHORT_LABELS: dict[str, dict[Any, str]] = {
    dim: {key: lab.short for lab in d.labels for key in _keys(dim, lab.code) if lab.short != lab.name}
    for dim, d in _VOCABULARY.items() if d.labels
}
DIMENSION_NAMES = {dim: d.name for dim, d in _VOCABULARY.items()}
COLORS = {dim: {lab.code: lab.colour for lab in d.labels} for dim, d in _VOCABULARY.items()
          if d.labels and dim != "relevant"}
#: Columns (also in canned queries) whose values are label codes shown as badges.
BADGE_COLUMNS = {
    "evidence_stage": "evidence_stage",
    "strongest_evidence_stage": "evidence_stage",
    "claim_strength": "claim_strength",
    "commercial_interest": "commercial_interest",
    "hype": "hype",
    "relevant": "relevant",
    # citations and studies (m011): an item's worst citation verdict and its telling's gap, a citation's
    # verdict, a study's worst gap and design, a retraction notice (its codes are citation_check codes)
    "citation_check": "citation_check",
    "verdict": "citation_check",
    "retraction": "citation_check",
    "coverage_gap": "coverage_gap",
    "worst_gap": "coverage_gap",
    "gap": "coverage_gap",
    "design": "evidence_stage",
    "paper_design": "evidence_stage",
    "paper_claim_strength": "claim_strength",
}
#: Label columns where NULL means "nothing to judge" (an item citing nothing, in no study), not "not scored yet".
OPTIONAL_BADGE_COLUMNS = frozenset({"citation_check", "verdict", "retraction", "coverage_gap", "worst_gap", "gap",
                                    "design", "paper_design", "paper_claim_strength"})


def label(dimension: str, value: Any) -> str:
    """Readable name of a label code ("human_rct" -> "Human RCT"); "Not scored" for NULL."""
    if value is None or value == "":
        return "Not scored"
    return LABELS.get(dimension, {}).get(value, str(value))


def badge(dimension: str, value: Any, short: bool = False) -> Markup:
    """A coloured badge for one label; the CSS class carries the colour (badge_css, served at /-/labels.css)."""
    text = label(dimension, value)
    if short and value is not None:
        text = SHORT_LABELS.get(dimension, {}).get(value, text)
    code = "unscored" if value is None or value == "" else str(value)
    css = _css_class(dimension, code)
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
    if dim in ("evidence_stage", "claim_strength", "commercial_interest", "hype", "relevant", "citation_check",
               "coverage_gap"):
        return badge(dim, value)
    return Markup('<span class="hw-chip">{}</span>').format("" if value is None else value)


def _sql_label(dimension, value):
    return label(dimension, value)


@hookimpl
def prepare_connection(conn, database, datasette):
    """SQL: hw_label(dimension, code) is the display name, for canned queries and the SQL endpoint."""
    conn.create_function("hw_label", 2, _sql_label, deterministic=True)


def _css_class(dimension: str, key: Any) -> str:
    return re.sub(r"[^a-z0-9_-]", "", f"{dimension}-{key}".lower().replace("_", "-"))


def badge_css() -> str:
    """The badges' colours, one rule per label code, from the vocabulary's badge colours."""
    rules = []
    for dim, d in _VOCABULARY.items():
        for lab in d.labels:
            key = {"true": "1", "false": "0"}.get(lab.code, lab.code) if dim == "relevant" else lab.code
            background, text = lab.badge
            rules.append(f".hw-{_css_class(dim, key)} {{ background: {background}; color: {text}; }}")
    return "\n".join(rules) + "\n"


async def labels_css(request, datasette):
    from datasette.utils.asgi import Response

    return Response(badge_css(), content_type="text/css; charset=utf-8",
                    headers={"cache-control": "public, max-age=3600"})


@hookimpl
def register_routes(datasette):
    return [(r"^/-/labels\.css$", labels_css)]


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/-/labels.css")]
