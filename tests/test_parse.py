"""parse_feed on every feed format we harvest, odd encodings and dates, hostile HTML and non-feeds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harvester.parse import Entry, FeedParseError, ParsedFeed, parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"
URL = "https://feeds.example.org/x/feed"
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def parse(name: str, headers: dict[str, str] | None = None, url: str = URL) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=url, headers=headers or {})


def by_title(feed: ParsedFeed, start: str) -> Entry:
    return next(e for e in feed.entries if e.title.startswith(start))


def assert_well_formed(feed: ParsedFeed) -> None:
    """What every step after parsing relies on, whatever the format."""
    for entry in feed.entries:
        assert isinstance(entry.title, str) and entry.title == entry.title.strip()
        assert "<" not in entry.title or "< " in entry.title
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
        for value in (entry.published, entry.updated):
            assert value is None or ISO_UTC.match(value)
        assert isinstance(entry.summary, str) and isinstance(entry.text, str)
        assert len(entry.text) >= len(entry.summary) or entry.summary_html is not None


# --- formats -------------------------------------------------------------------------------


def test_pubmed_search_rss_with_identifiers():
    feed = parse("pubmed_search.rss", {"content-type": "application/rss+xml; charset=utf-8"})
    assert_well_formed(feed)
    assert feed.title == "alopecia[tiab] AND (minoxidil OR finasteride) - PubMed"
    assert feed.warning is None
    assert len(feed.entries) == 3
    first = feed.entries[0]
    assert first.title.startswith("Low-dose oral minoxidil versus topical minoxidil 5%")
    assert first.guid == "pubmed:38690001"
    assert first.url.startswith("https://pubmed.ncbi.nlm.nih.gov/38690001/")
    assert first.published == "2024-04-30T10:00:00Z"  # Tue, 30 Apr 2024 06:00:00 -0400
    assert first.author == "Penha MA, Miot HA, Kasprzak M"
    assert (first.doi, first.pmid) == ("10.1001/jamadermatol.2024.0284", "38690001")
    assert first.nct_ids == ["NCT05123456"]  # written lower-case in the abstract
    assert "IMPORTANCE: Oral minoxidil" in first.summary
    assert "<img" not in first.summary_html and "<table" not in first.summary_html
    second = feed.entries[1]
    assert (second.doi, second.pmid) == ("10.1111/jdv.19876", "38689876")
    third = feed.entries[2]
    assert third.doi is None and third.pmid == "38688555"
    assert third.nct_ids == ["NCT03570749", "NCT03899259"]


def test_atom_journal_toc_resolves_xml_base_and_converts_offsets():
    feed = parse("jid_toc.atom", {"content-type": "application/atom+xml"})
    assert_well_formed(feed)
    assert feed.link == "https://www.jidonline.org/current"
    wnt = feed.entries[0]
    assert wnt.title == "Dermal papilla cell WNT10B signalling drives anagen re-entry in aged murine skin"
    assert wnt.url == "https://www.jidonline.org/article/S0022-202X(24)00123-4/fulltext"
    assert wnt.published == "2024-05-02T06:30:00Z"  # 23:30 at -07:00
    assert wnt.updated == "2024-05-02T07:00:00Z"  # 08:00 at +01:00
    assert wnt.author == "Li X, Chen Y"
    assert wnt.doi == "10.1016/j.jid.2024.03.012"
    assert 'href="https://www.jidonline.org/article/S0022-202X(24)00123-4/pdf"' in wnt.summary_html
    ffa = feed.entries[1]
    assert ffa.title == "Frontal fibrosing alopecia & leave-on facial products: a case-control study"
    assert ffa.summary == "Case-control study of 402 women: no association with sunscreen use after adjustment."
    assert "<strong>no association</strong>" in ffa.summary_html
    assert ffa.published == ffa.updated == "2024-04-30T12:00:00Z"  # only <updated>: used for both
    erratum = feed.entries[2]
    assert erratum.summary == "" and erratum.summary_html is None and erratum.text == ""


def test_rss10_rdf_biorxiv_cdata_and_whitespace_in_links():
    feed = parse("biorxiv.rdf", {"content-type": "application/rdf+xml"})
    assert_well_formed(feed)
    assert feed.title == "bioRxiv Subject Collection: Cell Biology"
    atlas, ceria = feed.entries
    assert atlas.title == (
        "Single-cell atlas of human balding scalp reveals androgen-responsive fibroblast states"
    )
    assert atlas.url == "http://biorxiv.org/cgi/content/short/2024.04.28.591234v1?rss=1"
    assert ceria.url == "http://biorxiv.org/cgi/content/short/2024.04.27.590987v2?rss=1"
    assert atlas.published == "2024-04-30T00:00:00Z"  # bare dc:date
    assert atlas.author == "Okafor, C., Lindqvist, H., Tanaka, R."
    assert atlas.doi == "10.1101/2024.04.28.591234"
    assert ceria.doi == "10.1101/2024.04.27.590987"
    assert atlas.summary.startswith("Androgenetic alopecia affects up to 80% of men.")


def test_json_feed():
    feed = parse("hairblog.json", {"content-type": "application/feed+json"})
    assert_well_formed(feed)
    assert feed.title == "Follicle Notes"
    assert feed.link == "https://follicle-notes.example.org/"
    pp405, note, broken = feed.entries
    assert pp405.title == "PP405 phase 2a: what the press release didn't say"
    assert pp405.guid == "https://follicle-notes.example.org/2024/05/pp405-phase-2/"
    assert pp405.published == "2024-05-03T06:30:00Z" and pp405.updated == "2024-05-03T08:00:00Z"
    assert pp405.author == "Dana Whitfield"  # inherited from the feed
    assert pp405.summary == "PP405's phase 2a results, read carefully."
    assert "78 participants" in pp405.text and "track()" not in pp405.text
    assert pp405.nct_ids == ["NCT06393452"]
    # numeric id, relative url, no title, content_text only
    assert note.guid == "20240501"
    assert note.url == "https://follicle-notes.example.org/2024/05/microneedling-note/"
    assert note.title.startswith("Quick note: a split-scalp study")
    assert note.author == "Guest: Sam Ortiz"
    assert note.doi == "10.1111/jocd.16234"
    assert broken.published is None


def test_json_feed_detected_without_content_type_and_1_0_version():
    body = (
        b'\xef\xbb\xbf  {"version": "http://jsonfeed.org/version/1", "title": "t", "items": '
        b'[{"id": "1", "url": "https://ex.org/1", "content_html": "<p>Hi</p>", "date_published": "2024-01-02T03:04:05"}]}'
    )
    feed = parse_feed(body, url=URL, headers={"content-type": "text/plain"})
    assert feed.entries[0].text == "Hi"
    assert feed.entries[0].published == "2024-01-02T03:04:05Z"  # no offset: taken as UTC


def test_wordpress_rss2_prefers_content_encoded_for_text():
    feed = parse("wordpress.rss", {"content-type": "application/rss+xml; charset=UTF-8"})
    assert_well_formed(feed)
    post = feed.entries[0]
    assert post.title == "Why \u201cregrow hair in weeks\u201d headlines keep getting mouse studies wrong"
    assert post.author == "Dr. Priya Raman"
    assert post.guid == "https://hairlossscience.example.com/?p=4821"
    assert "Mice are not men" in post.text and "Mice are not men" not in post.summary
    assert len(post.text) > len(post.summary)
    assert "Was there a control group?" in post.text.splitlines()
    assert post.doi == "10.1038/s41586-023-06420-1"  # only in an href of content:encoded
    assert post.published == "2024-05-03T14:00:00Z"


def test_reddit_atom_forum_feed():
    feed = parse("tressless.atom", {"content-type": "application/atom+xml; charset=UTF-8"})
    assert_well_formed(feed)
    post, kx = feed.entries
    assert post.title == "Month 6 dutasteride update & crown progress"
    assert post.guid == "t3_1cj8x2q"  # not turned into a URL
    assert post.author == "/u/follicle_frank"
    assert post.url == "https://www.reddit.com/r/tressless/comments/1cj8x2q/month_6_dutasteride/"
    assert post.text.startswith("Month 6 on dutasteride 0.5mg + topical minox.")
    assert "SC_OFF" not in post.text
    assert kx.nct_ids == ["NCT05325593"]


def test_rss_091_and_atom_03():
    old = parse("rss091.xml")
    assert old.entries[0].title == "Annual meeting: scalp biopsies in female pattern hair loss"
    assert old.entries[0].guid is None and old.entries[0].published is None
    atom03 = parse("atom03.xml")
    entry = atom03.entries[0]
    assert entry.url == "http://oldderm.example.org/2005/03/keto.html"
    assert entry.published == "2005-03-01T14:00:00Z"
    assert entry.updated == "2005-03-02T10:00:00Z"


# --- encodings -------------------------------------------------------------------------------


def test_windows_1252_declared_in_xml():
    entry = parse("cp1252.rss").entries[0]
    assert entry.title == "\u201cMiracle\u201d caffeine shampoo? Not so fast \u2014 M\u00fcller et al. respond"
    assert "\u00b11.5 \u00b5m \u2026" in entry.summary and "Jos\u00e9 Pe\u00f1a" in entry.summary


def test_utf16_with_bom():
    feed = parse("utf16.rss")
    assert feed.title == "\u8131\u6bdb\u75c7\u7814\u7a76\u30cb\u30e5\u30fc\u30b9"
    entry = feed.entries[0]
    assert entry.title == "\u5186\u5f62\u8131\u6bdb\u75c7\u306bJAK\u963b\u5bb3\u85ac: Stra\u00dfe-Studie"
    assert entry.published == "2024-05-02T00:00:00Z"  # 09:00 +0900
    assert entry.nct_ids == ["NCT04006457"]


def test_latin1_body_mislabelled_utf8_by_the_server_still_reads_with_a_warning():
    feed = parse("latin1_mislabelled.rss", {"content-type": "application/rss+xml; charset=utf-8"})
    assert feed.entries[0].title == "Gr\u00fcner Tee und Haarausfall: M\u00fcnchner Studie"
    assert feed.warning and "CharacterEncodingOverride" in feed.warning


def test_undeclared_html_entities_and_cdata():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>E</title><item>'
        b"<title>Caf&eacute; &amp; scalp &mdash; &#8220;study&#8221;</title>"
        b"<description><![CDATA[<p>A &lt; B &amp;&amp; C</p>]]></description>"
        b"<link>https://ex.org/e</link></item></channel></rss>"
    )
    feed = parse_feed(body, url=URL, headers={})
    entry = feed.entries[0]
    assert entry.title == "Caf\u00e9 & scalp \u2014 \u201cstudy\u201d"
    assert entry.summary == "A < B && C"
    assert feed.warning  # the undefined entity is reported, not hidden


# --- dates -----------------------------------------------------------------------------------


def test_rfc822_dates_in_odd_timezones_become_utc():
    feed = parse("dates_odd.rss")
    expected = {
        "EDT zone": "2021-07-20T23:00:03Z",
        "One-digit day, EST": "2025-11-05T18:52:10Z",
        "India offset": "2024-05-02T03:45:00Z",
        "Crosses the date line": "2022-01-01T11:30:00Z",
        "GMT without weekday": "2024-03-01T00:00:00Z",
        "ISO in RSS": "2024-02-29T22:59:59Z",
    }
    assert {e.title: e.published for e in feed.entries} == expected


def test_missing_garbage_and_absurd_dates_become_none():
    feed = parse("dates_bad.rss")
    dates = {e.title: e.published for e in feed.entries}
    for title in ("No date at all", "Garbage date", "Zero date", "Epoch zero", "Far future placeholder"):
        assert dates[title] is None, title
    assert dates["Only dc:date"] == "2023-11-05T16:00:00Z"


def test_non_url_guid_does_not_become_a_fake_link():
    entry = by_title(parse("dates_bad.rss"), "Relative guid")
    assert entry.guid == "7"
    assert entry.url is None


def test_relative_links_resolve_against_the_fetched_url():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title><item><title>t</title>'
        b"<link>\n  /news/2024/item-1.html \n</link><description>&lt;a href=\"../p\"&gt;p&lt;/a&gt;</description>"
        b"</item></channel></rss>"
    )
    entry = parse_feed(body, url="https://www.ex.org/feeds/rss.xml", headers={}).entries[0]
    assert entry.url == "https://www.ex.org/news/2024/item-1.html"
    assert 'href="https://www.ex.org/p"' in entry.summary_html


# --- hostile content -----------------------------------------------------------------------------


def test_sanitises_scripts_handlers_and_dangerous_links():
    feed = parse("hostile.rss", {"content-type": "application/rss+xml"})
    assert feed.title == "Miracle Hair Cures"
    assert feed.link is None  # javascript: channel link
    miracle, data_item = feed.entries
    assert miracle.title == "Regrow hair in 7 days! Guaranteed"
    assert miracle.url is None and data_item.url is None  # javascript: and data: item links dropped
    html = miracle.summary_html
    for bad in ("<script", "onerror", "onclick", "javascript:", "data:", "<iframe", "<style", "<form", "<input", "<img"):
        assert bad not in html.lower(), bad
    assert 'href="https://feeds.example.org/order?utm_source=rss"' in html
    assert 'href="mailto:sales@miracle.example"' in html
    assert html.count('rel="nofollow noopener"') == html.count("<a ")
    for text in (miracle.summary, miracle.text, miracle.title):
        assert "alert" not in text and "document.cookie" not in text and "display:none" not in text
    assert "Our serum works." in miracle.summary


def test_hostile_json_feed_content_is_sanitised():
    pp405 = parse("hairblog.json").entries[0]
    assert "track()" not in pp405.text
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "x", "url": "javascript:alert(1)",'
        b' "content_html": "<img src=x onerror=alert(1)><p>ok</p><a href=\\"javascript:evil()\\">e</a>"}]}'
    )
    entry = parse_feed(body, url=URL, headers={}).entries[0]
    assert entry.url is None
    assert "onerror" not in entry.summary_html and "javascript" not in entry.summary_html
    assert entry.text == "ok\ne"


# --- not a feed / empty ------------------------------------------------------------------------


def test_html_page_is_not_a_feed_and_says_where_the_feed_is():
    with pytest.raises(FeedParseError) as err:
        parse("not_a_feed.html", {"content-type": "text/html; charset=utf-8"})
    message = str(err.value)
    assert message.startswith(URL + ": not a feed (got an HTML page")
    assert "check the URL points at the RSS/Atom feed" in message
    assert "https://feeds.example.org/news/feed.xml" in message


def test_html_page_detected_even_when_served_as_xml():
    with pytest.raises(FeedParseError, match="got an HTML page"):
        parse("not_a_feed.html", {"content-type": "application/xml"})


@pytest.mark.parametrize("body", [b"", b"   \r\n\t "])
def test_empty_body_is_an_error(body):
    with pytest.raises(FeedParseError, match="empty response body"):
        parse_feed(body, url=URL, headers={"content-type": "application/rss+xml"})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"\x00\x01\x02garbage\xff\xfe", "not a feed"),
        (b"Service temporarily unavailable", "not a feed"),
        (b'<?xml version="1.0"?><opml version="2.0"><body/></opml>', "root is <opml>"),
        (b'{"esearchresult": {"count": "3"}}', "not a JSON Feed"),
        (b"{not json", "invalid JSON"),
        (b"[1, 2, 3]", "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {"a": 1}}', "not a JSON Feed"),
    ],
)
def test_things_that_are_not_feeds(body, expected):
    with pytest.raises(FeedParseError, match=re.escape(expected)) as err:
        parse_feed(body, url=URL, headers={})
    assert str(err.value).startswith(URL + ": ")


def test_valid_feed_with_zero_items_is_not_an_error():
    feed = parse("empty_channel.rss", {"content-type": "application/rss+xml"})
    assert feed.entries == []
    assert feed.warning == "feed is valid but has no entries"
    assert feed.title == "scalp micropigmentation[tiab] AND trial - PubMed"
    json_feed = parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "title": "j", "items": []}', url=URL, headers={})
    assert json_feed.entries == [] and json_feed.warning == "feed is valid but has no entries"


def test_truncated_feed_with_a_title_but_no_entries_warns_about_the_breakage():
    feed = parse("truncated.rss")
    assert feed.entries == []
    assert feed.warning.startswith("feed has no entries and is not well-formed")


def test_broken_feed_with_nothing_readable_is_an_error():
    with pytest.raises(FeedParseError, match="broken rss20 feed, nothing could be read"):
        parse_feed(b'<?xml version="1.0"?>\n<rss version="2.0"><channel><link>https://ex', url=URL, headers={})


def test_ill_formed_feed_with_entries_returns_them_with_a_warning():
    body = (
        b'<rss version="2.0"><channel><title>Phys</title><item><title>Plants & Animals</title>'
        b"<link>https://phys.example.org/1</link></item></channel></rss>"
    )
    feed = parse_feed(body, url=URL, headers={"content-type": "text/xml"})
    assert [e.title for e in feed.entries] == ["Plants & Animals"]
    assert "SAXParseException" in feed.warning


def test_unexpected_crash_inside_a_parser_becomes_feed_parse_error(monkeypatch):
    import harvester.parse as parse_module

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module.feedparser, "parse", explode)
    with pytest.raises(FeedParseError, match="RuntimeError: boom") as err:
        parse_feed(b"<rss/>", url=URL, headers={})
    assert isinstance(err.value.__cause__, RuntimeError)


def test_every_fixture_feed_parses_or_fails_cleanly():
    for path in sorted(FEEDS.iterdir()):
        try:
            feed = parse_feed(path.read_bytes(), url=URL, headers={})
        except FeedParseError:
            assert path.name in {"not_a_feed.html"}, path.name
        else:
            assert_well_formed(feed)


def test_deeply_nested_html_takes_the_linear_path_and_stays_safe():
    """html5ever is quadratic on deep nesting; a hostile feed must not stall the harvest."""
    import time

    nested = "<div>" * 50_000 + "Hair <script>alert(1)</script><b onclick='x'>news</b>" + "</div>" * 50_000
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>D</title><item><title>deep</title>'
        f"<link>https://ex.org/deep</link><description><![CDATA[{nested}]]></description></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    entry = parse_feed(body, url=URL, headers={}).entries[0]
    assert time.perf_counter() - started < 5
    assert entry.summary == "Hair news"
    assert entry.summary_html == "<p>Hair news</p>"


def test_deep_json_fails_cleanly_and_utf16_json_reads():
    deep = b'{"version": "https://jsonfeed.org/version/1", "items": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    with pytest.raises(FeedParseError, match="invalid JSON"):
        parse_feed(deep, url=URL, headers={})
    utf16 = '{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "title": "Kopfhaut \u00fc"}]}'
    assert parse_feed(utf16.encode("utf-16"), url=URL, headers={}).entries[0].title == "Kopfhaut \u00fc"
