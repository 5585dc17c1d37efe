"""The Atom feeds: hw_entry_html(), hw_citation_html() and hw_gap_html() for entries, and the .atom renderer (datasette-atom's columns, made safe and fast).

Feeds are canned queries returning datasette-atom's columns: atom_id, atom_title, atom_updated, and
optionally atom_content_html or atom_content, atom_link and atom_author_name/_uri/_email. The renderer
registered here for .atom writes them exactly as datasette-atom 0.9 does, honouring its setting
allow_unsafe_html_in_canned_queries, with three differences:

- no rows is a valid, empty feed (datasette-atom cannot date a feed without entries);
- every entry link is absolute http(s): a path on this site becomes its full URL, anything else the
  feed's own URL;
- entry HTML is cleaned with nh3 (ammonia, Rust) instead of bleach (html5lib, pure Python): the same
  tag and attribute allowlist, only http(s) and mailto links, ~75x faster. bleach takes ~60 ms per
  digest entry, seconds for digest.atom's 50 entries (bench/site.py).

Datasette keeps the last renderer registered for an extension, so this hook runs after
datasette-atom's (trylast); nothing of datasette-atom is replaced or patched.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import datasette_atom
from datasette import __version__ as datasette_version
from datasette import hookimpl
from datasette.utils.asgi import Response
from feedgen.feed import FeedGenerator
from markupsafe import Markup

from harvester.sanitize import FEED
from hypewatch.site.labels import label
from hypewatch.site.markup import json_list, safe_url

log = logging.getLogger(__name__)


# -- entries: hw_entry_html() (SQL, pure) -------------------------------------------------------------------


def entry_html(evidence_stage, commercial_interest, hype, treatments, summary, source, publisher, url,
               claim_strength=None) -> str:
    """The HTML body of one feed entry: labels, treatments, the summary as escaped text, the original link.

    SQL: hw_entry_html(evidence_stage, commercial_interest, hype, treatments, summary, source, publisher, url
    [, claim_strength]); the claim strength, last so that eight-argument calls keep working, is shown
    after the evidence stage when it is known.
    """
    labels = [Markup("<strong>{}</strong>").format(label("evidence_stage", evidence_stage))]
    if claim_strength not in (None, ""):
        labels.append(Markup("{}").format(label("claim_strength", claim_strength)))
    labels += [Markup("{}").format(label("commercial_interest", commercial_interest)),
               Markup("{}").format(label("hype", hype))]
    parts = [Markup("<p>{}</p>").format(Markup(" · ").join(labels))]
    names = [str(t) for t in json_list(treatments)]
    if names:
        parts.append(Markup("<p>Treatments: {}</p>").format(", ".join(names)))
    if summary:
        text = str(summary)
        parts.append(Markup("<p>{}</p>").format(text if len(text) <= 1200 else text[:1200] + "…"))
    origin = " · ".join(str(x) for x in (source, publisher) if x)
    good = safe_url(url)
    if good:
        parts.append(Markup('<p>{} <a href="{}">Read the original</a></p>').format(origin, good))
    elif origin:
        parts.append(Markup("<p>{}</p>").format(origin))
    return str(Markup("\n").join(parts))


def _first_reason(reasons: Any) -> str | None:
    found = [str(r) for r in json_list(reasons) if r not in (None, "")]
    return found[0] if found else None


def _work_line(title, journal, year) -> Markup | None:
    parts = [Markup("<em>{}</em>").format(title)] if title else []
    parts += [Markup("{}").format(x) for x in (journal, year) if x not in (None, "")]
    return Markup(", ").join(parts) if parts else None


def citation_entry_html(verdict, cited, context, reasons, work_title, work_journal, work_year, source, publisher,
                        url) -> str:
    """The HTML body of one citation-problem entry: the verdict, what was cited and where, every reason, the work.

    SQL: hw_citation_html(verdict, cited, context, reasons, work_title, work_journal, work_year, source, publisher,
    url); ``reasons`` is the citation's JSON array of sentences. Escaped text only.
    """
    parts = [Markup("<p><strong>{}</strong>: {}</p>").format(label("citation_check", verdict), cited or "")]
    if context:
        text = str(context)
        parts.append(Markup("<blockquote>{}</blockquote>").format(text if len(text) <= 600 else text[:600] + "…"))
    sentences = [str(r) for r in json_list(reasons) if r not in (None, "")]
    if sentences:
        parts.append(Markup("<ul>{}</ul>").format(Markup("").join(Markup("<li>{}</li>").format(r) for r in sentences)))
    work = _work_line(work_title, work_journal, work_year)
    if work:
        parts.append(Markup("<p>The cited work: {}</p>").format(work))
    parts.append(_origin(source, publisher, url))
    return str(Markup("\n").join(p for p in parts if p))


def gap_entry_html(gap, gap_reason, evidence_stage, claim_strength, hype, paper_title, paper_design,
                   paper_claim_strength, source, publisher, url) -> str:
    """The HTML body of one coverage-gap entry: the gap and its reason, the telling's labels beside the paper's.

    SQL: hw_gap_html(gap, gap_reason, evidence_stage, claim_strength, hype, paper_title, paper_design,
    paper_claim_strength, source, publisher, url). Escaped text only.
    """
    parts = [Markup("<p><strong>{}</strong>{}</p>").format(
        label("coverage_gap", gap), Markup(": {}").format(gap_reason) if gap_reason else "")]
    parts.append(Markup("<p>This telling: {} · {} · {}</p>").format(
        label("evidence_stage", evidence_stage), label("claim_strength", claim_strength), label("hype", hype)))
    paper = Markup("<p>The paper{}: {}{}</p>").format(
        Markup(", <em>{}</em>").format(paper_title) if paper_title else "", label("evidence_stage", paper_design),
        Markup(" · {}").format(label("claim_strength", paper_claim_strength)) if paper_claim_strength else "")
    parts.append(paper)
    parts.append(_origin(source, publisher, url))
    return str(Markup("\n").join(p for p in parts if p))


def _origin(source, publisher, url) -> Markup | None:
    origin = " · ".join(str(x) for x in (source, publisher) if x)
    good = safe_url(url)
    if good:
        return Markup('<p>{} <a href="{}">Read the original</a></p>').format(origin, good)
    return Markup("<p>{}</p>").format(origin) if origin else None


@hookimpl
def prepare_connection(conn, database, datasette):
    conn.create_function("hw_entry_html", 8, entry_html, deterministic=True)
    conn.create_function("hw_entry_html", 9, entry_html, deterministic=True)
    conn.create_function("hw_citation_html", 10, citation_entry_html, deterministic=True)
    conn.create_function("hw_gap_html", 11, gap_entry_html, deterministic=True)


# -- the .atom renderer -------------------------------------------------------------------------------------

ATOM_TAGS = FEED.tags


def nh3_atom_clean(html: Any) -> str:
    """datasette-atom's cleaning (its tag and attribute allowlist), done by nh3 with only http(s)/mailto links."""
    return FEED.clean(str(html or ""))


