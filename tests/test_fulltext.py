"""needs_fulltext and extract_text on fetched pages: the article, not the boilerplate; never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest

import harvester.fulltext as fulltext
from harvester.fulltext import decode_html, extract_text, needs_fulltext
from harvester.parse import Entry

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://sciencewire.example.com/health/bald-mice"


def entry(text: str = "short teaser", url: str | None = "https://ex.org/a") -> Entry:
    return Entry(
        guid=None, url=url, title="t", author=None, published=None, updated=None,
        summary_html=None, summary=text, text=text,
    )


def test_needs_fulltext():
    assert needs_fulltext(entry())
    assert not needs_fulltext(entry("x" * 600))
    assert needs_fulltext(entry("x" * 599))
    assert not needs_fulltext(entry("x" * 100), min_chars=50)
    assert not needs_fulltext(entry(url=None))
    assert not needs_fulltext(entry(url="ftp://ex.org/a"))


def test_extracts_the_article_and_not_the_boilerplate():
    text, status = extract_text((PAGES / "article.html").read_bytes(), URL)
    assert status == "ok"
    assert "woke up dormant hair follicles in bald mice" in text
    assert "has not been tested in humans" in text
    assert "licensed the patent" in text
    for boilerplate in (
        "Accept all cookies", "Subscribe to our newsletter", "Related stories", "miracle serum",
        "onion juice", "All rights reserved", "Advertise with us", "dataLayer", "Search stories",
    ):
        assert boilerplate not in text, boilerplate


def test_charset_declared_in_meta_is_honoured():
    paragraph = (
        "<p>Dr. Jos\u00e9 Pe\u00f1a said the \u201cresults\u201d were preliminary: hair counts rose by 12% "
        "in the treated group of volunteers over six months of daily use.</p>"
    )
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        f"<title>x</title></head><body><article><h1>Caf\u00e9 study</h1>{paragraph}</article></body></html>"
    ).encode("cp1252")
    text, status = extract_text(page, URL)
    assert status == "ok"
    assert "Jos\u00e9 Pe\u00f1a" in text and "\u201cresults\u201d" in text


def test_decode_html_order_bom_header_meta_utf8():
    assert decode_html("caf\u00e9".encode("utf-16")) == "caf\u00e9"
    assert decode_html("caf\u00e9".encode("cp1252"), "text/html; charset=windows-1252") == "caf\u00e9"
    assert decode_html(b'<meta charset="iso-8859-1">\xe9') == '<meta charset="iso-8859-1">\u00e9'
    assert decode_html("caf\u00e9".encode("utf-8")) == "caf\u00e9"
    assert decode_html(b"caf\xe9") == "caf\u00e9"  # not UTF-8: windows-1252, as browsers guess
    assert decode_html(b'<meta charset="no-such-codec">ok') == '<meta charset="no-such-codec">ok'


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "empty"),
        (b"\x00\xff\xfe garbage" * 10, "empty"),
        (b"%PDF-1.7\n%binary", "error: not an HTML page (a PDF file)"),
    ],
)
def test_pages_without_an_article(body, status):
    assert extract_text(body, URL) == (None, status)


def test_oversized_page_is_refused(monkeypatch):
    monkeypatch.setattr(fulltext, "MAX_HTML_BYTES", 100)
    text, status = extract_text(b"<html>" + b"x" * 200 + b"</html>", URL)
    assert text is None and status.startswith("error: page too large")


def test_never_raises(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("lxml exploded")

    monkeypatch.setattr(fulltext.trafilatura, "extract", explode)
    text, status = extract_text((PAGES / "article.html").read_bytes(), URL)
    assert text is None
    assert status == "error: RuntimeError: lxml exploded"
