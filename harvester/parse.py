"""Feed bytes to normalised entries: RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed via our adapter."""

from __future__ import annotations

import calendar
import html
import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser

from db.store import iso
from harvester.entrycap import MAX_ENTRIES, capped, cut_entries, join_warnings
from harvester.identifiers import find_identifiers
from harvester.sanitize import clean_html, html_to_text, plain_text, safe_url

__all__ = ["Entry", "FeedParseError", "ParsedFeed", "parse_feed"]

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 500
_EARLIEST_YEAR = 1990
_FUTURE_SLACK = timedelta(days=2)
# feedparser flags these even for perfectly readable feeds: not worth a warning...
_BENIGN_BOZO = ("NonXMLContentType",)
# ...and these still mean the document was read, so an empty result is a genuinely empty feed.
_READABLE_BOZO = (*_BENIGN_BOZO, "CharacterEncodingOverride")
_FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
_ROOT_ELEMENT = re.compile(r"<([A-Za-z_][\w:.-]*)")
_MARKUP = re.compile(r"<[A-Za-z/!]")


@dataclass
class Entry:
    """One item of a feed, normalised so later steps never see format differences.

    Dates are UTC "YYYY-MM-DDTHH:MM:SSZ" or None (missing, unparseable, before 1990 or in the
    future). ``published`` falls back to ``updated`` because RSS 1.0 (dc:date) and many Atom
    feeds give only one date, and an undated item cannot go into a digest.
    """

    guid: str | None
    url: str | None
    title: str
    author: str | None
    published: str | None
    updated: str | None
    summary_html: str | None
    summary: str
    text: str
    doi: str | None = None
    pmid: str | None = None
    nct_ids: list[str] = field(default_factory=list)
    # Structured facts from APIs (publication types, trial status and phase):
    # metadata beats words when the scorer has it.
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedFeed:
    """A feed's own title and link plus its entries; ``warning`` keeps a recoverable problem visible."""

    title: str | None
    link: str | None
    entries: list[Entry]
    warning: str | None = None


class FeedParseError(Exception):
    """The body could not be read as a feed; the message names the URL, the problem and the fix."""


def parse_feed(body: bytes, *, url: str, headers: dict[str, str], max_entries: int = MAX_ENTRIES) -> ParsedFeed:
    """Parse a fetched feed body into entries, or raise FeedParseError saying why not.

    ``url`` is the URL the body came from (after redirects): relative links resolve against
    it and every error message starts with it. ``headers`` are the response headers; their
    Content-Type charset takes part in decoding, as it would for a browser.

    Nothing and a valid empty feed are different answers, on purpose:

    * not a feed at all (an empty body, an HTML page, garbage, JSON that is not a JSON Feed,
      XML that is not RSS/Atom) raises FeedParseError, and so does a recognisable feed that is
      too broken to yield a single entry, because a source that silently yields nothing looks
      healthy while it is dead;
    * a well-formed feed with zero items is a normal state (a new search feed, a quiet
      journal), so it returns ``entries=[]`` with the warning "feed is valid but has no entries".

    When a broken feed still yields entries, they are returned with feedparser's complaint in
    ``warning``. Any unexpected failure inside the parsers becomes a FeedParseError too, so the
    caller has exactly one exception to record on the source.

    At most twice ``max_entries`` entries are read (a longer document is cut before feedparser
    sees it: it would hold every entry in memory), and the newest ``max_entries`` are kept;
    ``warning`` says how many there were.
    """
    try:
        return _parse(body, url=url, headers=headers, max_entries=max(1, max_entries))
    except FeedParseError:
        raise
    except Exception as exc:  # the one boundary: third-party parsers on untrusted bytes
        log.warning("parse crashed url=%s error=%r", url, exc)
        log.debug("parse crash traceback url=%s", url, exc_info=True)
        raise FeedParseError(
            f"{url}: could not parse the feed ({type(exc).__name__}: {exc}); "
            "the file is probably corrupt, check it in a feed validator"
        ) from exc


def _parse(body: bytes, *, url: str, headers: dict[str, str], max_entries: int) -> ParsedFeed:
    lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    content_type = lowered.get("content-type", "").lower()
    if not body or not body.strip():
        raise FeedParseError(f"{url}: empty response body (the server sent no feed; check the URL)")
    if _looks_like_json(body, content_type):
        return capped(_parse_json_feed(body, url=url, read=2 * max_entries), max_entries)
    body, total = cut_entries(body, 2 * max_entries)
    parsed = capped(_parse_xml_feed(body, url=url, lowered=lowered, content_type=content_type), max_entries)
    if total is not None:
        parsed.warning = join_warnings(
            f"the feed has about {total:,} entries; only the first {2 * max_entries:,} were read", parsed.warning)
    return parsed