def _cleaner(datasette, database, query_name):
    """datasette-atom's rule: a canned query may be let off cleaning by allow_unsafe_html_in_canned_queries."""
    if query_name:
        allow = (datasette.plugin_config("datasette-atom") or {}).get("allow_unsafe_html_in_canned_queries")
        if allow is True or (isinstance(allow, dict) and query_name in (allow.get(database) or [])):
            return lambda html: html
    return nh3_atom_clean


def _feed_title(datasette, request, sql, table, database, query_name, data) -> str:
    title = request.args.get("_feed_title", sql)
    if table:
        title += "/" + table
    if data.get("human_description_en"):
        title += ": " + data["human_description_en"]
    if query_name:
        try:
            title = datasette.metadata(database=database)["queries"][query_name]["title"]
        except (KeyError, TypeError):
            pass
    return title


def _entry_link(datasette, request, link: Any) -> str:
    """The entry's link as an absolute http(s) URL: a site path made absolute, anything else the feed's URL."""
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//"):
        link = datasette.absolute_url(request, link)
    return safe_url(link) or request.url


def render_atom(datasette, request, sql, columns, rows, database, table, query_name, view_name, data):
    """The feed, as datasette-atom writes it, also when there are no rows; links http(s), HTML cleaned by nh3."""
    if not datasette_atom.REQUIRED_COLUMNS.issubset(columns):  # datasette-atom's own 400, naming the columns
        return datasette_atom.render_atom(datasette=datasette, request=request, sql=sql, columns=columns, rows=rows,
                                          database=database, table=table, query_name=query_name,
                                          view_name=view_name, data=data)
    fg = FeedGenerator()
    fg.generator(generator="Datasette", version=datasette_version, uri="https://github.com/simonw/datasette")
    fg.id(request.url)
    fg.link(href=request.url, rel="self")
    if rows:
        fg.updated(max(row["atom_updated"] for row in rows))
    else:  # an empty feed has no newest entry; "now" is when this (empty) answer was true
        fg.updated(datetime.now(timezone.utc).replace(microsecond=0))
    fg.title(_feed_title(datasette, request, sql, table, database, query_name, data))
    clean = _cleaner(datasette, database, query_name)
    for row in reversed(rows):
        entry = fg.add_entry()
        entry.id(str(row["atom_id"]))
        if "atom_content_html" in columns:
            entry.content(clean(row["atom_content_html"]), type="html")
        elif "atom_content" in columns:
            entry.content(row["atom_content"], type="text")
        entry.updated(row["atom_updated"])
        entry.title(str(row["atom_title"]))
        if "atom_link" in columns:
            entry.link(href=_entry_link(datasette, request, row["atom_link"]))
        if "atom_author_name" in columns and row["atom_author_name"]:
            author = {"name": row["atom_author_name"]}
            for key in ("uri", "email"):
                if f"atom_author_{key}" in columns and row[f"atom_author_{key}"]:
                    author[key] = row[f"atom_author_{key}"]
            entry.author(author)
    return Response(fg.atom_str(pretty=True), content_type="application/xml; charset=utf-8", status=200)


@hookimpl(trylast=True)
def register_output_renderer(datasette):
    """.atom, registered after datasette-atom's so that it is the one Datasette keeps."""
    return {"extension": "atom", "render": render_atom, "can_render": datasette_atom.can_render_atom}


@hookimpl
def startup(datasette):
    """Say so when another plugin's .atom renderer won (it would have to be registered trylast too)."""
    render = datasette.renderers.get("atom", (None, None))[0]
    if render is not render_atom:
        log.warning("another plugin renders .atom: feeds lose empty-feed handling, safe links and nh3 cleaning")
