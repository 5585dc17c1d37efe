"""One address policy for every fetch: feeds, redirects, API follow-ups, `sources check` (fake DNS, loopback servers)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from db import list_sources
from harvester import fetch
from harvester.apis.base import FollowUp
from harvester.fetch import Fetcher, FetchLimits
from harvester.parse import FeedParseError
from harvester.pipeline import HarvestSettings, _parse_following_up, harvest
from harvester.sources import Source
from hypewatch.check import check_sources
from tests.conftest import configure
from tests.feeds import hair_items, rss

FAST = HarvestSettings(limits=FetchLimits(connect_timeout=2, read_timeout=1), fulltext=False)


@pytest.fixture
def no_dns(monkeypatch):
    """Numeric hosts must be judged without DNS; names resolve to a public address."""
    asked: list[str] = []

    async def resolve(host, port):
        asked.append(host)
        return ["127.0.0.1"] if host == "localhost" else ["93.184.216.34"]

    monkeypatch.setattr(fetch, "_resolve", resolve)
    return asked


def run(db, **kw):
    return {o.source: o for o in harvest(db, include_not_due=True, settings=FAST, **kw)}


def stored(db, name):
    return {s["name"]: s for s in list_sources(db)}[name]


SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "0x7f.1", "017700000001", "127.1", "127.0.0.1.",
             "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[64:ff9b::7f00:1]", "localhost"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_feed_on_a_loopback_spelling_is_refused_unless_local(httpserver, database, no_dns, host):
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    url = f"http://{host}:{httpserver.port}/feed"
    configure(database, {"name": "F", "url": url, "local": False})
    out = run(database)["F"]
    assert out.status == "failed" and "refusing" in out.error and "local" in out.error
    assert "\n" not in out.error
    assert httpserver.log == [] and database["items"].count == 0
    assert stored(database, "F")["last_error"] == out.error


@pytest.mark.parametrize("host", ["0.0.0.0", "0", "10.0.0.1", "169.254.169.254", "[fe80::1]", "[::ffff:a9fe:a9fe]",
                                  "[64:ff9b::a9fe:a9fe]", "100.64.0.1", "0251.0376.0251.0376"])
def test_internal_addresses_are_refused_before_any_connection(database, no_dns, host):
    seen = []
    configure(database, {"name": "F", "url": f"http://{host}/latest/meta-data/", "local": False})
    out = run(database, transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)))["F"]
    assert out.status == "failed" and out.error.startswith("refusing")
    assert seen == [] and no_dns == []


def test_local_source_may_use_loopback(httpserver, database):
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed"), "local": True})
    assert run(database)["F"].new == 2


def _public_site(location: str, status: int, seen: list):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host != "93.184.216.34":  # only reached if the policy let the hop through
            return httpx.Response(200, stream=httpx.ByteStream(b"internal secret"))
        return httpx.Response(status, headers={"Location": location})
    return handler


@pytest.mark.parametrize("status", [301, 302, 308])
@pytest.mark.parametrize("target", ["http://127.0.0.1:9/feed", "http://2130706433/feed", "http://[::1]/feed",
                                    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://localhost/"])
def test_redirect_from_a_public_feed_to_an_internal_address_fails(database, no_dns, status, target):
    seen: list = []
    configure(database, {"name": "F", "url": "http://news.example/feed", "local": False})
    out = run(database, transport=httpx.MockTransport(_public_site(target, status, seen)))["F"]
    assert out.status == "failed" and "refusing" in out.error and "\n" not in out.error
    assert len(seen) == 1  # the public hop only
    row = stored(database, "F")
    assert row["url"] == "http://news.example/feed"  # a 301 never moves the source to a refused address
    assert database["items"].count == 0


def test_follow_up_request_gets_the_source_policy(httpserver, no_dns):
    httpserver.expect_request("/efetch").respond_with_data("<secret/>")

    async def job(kind, body, **kw):
        return FollowUp(httpserver.url_for("/efetch")) if body == b"search" else kw["url"]

    async def cpu(func, *args, **kwargs):
        return await func(*args, **kwargs)

    async def main(allow_private):
        first = fetch.FetchResult(url="https://api.example/esearch", final_url="https://api.example/esearch",
                                  status=200, headers={}, body=b"search", elapsed=0.0)
        async with Fetcher() as fetcher:
            return await _parse_following_up(fetcher, "pubmed", first, cpu, job, allow_private)

    with pytest.raises(FeedParseError, match="follow-up request failed: refusing"):
        asyncio.run(main(False))
    assert httpserver.log == []
    assert asyncio.run(main(True)) == httpserver.url_for("/efetch")


def test_sources_check_applies_the_policy(httpserver):
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    url = httpserver.url_for("/feed")
    public, local = check_sources([Source("public", url), Source("mine", url, local=True)])
    assert not public["ok"] and "refusing" in public["message"]
    assert local["ok"] and "1 entries" in local["message"]
    assert len(httpserver.log) == 1