def _parse_xml_feed(body: bytes, *, url: str, lowered: dict[str, str], content_type: str) -> ParsedFeed:
    # No Content-Location on purpose: given a base URI, feedparser also "resolves" guids and
    # Atom ids, turning the guid "t3_abc" into "https://site/feed/t3_abc", a fake URL that
    # would then pass for a global id. We resolve links against ``url`` ourselves instead.
    # Its sanitiser is off too: nh3 does that, faster and with our own allow-list.
    lowered.pop("content-location", None)
    parsed = feedparser.parse(
        body,
        response_headers=lowered,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    version = parsed.get("version") or ""
    raw_entries = parsed.get("entries") or []
    bozo_exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    feed_meta = parsed.get("feed") or {}

    if not version:
        raise FeedParseError(_not_a_feed_message(body, url, content_type, feed_meta, bozo_exc))
    broken = bozo_exc is not None and type(bozo_exc).__name__ not in _READABLE_BOZO
    if not raw_entries and broken and not feed_meta.get("title"):
        raise FeedParseError(
            f"{url}: broken {version} feed, nothing could be read ({_describe(bozo_exc)}); "
            "the feed is truncated or not well-formed, check it in a feed validator"
        )

    entries = []
    for raw in raw_entries:
        entry = _entry_from_feedparser(raw, url)
        if entry is not None:
            entries.append(entry)
    warning = None
    if bozo_exc is not None and type(bozo_exc).__name__ not in _BENIGN_BOZO:
        warning = _describe(bozo_exc)
    if not entries:
        if raw_entries:
            warning = f"none of the feed's {len(raw_entries)} entries had a title, text, link or id"
        elif broken:
            warning = f"feed has no entries and is not well-formed ({warning})"
        else:
            warning = "feed is valid but has no entries"
    log.debug("parsed url=%s version=%s entries=%d warning=%s", url, version, len(entries), warning)
    return ParsedFeed(
        title=plain_text(feed_meta.get("title"), single_line=True)[:MAX_TITLE_CHARS] or None,
        link=safe_url(feed_meta.get("link"), url),
        entries=entries,
        warning=warning,
    )


# --- RSS / Atom (feedparser) -------------------------------------------------------------

# dict.get on feedparser's dicts: FeedParserDict.get goes through a key-alias table and special
# cases ("guid" -> "id", "description" -> "summary", "updated" -> "published") that none of the
# keys read here has, so the answer is the same, for a twentieth of the cost (~25 reads an item).
_get = dict.get


def _entry_from_feedparser(raw: Any, base: str) -> Entry | None:
    guid = _clean(_get(raw, "id"))
    url = _entry_link(raw, guid, base)

    summary_raw = _get(raw, "summary")
    summary_detail = _get(raw, "summary_detail") or {}
    summary_is_html = _is_html_type(_get(summary_detail, "type"), summary_raw)
    summary_base = _join(base, _get(summary_detail, "base"))
    summary_html: str | None = None
    summary = ""
    if summary_raw:
        source_html = summary_raw if summary_is_html else html.escape(summary_raw)
        summary_html = clean_html(source_html, summary_base) or None
        summary = plain_text(summary_raw, is_html=summary_is_html)

    text = summary
    content_raw: list[str] = []
    for content in _get(raw, "content") or []:
        value = _get(content, "value") or ""
        content_raw.append(value)
        is_html = _is_html_type(_get(content, "type"), value)
        candidate = plain_text(value, is_html=is_html)
        if len(candidate) > len(text):
            text = candidate

    title_detail = _get(raw, "title_detail") or {}
    title = plain_text(
        _get(raw, "title"), is_html=True if "html" in (_get(title_detail, "type") or "") else None, single_line=True
    )
    title = _fallback_title(title, text)
    if not (title or text or url or guid):
        return None  # an empty <item/>: nothing to show or identify

    # dict.get, not FeedParserDict.get: the latter silently maps published <-> updated (with a
    # DeprecationWarning), and we want to know which date the feed actually gave.
    published = _struct_date(dict.get(raw, "published_parsed")) or _struct_date(dict.get(raw, "created_parsed"))
    updated = _struct_date(dict.get(raw, "updated_parsed"))

    link_hrefs = [_get(link, "href") or "" for link in _get(raw, "links") or [] if isinstance(link, dict)]
    structured = [
        _clean(_get(raw, key))
        for key in ("dc_identifier", "prism_doi", "prism_url", "dc_source", "dc_relation")
    ]
    # Raw HTML rather than its text: identifiers often sit only in an href ("read the paper").
    doi, pmid, ncts = find_identifiers(guid, url, *link_hrefs, *structured, title, summary_raw, *content_raw)
    return Entry(
        guid=guid,
        url=url,
        title=title,
        author=_feedparser_author(raw),
        published=published or updated,
        updated=updated,
        summary_html=summary_html,
        summary=summary,
        text=text,
        doi=doi,
        pmid=pmid,
        nct_ids=ncts,
    )


def _entry_link(raw: Any, guid: str | None, base: str) -> str | None:
    """The entry's web page, never a URL invented from a non-URL guid.

    feedparser turns an RSS ``<guid>`` without isPermaLink="false" into the link, resolving
    "12345" to "https://site/feed/12345", a page that does not exist.
    """
    for link in _get(raw, "links") or []:
        if isinstance(link, dict) and _get(link, "rel", "alternate") == "alternate":
            if found := safe_url(_get(link, "href"), base):
                return found
    link = _get(raw, "link")
    if _get(raw, "guidislink") and not safe_url(guid):
        return None
    return safe_url(link, base)


def _feedparser_author(raw: Any) -> str | None:
    names = []
    for author in _get(raw, "authors") or []:
        if isinstance(author, dict):
            name = plain_text(_get(author, "name") or _get(author, "email"), single_line=True)
            if name and name not in names:
                names.append(name)
    if not names:
        detail = _get(raw, "author_detail") or {}
        name = plain_text(_get(detail, "name") or _get(raw, "author"), single_line=True)
        if name:
            names.append(name)
    joined = ", ".join(names)
    return joined[:MAX_TITLE_CHARS] or None


def _struct_date(value: Any) -> str | None:
    """feedparser's *_parsed tuples are UTC: timegm, never mktime (which assumes local time)."""
    if not value:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(tuple(value)[:9]), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None
    return _iso_utc(moment)


# --- JSON Feed ----------------------------------------------------------------------------


def _looks_like_json(body: bytes, content_type: str) -> bool:
    try:
        head = body[:64].decode(json.detect_encoding(body[:64]), errors="ignore").lstrip("\ufeff \t\r\n")
    except (LookupError, ValueError):
        return False
    if head.startswith(("{", "[")):
        return True
    return "json" in content_type and not head.startswith("<")


def _parse_json_feed(body: bytes, *, url: str, read: int) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org), which feedparser 6 cannot read, in the same Entry shape."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedParseError(f"{url}: not a feed (invalid JSON: {exc}); check the URL points at a JSON Feed") from exc
    version = doc.get("version") if isinstance(doc, dict) else None
    items = doc.get("items") if isinstance(doc, dict) else None
    if not isinstance(items, list) or (version is not None and "jsonfeed.org" not in str(version)):
        raise FeedParseError(
            f"{url}: not a feed (got JSON that is not a JSON Feed: no jsonfeed.org 'version' "
            "with an 'items' list); API sources need their own kind in sources.toml"
        )
    base = safe_url(_clean(doc.get("feed_url")), url) or url
    feed_authors = _json_authors(doc)
    entries = []
    skipped = 0
    for item in items[:read]:
        entry = _entry_from_json(item, base, feed_authors) if isinstance(item, dict) else None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    warning = None
    if not items:
        warning = "feed is valid but has no entries"
    elif skipped:
        warning = f"{skipped} JSON Feed item(s) were not objects or had no content and were skipped"
    if len(items) > read:
        warning = join_warnings(f"the feed has {len(items):,} entries; only the first {read:,} were read", warning)
    return ParsedFeed(
        title=plain_text(_clean(doc.get("title")), single_line=True)[:MAX_TITLE_CHARS] or None,
        link=safe_url(_clean(doc.get("home_page_url")), url),
        entries=entries,
        warning=warning,
    )


