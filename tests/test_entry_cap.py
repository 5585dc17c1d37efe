"""The cap on entries per feed: the newest kept, the cut reported, memory bounded however long the feed."""

from __future__ import annotations

import random
import time
import tracemalloc

from db import list_sources
from harvester.parse import parse_feed
from harvester.pipeline import HarvestSettings, harvest
from tests.conftest import configure
from tests.feeds import atom, json_feed, rdf, rss

URL = "https://example.org/feed"


def dated(n: int, salt: str = "") -> list[dict]:
    """Items 0..n-1, item i published i hours after the first: the highest number is the newest."""
    return [{"title": f"Minoxidil item {i} {salt}", "link": f"https://example.org/{i}", "guid": f"g{i}",
             "date": f"2024-01-{1 + i // 24:02d}T{i % 24:02d}:00:00+00:00", "summary": f"Item {i}."}
            for i in range(n)]


def numbers(feed) -> list[int]:
    return sorted(int(e.url.rsplit("/", 1)[1]) for e in feed.entries)


def test_the_newest_entries_are_kept_whatever_the_order():
    items = dated(15)
    random.Random(3).shuffle(items)
    feed = parse_feed(json_feed(items), url=URL, headers={}, max_entries=10)
    assert numbers(feed) == list(range(5, 15))
    assert "5 older or undated entries dropped: at most 10" in feed.warning


def test_every_format_is_read_no_further_than_twice_the_cap():
    newest_first = dated(50)[::-1]
    for build in (rss, atom, rdf, json_feed):
        feed = parse_feed(build(newest_first), url=URL, headers={}, max_entries=10)
        assert numbers(feed) == list(range(40, 50)), build.__name__
        assert "only the first 20 were read" in feed.warning and "50 entries" in feed.warning, build.__name__


def test_a_feed_under_the_cap_is_untouched():
    feed = parse_feed(rss(dated(10)), url=URL, headers={}, max_entries=10)
    assert len(feed.entries) == 10 and feed.warning is None


def test_seven_hundred_thousand_guid_only_items_cost_little():
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            + b"".join(b"<item><guid>%d</guid></item>" % i for i in range(700_000)) + b"</channel></rss>")
    tracemalloc.start()
    started = time.monotonic()
    try:
        feed = parse_feed(body, url=URL, headers={}, max_entries=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(feed.entries) == 1000 and "about 700,000 entries" in feed.warning
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MiB"
    assert time.monotonic() - started < 20


def test_the_cut_is_reported_on_the_source_and_in_the_outcome(httpserver, database):
    httpserver.expect_request("/feed").respond_with_data(rss(dated(30)[::-1]), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    [out] = harvest(database, include_not_due=True, settings=HarvestSettings(fulltext=False, max_entries=10))
    assert out.new == 10 and "only the first 20 were read" in out.warning
    stored = sorted(int(r["url"].rsplit("/", 1)[1]) for r in database.query("select url from items"))
    assert stored == list(range(20, 30))
    [row] = list_sources(database)
    assert row["last_warning"] == out.warning


def test_a_pass_stores_at_most_max_pass_entries_and_the_next_pass_stores_the_rest(httpserver, database):
    for name in ("A", "B"):
        httpserver.expect_request(f"/{name}").respond_with_data(
            rss([{**item, "guid": name + item["guid"], "link": item["link"] + name} for item in dated(30, name)]),
            content_type="application/rss+xml", headers={"ETag": '"same"'})
    configure(database, *({"name": name, "url": httpserver.url_for(f"/{name}")} for name in ("A", "B")))
    settings = HarvestSettings(fulltext=False, max_entries=100, max_pass_entries=45)
    outcomes = harvest(database, include_not_due=True, settings=settings)
    assert sum(o.new for o in outcomes) == 45, [(o.source, o.new, o.warning) for o in outcomes]
    [cut] = [o for o in outcomes if o.new == 15]
    assert "15 older new entries wait for the next pass" in cut.warning and "max_pass_entries" in cut.warning
    row = {r["name"]: r for r in list_sources(database)}[cut.source]
    assert row["etag"] is None and row["body_hash"] is None and row["last_warning"] == cut.warning
    newest = sorted(int(r["url"].rsplit("/", 1)[1][:-1]) for r in database.query(
        "select url from items where source = ?", [cut.source]))
    assert newest == list(range(15, 30))  # the newest were stored first
    again = harvest(database, settings=settings)  # only the cut source is due at once
    assert [(o.source, o.new) for o in again] == [(cut.source, 15)]
    assert database["items"].count == 60
