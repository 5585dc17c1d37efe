"""Table cells: labels as badges, treatments and titles as links into the site, URLs and identifiers as safe links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from datasette import hookimpl
from markupsafe import Markup

from hypewatch.site import DATABASE
from hypewatch.site.labels import BADGE_COLUMNS, OPTIONAL_BADGE_COLUMNS, badge, reasons_by_dimension
from hypewatch.site.markup import (doi_url, external_link, item_path, json_list, nct_url, pmid_url, row_path,
                                   safe_url, treatment_feed_path, treatment_filter_path)


def _get(row, key: str) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if database != DATABASE:
        return None
    if column in BADGE_COLUMNS:
        if column == "relevant" and value is None:
            return badge("relevant", None)
        if column in OPTIONAL_BADGE_COLUMNS and value in (None, ""):
            return Markup('<span class="hw-muted">—</span>')
        return badge(BADGE_COLUMNS[column], value)
    if column == "title" and table == "studies" and _get(row, "id") is not None:
        return Markup('<a class="hw-title" href="{}">{}</a>').format(
            row_path(datasette, "studies", _get(row, "id")), value if value not in (None, "") else "(untitled study)")
    if column == "study" and table is None and _get(row, "study_id") is not None:
        return Markup('<a href="{}">{}</a>').format(
            row_path(datasette, "studies", _get(row, "study_id")), value if value not in (None, "") else "(untitled study)")
    if column == "item_id" and table in ("citations", "study_items") and value is not None:
        return Markup('<a href="{}">{}</a>').format(item_path(datasette, value), value)
    if column == "study_id" and value is not None and table in (None, "items", "study_items"):
        return Markup('<a href="{}">{}</a>').format(row_path(datasette, "studies", value), value)
    if column == "treatments" and isinstance(value, str) and value.startswith("["):
        names = [str(t) for t in json_list(value)]
        if not names:
            return Markup('<span class="hw-muted">—</span>')
        return Markup(" ").join(
            Markup('<a class="hw-chip" href="{}">{}</a>').format(treatment_filter_path(datasette, n), n)
            for n in names)
    if column == "treatment" and isinstance(value, str) and table is None:
        return Markup('<a class="hw-chip" href="{}">{}</a> <a class="hw-feed" href="{}" title="Atom feed">feed</a>').format(
            treatment_filter_path(datasette, value), value, treatment_feed_path(datasette, value))
    if column in ("title", "latest_item") and (table in (None, "items")):
        item_id = _get(row, "id") if column == "title" else _get(row, "latest_item_id")
        if item_id is not None and (table == "items" or column == "latest_item" or _get(row, "evidence_stage") is not None
                                    or _get(row, "hype") is not None):
            return Markup('<a class="hw-title" href="{}">{}</a>').format(
                item_path(datasette, item_id), value if value not in (None, "") else "(untitled)")
        return None
    if column in ("url", "canonical_url", "sample_server", "config_url", "atom_link"):
        if value is None:
            return None
        good = safe_url(value)
        if good is None:
            return Markup('<span class="hw-unsafe-url" title="not an http(s) link">{}</span>').format(value)
        host = urlsplit(good).netloc
        return Markup('<a href="{}" rel="nofollow noopener noreferrer" title="{}">{}</a>').format(good, good, host)
    if column == "doi" and doi_url(value):
        return external_link(doi_url(value), value)
    if column == "pmid" and pmid_url(value):
        return external_link(pmid_url(value), value)
    if column == "nct_ids" and isinstance(value, str):
        ids = [n for n in json_list(value) if nct_url(n)]
        return Markup(" ").join(external_link(nct_url(n), n) for n in ids)
    if column == "reasons" and table == "citations":  # a verdict's reasons: plain sentences
        sentences = [str(r) for r in json_list(value) if r not in (None, "")]
        return Markup(" ").join(Markup("<span>{}</span>").format(r) for r in sentences) if sentences else None
    if column == "flags" and table == "citations" and isinstance(value, str):
        codes = [str(c) for c in json_list(value)]
        return Markup(" ").join(badge("citation_check", c) for c in codes) if codes else Markup('<span class="hw-muted">—</span>')
    if column == "reasons" and isinstance(value, str) and value.startswith("["):
        groups = reasons_by_dimension(value)
        if not groups:
            return Markup('<span class="hw-muted">none</span>')
        return Markup(", ").join(
            Markup("{} ({})").format(g["name"], len(g["reasons"])) for g in groups)
    if column == "last_status" and table in (None, "sources", "fetches") or column == "status" and table == "fetches":
        if value in ("ok", "not_modified", "unchanged", "failed"):
            kind = "bad" if value == "failed" else "good"
            return Markup('<span class="hw-status hw-status-{}">{}</span>').format(kind, value.replace("_", " "))
    return None