def _entry_from_json(item: dict[str, Any], base: str, feed_authors: str | None) -> Entry | None:
    guid = _clean(item.get("id"))
    url = safe_url(_clean(item.get("url")), base) or safe_url(_clean(item.get("external_url")), base)
    content_html = _clean_raw(item.get("content_html"))
    content_text = _clean_raw(item.get("content_text"))
    summary_raw = _clean_raw(item.get("summary"))

    summary = plain_text(summary_raw) if summary_raw else ""
    summary_html: str | None = None
    if summary_raw:
        summary_html = clean_html(html.escape(summary), base) or None
    elif content_html:
        summary_html = clean_html(content_html, base) or None
    elif content_text:
        summary_html = clean_html(html.escape(content_text), base) or None
    candidates = [summary, html_to_text(content_html), plain_text(content_text, is_html=False)]
    text = max(candidates, key=len)
    if not summary:
        summary = text

    title = _fallback_title(plain_text(_clean(item.get("title")), single_line=True), text)
    if not (title or text or url or guid):
        return None
    published = _json_date(item.get("date_published"))
    updated = _json_date(item.get("date_modified"))
    doi, pmid, ncts = find_identifiers(
        guid, url, _clean(item.get("external_url")), title, summary, text, content_html or ""
    )
    return Entry(
        guid=guid,
        url=url,
        title=title,
        author=_json_authors(item) or feed_authors,
        published=published or updated,
        updated=updated,
        summary_html=summary_html,
        summary=summary,
        text=text,
        doi=doi,
        pmid=pmid,
        nct_ids=ncts,
    )


