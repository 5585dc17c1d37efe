"""Canonical URLs, stable item ids, content hashes and DOI/PMID/NCT extraction."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from harvester.identifiers import find_identifiers
from harvester.identity import canonical_url, content_hash, item_id
from harvester.parse import Entry, parse_feed

FEEDS = Path(__file__).parent / "fixtures" / "feeds"


def entry(**fields) -> Entry:
    base = dict(
        guid=None, url=None, title="Minoxidil study", author=None, published=None, updated=None,
        summary_html=None, summary="Summary", text="Summary",
    )
    return Entry(**{**base, **fields})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM/Path/To?b=2&a=1", "https://www.example.com/Path/To?b=2&a=1"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#comments", "https://example.com/a"),
        (
            "https://blog.example.com/p/?utm_source=rss&utm_medium=rss&utm_campaign=x&id=7",
            "https://blog.example.com/p/?id=7",
        ),
        ("https://ex.org/a?fbclid=IwAR3&gclid=abc&page=2&mc_cid=1&mc_eid=2", "https://ex.org/a?page=2"),
        ("https://ex.org/a?ref=hn&ref_src=twsrc&igshid=x&_hsenc=y&_hsmi=z&spm=a&cmpid=c", "https://ex.org/a"),
        ("https://ex.org/a?UTM_Source=x&q=hair+loss&empty=", "https://ex.org/a?q=hair+loss&empty="),
        ("https://ex.org/search?q=a%20b&utm_term=c", "https://ex.org/search?q=a%20b"),
        ("  https://ex.org/a\n", "https://ex.org/a"),
        ("http://dx.doi.org/10.1001/JAMADermatol.2024.0284", "https://doi.org/10.1001/jamadermatol.2024.0284"),
        ("https://doi.org/10.1016%2Fj.jid.2024.03.012", "https://doi.org/10.1016/j.jid.2024.03.012"),
        (
            "https://pubmed.ncbi.nlm.nih.gov/38690001/?utm_source=Other&utm_medium=rss&fc=2024&ff=2024&v=2.18.0",
            "https://pubmed.ncbi.nlm.nih.gov/38690001/",
        ),
        ("https://pubmed.ncbi.nlm.nih.gov/38690001", "https://pubmed.ncbi.nlm.nih.gov/38690001/"),
        ("https://pubmed.ncbi.nlm.nih.gov/?term=alopecia", "https://pubmed.ncbi.nlm.nih.gov/?term=alopecia"),
        ("http://biorxiv.org/cgi/content/short/2024.04.28.591234v1?rss=1", "http://biorxiv.org/cgi/content/short/2024.04.28.591234v1"),
        ("urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"),
        ("https://[2001:DB8::1]:443/x", "https://[2001:db8::1]/x"),
        ("https://ex.org:99999/bad-port", "https://ex.org:99999/bad-port"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent():
    for url in ("https://Ex.org:443/a?utm_source=x&b=1#f", "http://dx.doi.org/10.1/ABC", "https://ex.org"):
        once = canonical_url(url)
        assert canonical_url(once) == once


def test_item_id_is_16_hex_and_stable():
    e = entry(guid="https://blog.example.com/?p=4821", url="https://blog.example.com/post/")
    first = item_id("Blog", e)
    assert re.fullmatch(r"[0-9a-f]{16}", first)
    assert item_id("Blog", replace(e)) == first


def test_url_guids_are_global_and_ignore_tracking_parameters():
    a = entry(guid="https://ex.org/article/1?utm_source=feedA")
    b = entry(guid="HTTPS://EX.ORG/article/1?utm_source=feedB#top", title="Different title")
    assert item_id("Feed A", a) == item_id("Feed B", b)


def test_non_url_guids_are_scoped_by_source():
    a = entry(guid="12345")
    assert item_id("Blog one", a) != item_id("Blog two", a)
    assert item_id("Blog one", a) == item_id("Blog one", entry(guid="12345", title="edited"))


def test_globally_unique_guid_schemes_are_shared_across_sources():
    pubmed = entry(guid="pubmed:38690001")
    assert item_id("PubMed: minoxidil", pubmed) == item_id("PubMed: alopecia", pubmed)
    assert item_id("a", pubmed) == item_id("b", entry(guid="PMID:38690001"))
    tag = entry(guid="tag:blogger.com,1999:blog-1.post-2")
    assert item_id("x", tag) == item_id("y", tag)


def test_without_guid_the_canonical_url_is_the_id():
    a = entry(url="https://ex.org/news/1?utm_medium=rss")
    b = entry(url="https://ex.org/news/1", title="Other feed's title")
    assert item_id("Feed A", a) == item_id("Feed B", b)
    assert item_id("Feed A", a) != item_id("Feed A", entry(url="https://ex.org/news/2"))


def test_without_guid_or_url_the_title_and_summary_hash_is_the_id():
    a = entry(title="Hair news", summary="One")
    assert item_id("S", a) == item_id("S", entry(title="Hair news", summary="One", text="longer text"))
    assert item_id("S", a) != item_id("S", entry(title="Hair news", summary="Two"))
    assert item_id("S", a) != item_id("T", a)


def test_item_ids_are_stable_across_parses_of_the_same_feed():
    body = (FEEDS / "wordpress.rss").read_bytes()
    first = [item_id("Blog", e) for e in parse_feed(body, url="https://b.example/feed", headers={}).entries]
    second = [item_id("Blog", e) for e in parse_feed(body, url="https://b.example/feed", headers={}).entries]
    assert first == second and len(set(first)) == len(first) == 2


def test_content_hash_changes_with_content_only():
    a = entry(url="https://ex.org/1")
    assert re.fullmatch(r"[0-9a-f]{16}", content_hash(a))
    assert content_hash(a) == content_hash(replace(a, published="2024-01-01T00:00:00Z"))
    for change in (dict(title="New"), dict(summary="New"), dict(text="New"), dict(url="https://ex.org/2")):
        assert content_hash(replace(a, **change)) != content_hash(a), change


@pytest.mark.parametrize(
    ("texts", "doi"),
    [
        (["doi: 10.1001/jamadermatol.2024.0284."], "10.1001/jamadermatol.2024.0284"),
        (["https://doi.org/10.1111/JDV.19876"], "10.1111/jdv.19876"),
        (["(see 10.1016/S0140-6736(20)30183-5)"], "10.1016/s0140-6736(20)30183-5"),
        (["https://onlinelibrary.wiley.com/doi/full/10.1111/jocd.16234"], "10.1111/jocd.16234"),
        (["https://onlinelibrary.wiley.com/doi/10.1111/jocd.16234/abstract"], "10.1111/jocd.16234"),
        (["https://www.biorxiv.org/content/10.1101/2024.04.28.591234v1.full"], "10.1101/2024.04.28.591234"),
        (["https://doi.org/10.1016%2Fj.jid.2024.03.012"], "10.1016/j.jid.2024.03.012"),
        (['<a href="https://doi.org/10.1038/s41586-023-06420-1">paper</a>'], "10.1038/s41586-023-06420-1"),
        (["https://journals.example.org/doi/10.1234/abc?utm_source=x"], "10.1234/abc"),
        (["no identifiers here", "", None], None),
        (["first 10.1000/aaa", "second 10.1000/bbb"], "10.1000/aaa"),
    ],
)
def test_find_doi(texts, doi):
    assert find_identifiers(*texts)[0] == doi


@pytest.mark.parametrize(
    ("text", "pmid"),
    [
        ("https://pubmed.ncbi.nlm.nih.gov/38690001/", "38690001"),
        ("https://www.ncbi.nlm.nih.gov/pubmed/12345678", "12345678"),
        ("PMID: 38689876", "38689876"),
        ("pmid:38689876", "38689876"),
        ("pubmed:38688555", "38688555"),
        ("https://europepmc.org/article/MED/31234567", "31234567"),
        ("PMCID: PMC1234567", None),
        ("published 2024", None),
    ],
)
def test_find_pmid(text, pmid):
    assert find_identifiers(text)[1] == pmid


def test_find_nct_ids_unique_upper_case_in_order():
    _, _, ncts = find_identifiers(
        "Registered as nct05123456 and NCT03570749.", "See NCT05123456 again; NCT123 and NCT0357074999 are not ids"
    )
    assert ncts == ["NCT05123456", "NCT03570749"]
