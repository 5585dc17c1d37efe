"""The pages: home-page data, template variables and the `hw` helpers, the stylesheet, /-/labels, /-/license, /-/source."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response

from hypewatch.site import DATABASE, site_config
from hypewatch.site.charts import stages_over_time_svg
from hypewatch.site.data import cached_summary, demo_note, fetch_rows
from hypewatch.site.labels import (BADGE_COLUMNS, CITATION_FLAGS, CLAIM_ORDER, COMMERCIAL_ORDER, DIMENSION_NAMES,
                                   EVIDENCE_ORDER, HYPE_ORDER, LABELS, OUTRUNNING_GAPS, badge, label, reason_label,
                                   reasons_by_dimension)
from hypewatch.site.markup import (doi_url, external_link, highlight, item_path, json_list, nct_url, pmid_url,
                                   safe_url, treatment_feed_path, treatment_filter_path)
from hypewatch.site.pagedata import item_citations, study_details


class Helpers:
    """The `hw` object templates use: hw.badge(...), hw.highlight(...), hw.safe_url(...)."""

    EVIDENCE_ORDER = EVIDENCE_ORDER
    COMMERCIAL_ORDER = COMMERCIAL_ORDER
    CLAIM_ORDER = CLAIM_ORDER
    HYPE_ORDER = HYPE_ORDER
    CITATION_FLAGS = CITATION_FLAGS
    OUTRUNNING_GAPS = OUTRUNNING_GAPS
    LABELS = LABELS
    DIMENSION_NAMES = DIMENSION_NAMES

    def __init__(self, datasette):
        self.datasette = datasette

    label = staticmethod(label)
    badge = staticmethod(badge)
    safe_url = staticmethod(safe_url)
    external_link = staticmethod(external_link)
    doi_url = staticmethod(doi_url)
    pmid_url = staticmethod(pmid_url)
    nct_url = staticmethod(nct_url)
    json_list = staticmethod(json_list)
    highlight = staticmethod(highlight)
    reasons_by_dimension = staticmethod(reasons_by_dimension)
    reason_label = staticmethod(reason_label)

    @staticmethod
    def vocabulary(dimension: str):
        """A dimension's labels (code, name, short, heading, colour, meaning), weakest first."""
        from scoring import labels as vocabulary

        return vocabulary.dimension(dimension).labels

    @staticmethod
    def meaning(dimension: str, code: Any) -> str:
        """What a label code means (labels.toml), for a badge's explanation; "" when unknown."""
        from scoring import labels as vocabulary

        found = vocabulary.dimension(dimension).get(str(code)) if code not in (None, "") else None
        return found.meaning if found else ""

    def item_path(self, item_id: Any) -> str:
        return item_path(self.datasette, item_id)

    def row_path(self, table: str, pk: Any) -> str:
        from datasette.utils import tilde_encode

        return self.datasette.urls.row(DATABASE, table, tilde_encode(str(pk)))

    def treatment_filter_path(self, treatment: str) -> str:
        return treatment_filter_path(self.datasette, treatment)

    def treatment_feed_path(self, treatment: str) -> str:
        return treatment_feed_path(self.datasette, treatment)

    def facet_label(self, column: str, value: Any) -> str:
        if column in BADGE_COLUMNS:
            return label(BADGE_COLUMNS[column], value)
        return "-" if value is None or value == "" else str(value)


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.path("/static/hypewatch.css")]


