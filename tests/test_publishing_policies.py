"""One link check and one sanitiser policy per kind of published HTML (digest, feeds), shared by their users."""

from __future__ import annotations

import pytest

from harvester.sanitize import DIGEST, FEED, web_link
from hypewatch import digest
from hypewatch.site import feeds, markup


@pytest.mark.parametrize("url,ok", [
    ("https://example.org/a?b=1", True),
    ("http://example.org", True),
    ("  https://example.org/x  ", True),
    ("javascript:alert(1)", False),
    ("data:text/html,<script>", False),
    ("/relative/path", False),
    ("https://exa mple.org", False),
    ("https://example.org/\x00", False),
    ("https://example.org/\x85x", False),
    ("ftp://example.org/file", False),
    ("https://", False),
    (None, False),
    (42, False),
])
def test_web_link_is_the_one_check(url, ok):
    expected = url.strip() if ok else None
    assert web_link(url) == expected
    assert markup.safe_url(url) == expected  # the site
    assert digest._link(url) == expected  # the digest


def test_digest_policy_keeps_its_markup_and_nothing_else():
    html = ('<h2>Week</h2><p>Hi <a href="https://x.org/a" onclick="evil()">link</a>'
            '<a href="javascript:alert(1)">bad</a><img src="https://x.org/i.png"><script>alert(1)</script></p>')
    out = DIGEST.clean(html)
    assert digest.sanitize(html) == out
    assert "<h2>Week</h2>" in out and 'href="https://x.org/a"' in out and "nofollow" in out
    for gone in ("onclick", "javascript:", "<img", "<script", "alert(1)</script>"):
        assert gone not in out


def test_feed_policy_is_datasette_atoms_allow_list_with_web_and_mail_links():
    html = '<p><img src="https://x.org/i.png" alt="x" onerror="evil()"><a href="mailto:a@b.org" title="t">m</a><iframe></iframe></p>'
    out = FEED.clean(html)
    assert feeds.nh3_atom_clean(html) == out
    assert '<img src="https://x.org/i.png" alt="x">' in out and 'href="mailto:a@b.org"' in out
    assert "onerror" not in out and "<iframe" not in out
    assert feeds.ATOM_TAGS == FEED.tags
