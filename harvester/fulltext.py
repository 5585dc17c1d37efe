"""Article text from an already-fetched web page (trafilatura), for items whose feed text is too short."""

from __future__ import annotations

import codecs
import logging
import re
from urllib.parse import urlsplit

import trafilatura

from harvester.parse import Entry
from harvester.sanitize import plain_text

__all__ = ["MAX_HTML_BYTES", "MIN_ARTICLE_CHARS", "decode_html", "extract_text", "needs_fulltext"]

log = logging.getLogger(__name__)

#: Pages beyond this are not articles (or are hostile); parsing them would stall the run.
MAX_HTML_BYTES = 8 * 2**20
#: Less than this is a menu or a "Home" link that survived, not an article worth scoring.
MIN_ARTICLE_CHARS = 40

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NOT_HTML = ((b"%PDF", "a PDF file"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"PK\x03\x04", "a ZIP file"))


def needs_fulltext(entry: Entry, min_chars: int = 600) -> bool:
    """True when the feed gave too little text to score and there is a web page to read instead."""
    if len(entry.text or entry.summary or "") >= min_chars or not entry.url:
        return False
    try:
        return urlsplit(entry.url).scheme.lower() in {"http", "https"}
    except ValueError:
        return False


def extract_text(html: bytes, url: str, *, content_type: str | None = None) -> tuple[str | None, str]:
    """Main text of an article page as ``(text, status)``; never raises.

    Status is "ok", "empty" (a page without an article: a paywall, a consent wall, an
    index) or "error: <reason>", so the pipeline can store why an item has no full text.
    ``content_type`` is the response's Content-Type header, whose charset beats a guess.
    Comments are left out and precision is favoured: a reader comment or a "related
    stories" box scored as the article's claim does more harm than a shorter text.
    """
    try:
        if not html or not html.strip():
            return None, "empty"
        if len(html) > MAX_HTML_BYTES:
            return None, f"error: page too large ({len(html)} bytes, limit {MAX_HTML_BYTES})"
        for magic, what in _NOT_HTML:
            if html.startswith(magic):
                return None, f"error: not an HTML page ({what})"
        document = decode_html(html, content_type)
        extracted = trafilatura.extract(
            document,
            url=url,
            include_comments=False,
            include_tables=False,
            include_images=False,
            include_links=False,
            favor_precision=True,
            deduplicate=False,
            with_metadata=False,
            output_format="txt",
        )
    except Exception as exc:  # the one boundary: trafilatura and lxml on untrusted pages
        log.warning("fulltext extraction failed url=%s error=%r", url, exc)
        return None, f"error: {type(exc).__name__}: {exc}"[:300]
    text = plain_text(extracted, is_html=False) if extracted else ""
    if len(text) < MIN_ARTICLE_CHARS:
        return None, "empty"
    return text, "ok"


def decode_html(html: bytes, content_type: str | None = None) -> str:
    """Bytes to text the way browsers do: BOM, then HTTP charset, then ``<meta charset>``, then UTF-8.

    trafilatura alone ignores the page's declared charset and guesses, which garbles
    windows-1252 pages whose bytes happen to look like another code page.
    """
    for bom, encoding in _BOMS:
        if html.startswith(bom):
            return html.decode(encoding, errors="replace")
    declared: list[str] = []
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        declared.append(m.group(1))
    if m := _META_CHARSET.search(html[:4096]):
        declared.append(m.group(1).decode("ascii", errors="ignore"))
    for name in declared:
        try:
            encoding = codecs.lookup(name).name
        except LookupError:
            continue
        if encoding in {"latin-1", "iso8859-1", "ascii"}:
            encoding = "cp1252"  # what browsers do: the labels mean windows-1252 on the web
        try:
            return html.decode(encoding)
        except UnicodeDecodeError:
            continue
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        return html.decode("cp1252", errors="replace")