@hookimpl
def prepare_jinja2_environment(env, datasette):
    env.globals["hw"] = Helpers(datasette)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    async def home_vars():
        home = await cached_summary(datasette, "home", home_data)
        return {"hw_home": home, "hw_demo": home["demo"]}

    async def common_vars():
        return {"hw_demo": await demo_note(datasette)}

    async def item_vars():
        pk = row_pk(request)
        db = datasette.get_database(DATABASE)
        rows = await fetch_rows(db, "select study_id from items where id = :id", {"id": pk}, limit_ms=1000)
        study_id = rows[0]["study_id"] if rows else None
        return {"hw_demo": await demo_note(datasette), "hw_checked": await item_citations(db, pk, study_id)}

    async def study_vars():
        pk = row_pk(request)
        db = datasette.get_database(DATABASE)
        rows = await fetch_rows(db, "select * from studies where id = :id", {"id": pk}, limit_ms=1000)
        details = await study_details(db, rows[0]) if rows else None
        return {"hw_demo": await demo_note(datasette), "hw_study": details}

    if view_name == "index":
        return home_vars
    if view_name == "row" and database == DATABASE and request is not None and table in ("items", "studies"):
        return item_vars if table == "items" else study_vars
    return common_vars


def row_pk(request) -> str | None:
    """The primary key of the row a row page shows (its URL's tilde-encoded component)."""
    from datasette.utils import urlsafe_components

    try:
        parts = urlsafe_components(request.url_vars["pks"])
    except (KeyError, TypeError, ValueError):
        return None
    return parts[0] if len(parts) == 1 else None


def pipeline_sql(datasette) -> str | None:
    """The treatment_pipeline canned query from metadata.yaml: one definition for the query and the home page."""
    try:
        return datasette.metadata(database=DATABASE)["queries"]["treatment_pipeline"]["sql"]
    except (KeyError, TypeError):
        return None


async def home_data(datasette) -> dict[str, Any]:
    db = datasette.get_database(DATABASE)
    data: dict[str, Any] = {"demo": await demo_note(datasette)}
    counts = await fetch_rows(db, """
        select count(*) as items,
               sum(relevant = 1) as relevant,
               sum(evidence_stage in ('human_rct', 'meta_analysis') and relevant is not 0) as human_evidence,
               sum(hype = 'high' and relevant is not 0) as high_hype,
               max(published) as newest
        from items""", limit_ms=3000)  # all from the covering index items_site_summary (m006)
    data["counts"] = counts[0] if counts else None
    sources = await fetch_rows(db, """
        select count(*) as sources, sum(enabled) as enabled, sum(error_count > 0) as failing
        from sources""", limit_ms=1000)
    data["sources"] = sources[0] if sources else None
    data["sql_time_limit_ms"] = datasette.setting("sql_time_limit_ms")
    sql = pipeline_sql(datasette)
    data["pipeline"] = await fetch_rows(db, f"select * from ({sql}) limit 12", limit_ms=3000) if sql else None
    data["latest"] = await fetch_rows(db, """
        select id, title, source, publisher, coalesce(published, first_seen_at) as published,
               evidence_stage, commercial_interest, hype
        from items where relevant is not 0
        order by items.published desc limit 8""", limit_ms=1000)  # items.published: the index, not the alias
    data["stage_chart"] = await stages_over_time_svg(db, months=18)
    return data


async def labels_page(datasette, request):
    return Response.html(await datasette.render_template(
        "hypewatch_labels.html", {"hw_demo": await demo_note(datasette)}, request=request))


async def license_page(datasette, request):
    """The MIT licence of hypewatch's code and published data (the repository's LICENSE file)."""
    path = datasette.config_dir and (datasette.config_dir / ".." / ".." / "LICENSE")
    text = path.read_text() if path and path.is_file() else "MIT License (see the LICENSE file of hypewatch)."
    return Response.text(text)


async def source_page(datasette, request):
    """Where the code lives: the configured repository URL, else this page saying how to get it."""
    url = safe_url(site_config(datasette).get("source_url"))
    if url:
        return Response.redirect(url)
    return Response.html(await datasette.render_template(
        "hypewatch_source.html", {"hw_demo": await demo_note(datasette)}, request=request))


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/labels$", labels_page),
        (r"^/-/license$", license_page),
        (r"^/-/source$", source_page),
    ]