def _json_authors(obj: dict[str, Any]) -> str | None:
    """JSON Feed 1.1 has ``authors``; 1.0 had ``author``; 1.1 feeds often carry both."""
    people = obj.get("authors")
    if not isinstance(people, list) or not people:
        people = [obj.get("author")]
    names = []
    for person in people:
        name = person.get("name") if isinstance(person, dict) else None
        text = plain_text(name, single_line=True) if isinstance(name, str) else ""
        if text and text not in names:
            names.append(text)
    return ", ".join(names)[:MAX_TITLE_CHARS] or None


def _json_date(value: Any) -> str | None:
    """RFC 3339 per the JSON Feed spec; a date without an offset is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return _iso_utc(moment.astimezone(UTC))
    except (OverflowError, ValueError):
        return None


# --- shared helpers -------------------------------------------------------------------------


def _iso_utc(moment: datetime) -> str | None:
    """Dates before 1990 or in the future are feed bugs (epoch zero, year 2099 placeholders)."""
    now = datetime.fromtimestamp(time.time(), tz=UTC)
    if moment.year < _EARLIEST_YEAR or moment > now + _FUTURE_SLACK:
        return None
    return iso(moment)


def _fallback_title(title: str, text: str) -> str:
    """Untitled posts (microblogs, some forums) get their opening words, so lists stay readable."""
    title = title[:MAX_TITLE_CHARS]
    if title or not text:
        return title
    first_line = text.split("\n", 1)[0].strip()
    if len(first_line) <= 100:
        return first_line
    return first_line[:100].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"


def _join(base: str, relative: str | None) -> str:
    """xml:base values may themselves be relative to the document URL."""
    if not relative:
        return base
    try:
        return urljoin(base, relative)
    except ValueError:
        return base


def _is_html_type(mime: str | None, value: str | None) -> bool:
    if mime and "html" in mime:
        return True
    if mime == "text/plain":
        return False
    return bool(value and _MARKUP.search(value))


def _clean(value: Any) -> str | None:
    """A stripped string, or None for missing, blank or non-scalar values."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _clean_raw(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip() or 'no details'}"


def _not_a_feed_message(
    body: bytes, url: str, content_type: str, feed_meta: Any, bozo_exc: BaseException | None
) -> str:
    if "html" in content_type and "xml" not in content_type or _HTML_START.match(body[:4096]):
        advertised = [
            found
            for link in (feed_meta.get("links") or [])
            if isinstance(link, dict)
            and link.get("type") in _FEED_LINK_TYPES
            and (found := safe_url(link.get("href"), url))
        ]
        hint = f"; the page advertises a feed at {advertised[0]}" if advertised else ""
        return (
            f"{url}: not a feed (got an HTML page; check the URL points at the RSS/Atom feed, "
            f"not the site{hint})"
        )
    head = body[:2048].decode("utf-8", errors="ignore")
    head = re.sub(r"<\?.*?\?>|<!--.*?-->|<!\w[^>]*>", "", head, flags=re.DOTALL)
    root = _ROOT_ELEMENT.search(head) if head.lstrip().startswith("<") else None
    if root:
        return (
            f"{url}: not a feed (got an XML document whose root is <{root.group(1)}>, "
            "not RSS, RDF or Atom; check the URL points at the feed)"
        )
    reason = f": {_describe(bozo_exc)}" if bozo_exc is not None else ""
    return f"{url}: not a feed (could not read it as RSS, Atom or JSON Feed{reason}; check the URL)"
