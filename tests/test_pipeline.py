"""End to end: a real HTTP server on 127.0.0.1, the real pipeline, a real SQLite file."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from werkzeug import Response

from db import list_sources
from harvester import fetch
from harvester.fetch import FetchLimits
from harvester.pipeline import HarvestSettings, harvest
from scoring.model import CLAIM_STRENGTHS, Reason
from tests.conftest import configure
from tests.feeds import LONG, atom, hair_items, json_feed, rdf, rss

FAST = HarvestSettings(limits=FetchLimits(connect_timeout=2, read_timeout=1, max_bytes=2 * 2**20,
                                          max_decoded=4 * 2**20), fulltext=False)


def run(db, settings=FAST, **kw):
    return {o.source: o for o in harvest(db, include_not_due=True, settings=settings, **kw)}


def items(db, source=None):
    where = "where source = ?" if source else ""
    cur = db.execute(f"select * from items {where} order by url", [source] if source else [])
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def source(db, name):
    return {s["name"]: s for s in list_sources(db)}[name]


@pytest.mark.parametrize("builder, ctype", [(rss, "application/rss+xml"), (atom, "application/atom+xml"),
                                             (rdf, "application/rdf+xml"), (json_feed, "application/feed+json")])
def test_every_format_lands_in_the_database(httpserver, database, builder, ctype):
    httpserver.expect_request("/feed").respond_with_data(builder(hair_items(3)), content_type=ctype)
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    out = run(database)
    assert out["F"].status == "ok" and out["F"].new == 3
    rows = items(database)
    assert [r["url"] for r in rows] == [f"https://example.org/news/{i}" for i in range(3)]
    for r in rows:
        assert r["published"].endswith("Z") and r["published"].startswith("2024-01-02T")
        assert r["title"].startswith("Minoxidil study")
        assert r["scoring_version"] and r["evidence_stage"]
        assert r["claim_strength"] in CLAIM_STRENGTHS
        assert "minoxidil" in json.loads(r["treatments"])
    assert database.execute("select count(*) from items_fts where items_fts match 'minoxidil'").fetchone()[0] == 3
    fetch = database.execute("select status, http_status, new_items from fetches").fetchall()
    assert fetch == [("ok", 200, 3)]


def test_conditional_get_second_run_is_304(httpserver, database):
    body = rss(hair_items(2))
    seen = []

    def handler(request):
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(body, content_type="application/rss+xml",
                        headers={"ETag": '"v1"', "Last-Modified": "Tue, 02 Jan 2024 10:00:00 GMT"})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    assert run(database)["F"].new == 2
    second = run(database)["F"]
    assert second.status == "not_modified" and second.new == 0
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Tue, 02 Jan 2024 10:00:00 GMT"
    assert "hypewatch" in seen[0]["User-Agent"]
    assert len(items(database)) == 2
    assert source(database, "F")["last_status"] == "not_modified"


def test_unchanged_body_is_not_parsed_again_and_rerun_is_idempotent(httpserver, database):
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(3)), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    run(database)
    assert run(database)["F"].status == "unchanged"
    database["sources"].update("F", {"body_hash": None})  # force a re-parse of the same items
    again = run(database)["F"]
    assert (again.status, again.new, again.updated) == ("ok", 0, 0)
    assert len(items(database)) == 3


def test_changed_item_is_updated_not_duplicated(httpserver, database):
    feed = hair_items(2)
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    run(database)
    first_seen = items(database)[0]["first_seen_at"]
    httpserver.clear()
    feed[0]["title"] = "Minoxidil study 0: corrected title"
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    out = run(database)["F"]
    assert (out.new, out.updated) == (0, 1)
    rows = items(database)
    assert len(rows) == 2 and rows[0]["title"].endswith("corrected title")
    assert rows[0]["first_seen_at"] == first_seen


def test_429_retry_after_applies_to_that_source_only(httpserver, database):
    httpserver.expect_request("/busy").respond_with_data("slow down", status=429, headers={"Retry-After": "7200"})
    httpserver.expect_request("/ok").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    configure(database, {"name": "busy", "url": httpserver.url_for("/busy"), "every": 60},
              {"name": "ok", "url": httpserver.url_for("/ok"), "every": 60})
    before = datetime.now(timezone.utc)
    out = run(database)
    assert out["busy"].status == "failed" and out["busy"].http_status == 429
    assert out["ok"].status == "ok"
    nxt = datetime.fromisoformat(source(database, "busy")["next_check_at"].replace("Z", "+00:00"))
    assert nxt >= before + timedelta(seconds=7190)
    ok_next = datetime.fromisoformat(source(database, "ok")["next_check_at"].replace("Z", "+00:00"))
    assert ok_next < before + timedelta(seconds=600)


def test_errors_back_off_and_are_never_silent(httpserver, database):
    httpserver.expect_request("/down").respond_with_data("boom", status=500)
    configure(database, {"name": "down", "url": httpserver.url_for("/down"), "every": 600})
    gaps = []
    for _ in range(3):
        start = datetime.now(timezone.utc)
        out = run(database)["down"]
        assert out.status == "failed" and "500" in out.error
        row = source(database, "down")
        gaps.append(datetime.fromisoformat(row["next_check_at"].replace("Z", "+00:00")) - start)
    assert row["error_count"] == 3 and "500" in row["last_error"] and row["enabled"] == 1
    assert gaps[0] < gaps[1] < gaps[2] <= timedelta(days=1, seconds=5)
    assert database.execute("select count(*) from fetches where status = 'failed'").fetchone()[0] == 3


def test_recovery_resets_error_count(httpserver, database):
    httpserver.expect_oneshot_request("/f").respond_with_data("boom", status=503)
    httpserver.expect_request("/f").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/f")})
    run(database)
    assert source(database, "F")["error_count"] == 1
    run(database)
    row = source(database, "F")
    assert (row["error_count"], row["last_error"], row["last_status"]) == (0, None, "ok")


def test_timeout(httpserver, database):
    def slow(request):
        time.sleep(2.5)
        return Response(rss(hair_items(1)), content_type="application/rss+xml")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/ok").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    configure(database, {"name": "slow", "url": httpserver.url_for("/slow")},
              {"name": "ok", "url": httpserver.url_for("/ok")})
    out = run(database)
    assert out["slow"].status == "failed" and "sent nothing for 1s" in out["slow"].error
    assert out["ok"].status == "ok"


def test_oversized_body_and_gzip_bomb(httpserver, database):
    httpserver.expect_request("/big").respond_with_data(b"<rss>" + b"x" * (3 * 2**20), content_type="application/rss+xml")
    bomb = gzip.compress(b"\0" * (50 * 2**20))
    httpserver.expect_request("/bomb").respond_with_data(bomb, content_type="application/rss+xml",
                                                         headers={"Content-Encoding": "gzip"})
    small = gzip.compress(rss(hair_items(2)))
    httpserver.expect_request("/gz").respond_with_data(small, content_type="application/rss+xml",
                                                       headers={"Content-Encoding": "gzip"})
    configure(database, {"name": "big", "url": httpserver.url_for("/big")},
              {"name": "bomb", "url": httpserver.url_for("/bomb")}, {"name": "gz", "url": httpserver.url_for("/gz")})
    out = run(database)
    assert out["big"].status == "failed" and "cap" in out["big"].error
    assert out["bomb"].status == "failed" and "decod" in out["bomb"].error.lower()
    assert out["gz"].status == "ok" and out["gz"].new == 2


def test_redirect_loop_and_permanent_redirect_and_gone(httpserver, database):
    httpserver.expect_request("/loop1").respond_with_data("", status=302, headers={"Location": "/loop2"})
    httpserver.expect_request("/loop2").respond_with_data("", status=302, headers={"Location": "/loop1"})
    httpserver.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    httpserver.expect_request("/new").respond_with_data(rss(hair_items(1)), content_type="application/rss+xml")
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    configure(database, {"name": "loop", "url": httpserver.url_for("/loop1")},
              {"name": "moved", "url": httpserver.url_for("/old")},
              {"name": "gone", "url": httpserver.url_for("/gone")})
    out = run(database)
    assert out["loop"].status == "failed" and "redirect" in out["loop"].error.lower()
    assert out["moved"].status == "ok"
    assert source(database, "moved")["url"] == httpserver.url_for("/new")
    assert out["gone"].disabled
    gone = source(database, "gone")
    assert gone["enabled"] == 0 and "410" in gone["disabled_reason"]
    assert "gone" not in run(database)  # disabled sources are not harvested again


def test_html_page_instead_of_feed_is_a_clear_error(httpserver, database):
    httpserver.expect_request("/page").respond_with_data("<!doctype html><html><body><p>Welcome</p></body></html>",
                                                         content_type="text/html")
    configure(database, {"name": "page", "url": httpserver.url_for("/page")})
    out = run(database)["page"]
    assert out.status == "failed" and "feed" in out.error.lower()
    assert source(database, "page")["last_error"] == out.error


def test_hostile_feed_is_sanitised(httpserver, database):
    evil = [{"title": "<script>alert(1)</script>Hair loss news", "link": "javascript:alert(1)", "guid": "evil-1",
             "summary": 'Minoxidil <img src=x onerror="alert(1)"><script>alert(2)</script>'
                        '<a href="javascript:alert(3)">click</a> <a href="https://ok.example/">ok</a>'}]
    httpserver.expect_request("/evil").respond_with_data(rss(evil), content_type="application/rss+xml")
    configure(database, {"name": "evil", "url": httpserver.url_for("/evil")})
    assert run(database)["evil"].new == 1
    [row] = items(database)
    stored = json.dumps(row).lower()
    assert "<script" not in stored and "onerror" not in stored and "javascript:" not in stored
    assert row["url"] is None
    assert 'href="https://ok.example/"' in row["summary_html"]


def test_item_link_to_loopback_is_not_fetched(httpserver, database, monkeypatch):
    """A public feed (fake DNS, a mock transport) whose item links to a loopback page."""
    short = [{"title": "Hair loss teaser", "link": httpserver.url_for("/internal-secret"), "summary": "Short."}]
    httpserver.expect_request("/internal-secret").respond_with_data("<html><body>secret</body></html>")

    async def public(host, port):
        return ["93.184.216.34"]

    def feed_server(request):
        assert request.url.host == "93.184.216.34"
        return httpx.Response(200, stream=httpx.ByteStream(rss(short)), headers={"content-type": "application/rss+xml"})

    monkeypatch.setattr(fetch, "_resolve", public)
    configure(database, {"name": "F", "url": "http://news.example/feed", "local": False})
    run(database, settings=HarvestSettings(limits=FAST.limits, fulltext=True), transport=httpx.MockTransport(feed_server))
    [row] = items(database)
    assert row["fulltext_status"].startswith("blocked")
    assert all(req.path != "/internal-secret" for req, _ in httpserver.log)


ARTICLE = """<!doctype html><html><head><title>Study</title></head><body>
<nav><a href="/">Home</a> | <a href="/about">About us</a> | Subscribe to our newsletter</nav>
<article><h1>Topical JAK inhibitor regrows hair in a small trial</h1>
<p>In a randomized, double-blind, placebo-controlled trial of 120 adults with alopecia areata,
ritlecitinib led to scalp hair regrowth in 38 percent of patients after 24 weeks, compared with
5 percent of those on placebo, the investigators reported in the journal.</p>
<p>The authors cautioned that the trial was short and that longer studies are needed to judge
safety, including infections and changes in blood counts.</p>
<p>Independent dermatologists said the effect size was in line with earlier studies of the drug class.</p>
</article><footer>Copyright 2024 Example News. All rights reserved. Cookie settings.</footer></body></html>"""


def test_full_text_for_short_items_from_local_source(httpserver, database):
    teaser = [{"title": "JAK inhibitor trial in alopecia areata", "link": httpserver.url_for("/article/1"),
               "summary": "A short teaser."}]
    httpserver.expect_request("/feed").respond_with_data(rss(teaser), content_type="application/rss+xml")
    httpserver.expect_request("/article/1").respond_with_data(ARTICLE, content_type="text/html; charset=utf-8")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed"), "local": True})
    run(database, settings=HarvestSettings(limits=FAST.limits, fulltext=True))
    [row] = items(database)
    assert row["fulltext_status"] == "ok"
    assert "placebo-controlled" in row["text"] and "Cookie settings" not in row["text"]
    assert row["evidence_stage"] == "human_rct"
    assert "ritlecitinib" in json.loads(row["treatments"])


def test_filter_keeps_only_relevant_items(httpserver, database):
    mixed = hair_items(2) + [{"title": "New telescope images a distant galaxy", "link": "https://example.org/space",
                              "summary": "Astronomers released images of a spiral galaxy taken by the new telescope. "
                                         "The observatory said more images will follow next year."}]
    httpserver.expect_request("/broad").respond_with_data(rss(mixed), content_type="application/rss+xml")
    configure(database, {"name": "broad", "url": httpserver.url_for("/broad"), "filter": True})
    out = run(database)["broad"]
    assert (out.new, out.filtered) == (2, 1)
    assert all("galaxy" not in r["title"] for r in items(database))


def test_one_broken_source_never_stops_the_others(httpserver, database, monkeypatch):
    from harvester import parsers

    real = parsers.PARSERS["feed"]

    def exploding(body, *, url, headers, **options):
        if url.endswith("/bug"):
            raise RuntimeError("unexpected bug")
        return real(body, url=url, headers=headers, **options)

    monkeypatch.setitem(parsers.PARSERS, "feed", exploding)
    for path in ("/bug", "/a", "/b"):
        httpserver.expect_request(path).respond_with_data(rss(hair_items(1, prefix=f"https://e.org{path}/")),
                                                          content_type="application/rss+xml")
    configure(database, *({"name": p, "url": httpserver.url_for(p)} for p in ("/bug", "/a", "/b")))
    out = run(database)
    assert out["/bug"].status == "failed" and "internal error" in out["/bug"].error
    assert out["/a"].status == out["/b"].status == "ok"
    assert len(items(database)) == 2


def test_crash_mid_write_leaves_no_half_written_rows(httpserver, tmp_path):
    """A process killed inside a source's transaction leaves the database as before it."""
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(5)), content_type="application/rss+xml")
    db_path = tmp_path / "crash.db"
    script = textwrap.dedent(f"""
        import os
        from db import open_db, sync_sources, store
        from harvester import pipeline

        db = open_db({str(db_path)!r})
        sync_sources(db, [{{"name": "F", "url": {httpserver.url_for('/feed')!r}, "kind": "feed",
                           "publisher": "news", "every": 3600, "filter": False, "local": True}}])

        def save_then_die(db, source, **kw):
            with db.atomic():
                db["items"].insert_all([store.encode_item(i) for i in kw["new_items"]], pk="id")
                assert db.execute("select count(*) from items").fetchone()[0] == 5
                os._exit(9)   # power cut in the middle of the transaction

        store.save_harvest = save_then_die
        pipeline.harvest(db, include_not_due=True, settings=pipeline.HarvestSettings(fulltext=False))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select count(*) from items").fetchone()[0] == 0
    assert conn.execute("select count(*) from fetches").fetchone()[0] == 0
    assert conn.execute("select etag, body_hash, last_status from sources").fetchone() == (None, None, None)
    conn.close()
    # and the next run completes the work
    from db import open_db
    from harvester.pipeline import harvest as again

    db = open_db(db_path)
    assert again(db, include_not_due=True, settings=FAST)[0].new == 5


API = Path(__file__).parent / "fixtures" / "api"


def test_api_sources_through_the_pipeline(httpserver, database):
    """PubMed needs two requests (esearch, then efetch); metadata reaches the scorer and the row."""
    httpserver.expect_request("/eutils/esearch.fcgi").respond_with_data(
        (API / "pubmed_esearch.json").read_bytes(), content_type="application/json")
    httpserver.expect_request("/eutils/efetch.fcgi").respond_with_data(
        (API / "pubmed_efetch.xml").read_bytes(), content_type="text/xml")
    httpserver.expect_request("/ctgov").respond_with_data(
        (API / "clinicaltrials_v2_studies.json").read_bytes(), content_type="application/json")
    httpserver.expect_request("/epmc").respond_with_data(
        (API / "europepmc_search_core.json").read_bytes(), content_type="application/json")
    configure(database,
              {"name": "pubmed", "kind": "pubmed", "publisher": "journal",
               "url": httpserver.url_for("/eutils/esearch.fcgi") + "?db=pubmed&term=alopecia&retmode=json"},
              {"name": "trials", "kind": "clinicaltrials", "publisher": "registry", "url": httpserver.url_for("/ctgov")},
              {"name": "epmc", "kind": "europepmc", "publisher": "journal", "url": httpserver.url_for("/epmc")})
    out = run(database, settings=HarvestSettings(limits=FAST.limits, fulltext=True))
    assert all(o.status == "ok" and o.new > 0 for o in out.values()), out
    efetch = [req for req, _ in httpserver.log if req.path == "/eutils/efetch.fcgi"]
    assert len(efetch) == 1 and efetch[0].args["db"] == "pubmed"
    pubmed = items(database, "pubmed")
    assert all(r["pmid"] and r["url"].startswith("https://pubmed.ncbi.nlm.nih.gov/") for r in pubmed)
    assert any("publication_types" in json.loads(r["meta"]) for r in pubmed)
    assert all(r["fulltext_status"] is None for r in items(database))  # API records carry their abstract
    trials = items(database, "trials")
    assert all(json.loads(r["nct_ids"]) for r in trials)


def test_article_in_two_feeds_stays_with_the_first_source(httpserver, database):
    one = [{"title": "Minoxidil study", "link": "https://example.org/shared", "summary": "First text. " + LONG}]
    two = [{"title": "Minoxidil study (syndicated)", "link": "https://example.org/shared", "summary": "Other. " + LONG}]
    httpserver.expect_request("/one").respond_with_data(rss(one), content_type="application/rss+xml")
    httpserver.expect_request("/two").respond_with_data(rss(two), content_type="application/rss+xml")
    configure(database, {"name": "one", "url": httpserver.url_for("/one")})
    run(database)
    configure(database, {"name": "one", "url": httpserver.url_for("/one")}, {"name": "two", "url": httpserver.url_for("/two")})
    out = run(database)
    assert (out["two"].new, out["two"].updated) == (0, 0)
    [row] = items(database)
    assert row["source"] == "one" and row["title"] == "Minoxidil study"


def test_big_pass_parses_and_scores_in_worker_processes(httpserver, database):
    for i in range(4):
        httpserver.expect_request(f"/f{i}").respond_with_data(rss(hair_items(3, prefix=f"https://e.org/{i}/")),
                                                             content_type="application/rss+xml")
    configure(database, *({"name": f"f{i}", "url": httpserver.url_for(f"/f{i}")} for i in range(4)))
    settings = HarvestSettings(limits=FAST.limits, fulltext=False, parse_workers=2, pool_min_sources=2)
    out = run(database, settings=settings)
    assert all(o.status == "ok" and o.new == 3 for o in out.values())
    assert all(r["scoring_version"] and r["evidence_stage"] for r in items(database))
    assert all(r["claim_strength"] in CLAIM_STRENGTHS for r in items(database))


def test_one_source_failing_to_save_in_a_shared_commit_leaves_the_others(httpserver, database, monkeypatch):
    """Sources committed together still succeed or fail alone (a savepoint each)."""
    from db import store

    real = store.save_harvest
    failed = []

    def flaky(db, source, **kw):
        if source == "/bad" and kw.get("new_items") and not failed:
            failed.append(source)
            with db.atomic():  # as if save_harvest failed after its inserts: its savepoint undoes them
                real(db, source, **kw)
                raise RuntimeError("disk says no")
        return real(db, source, **kw)

    monkeypatch.setattr(store, "save_harvest", flaky)
    paths = ("/bad", "/a", "/b", "/c")
    for path in paths:
        httpserver.expect_request(path).respond_with_data(rss(hair_items(2, prefix=f"https://e.org{path}/")),
                                                          content_type="application/rss+xml")
    configure(database, *({"name": p, "url": httpserver.url_for(p)} for p in paths))
    settings = HarvestSettings(limits=FAST.limits, fulltext=False, write_delay=5)  # one shared commit
    out = run(database, settings=settings)
    assert failed == ["/bad"]
    assert out["/bad"].status == "failed" and "disk says no" in out["/bad"].error
    assert all(out[p].status == "ok" and out[p].new == 2 for p in ("/a", "/b", "/c"))
    assert {r["source"] for r in items(database)} == {"/a", "/b", "/c"}
    bad = source(database, "/bad")
    assert bad["last_status"] == "failed" and bad["body_hash"] is None and bad["error_count"] == 1
    # and the next pass writes it
    assert run(database, settings=settings)["/bad"].new == 2


def test_article_in_two_feeds_of_one_pass_is_stored_once(httpserver, database):
    """Sources sharing a commit: the first one queued keeps the article, the other's insert is skipped."""
    shared = {"title": "Minoxidil study", "link": "https://example.org/shared", "summary": "Text. " + LONG}
    for path in ("/one", "/two"):
        httpserver.expect_request(path).respond_with_data(rss([shared]), content_type="application/rss+xml")
    configure(database, *({"name": p, "url": httpserver.url_for(p)} for p in ("/one", "/two")))
    out = run(database, settings=HarvestSettings(limits=FAST.limits, fulltext=False, write_delay=5))
    assert all(o.status == "ok" for o in out.values())
    [row] = items(database)
    assert out[row["source"]].new == 1  # the other may count it as new too, as when both checked before either saved


def test_new_source_is_scored_with_its_parse_and_a_known_one_only_for_changes(httpserver, database, monkeypatch):
    from harvester import scores

    calls = []
    real = scores.encoded_labels

    def counting(inputs):
        calls.append(len(inputs))
        return real(inputs)

    monkeypatch.setattr(scores, "encoded_labels", counting)
    feed = hair_items(3)
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    assert run(database)["F"].new == 3
    assert calls == [3]  # in the parse job: the source had never been harvested
    first = {r["id"]: r for r in items(database)}
    expected = scores.score_rows([scores.score_input(r) for r in first.values()])
    for row, labels in zip(first.values(), expected):
        assert json.loads(row["reasons"]) == labels["reasons"]
        assert json.loads(row["treatments"]) == labels["treatments"]
        assert (row["evidence_stage"], row["hype"], row["hype_score"]) == (
            labels["evidence_stage"], labels["hype"], labels["hype_score"])
    httpserver.clear()
    feed.append({"title": "Finasteride trial", "link": "https://example.org/news/new",
                 "summary": "A phase 2 trial of finasteride for hair loss. " + LONG})
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    assert run(database)["F"].new == 1
    assert calls == [3, 1]  # afterwards only new and changed items are scored


def claiming(monkeypatch, strength: str) -> None:
    """Make the pipeline's scorer give every item this claim strength, with a reason: the scorer's own
    answer for a text is not this test's business."""
    from harvester import scores

    real = scores.score_item

    def score_item(item):
        score = real(item)
        score.claim_strength = strength
        score.reasons = [*(r for r in score.reasons if r.dimension != "claim_strength"),
                         Reason("claim_strength", strength, "cue for " + strength, "…snippet…", 9.0)]
        return score

    monkeypatch.setattr(scores, "score_item", score_item)


def test_claim_strength_is_stored_by_harvest_update_and_rescore(httpserver, database, monkeypatch):
    from harvester.pipeline import rescore

    def claims():
        return {r["id"]: (r["claim_strength"], [x["label"] for x in json.loads(r["reasons"])
                                                 if x["dimension"] == "claim_strength"]) for r in items(database)}

    feed = hair_items(2)
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed")})
    claiming(monkeypatch, "conditional_causal")
    assert run(database)["F"].new == 2
    first = claims()
    assert list(first.values()) == [("conditional_causal", ["conditional_causal"])] * 2
    # a changed item is scored again and its new claim stored
    httpserver.clear()
    feed[0]["title"] = "Minoxidil study 0: corrected title"
    httpserver.expect_request("/feed").respond_with_data(rss(feed), content_type="application/rss+xml")
    claiming(monkeypatch, "correlational")
    assert run(database)["F"].updated == 1
    after = claims()
    assert sorted(c for c, _ in after.values()) == ["conditional_causal", "correlational"]
    # items scored by another scorer version are rescored, the claim strength with the rest
    database.execute("UPDATE items SET scoring_version = 'old', claim_strength = NULL")
    database.conn.commit()
    claiming(monkeypatch, "direct_causal")
    assert rescore(database) == 2
    assert list(claims().values()) == [("direct_causal", ["direct_causal"])] * 2


def test_pass_on_an_in_memory_database(httpserver):
    """No file for a writer thread to open: the writes happen on the caller's connection."""
    from db import open_db

    db = open_db(":memory:")
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    configure(db, {"name": "F", "url": httpserver.url_for("/feed")})
    before = db.execute("pragma cache_size").fetchone()[0]
    assert run(db)["F"].new == 2
    assert len(items(db)) == 2
    assert db.execute("pragma cache_size").fetchone()[0] == before
    db.close()


def test_stop_request_keeps_sources_whose_writes_are_queued(httpserver, database):
    """Stopping cancels sources at their next network wait; queued writes are committed and reported."""
    def slow(request):
        time.sleep(1.5)
        return Response(rss(hair_items(1, prefix="https://e.org/slow/")), content_type="application/rss+xml")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/fast").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    configure(database, {"name": "slow", "url": httpserver.url_for("/slow")},
              {"name": "fast", "url": httpserver.url_for("/fast")})
    started = time.monotonic()
    settings = HarvestSettings(limits=FetchLimits(read_timeout=5), fulltext=False, write_delay=30)
    out = run(database, settings=settings, should_stop=lambda: time.monotonic() - started > 0.5)
    assert list(out) == ["fast"] and out["fast"].new == 2  # waited for its commit, not for 30 s
    assert time.monotonic() - started < 10
    assert {r["source"] for r in items(database)} == {"fast"}
    assert source(database, "slow")["last_status"] is None  # untouched: still due


def test_writer_thread_that_cannot_open_the_file_falls_back_to_the_callers_connection(
        httpserver, database, monkeypatch):
    from db import store

    def refuse(path):
        raise store.DatabaseError(f"{path}: cannot open")

    monkeypatch.setattr(store, "open_db", refuse)
    for path in ("/a", "/b"):
        httpserver.expect_request(path).respond_with_data(rss(hair_items(2, prefix=f"https://e.org{path}/")),
                                                          content_type="application/rss+xml")
    configure(database, *({"name": p, "url": httpserver.url_for(p)} for p in ("/a", "/b")))
    out = run(database)
    assert all(o.status == "ok" and o.new == 2 for o in out.values())
    assert len(items(database)) == 4


def test_source_gone_is_enabled_again_when_its_url_changes(httpserver, database):
    httpserver.expect_request("/gone").respond_with_data("gone", status=410)
    httpserver.expect_request("/moved-here").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    configure(database, {"name": "G", "url": httpserver.url_for("/gone")})
    assert run(database)["G"].disabled
    configure(database, {"name": "G", "url": httpserver.url_for("/gone"), "every": 7200})
    assert source(database, "G")["enabled"] == 0  # another change, same URL: still gone
    configure(database, {"name": "G", "url": httpserver.url_for("/moved-here")})
    row = source(database, "G")
    assert row["enabled"] == 1 and row["disabled_reason"] is None and row["error_count"] == 0
    out = run(database)["G"]
    assert out.status == "ok" and out.new == 2


def test_control_characters_never_reach_stored_strings(httpserver, database):
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Feed\u0000 title\u0007",
           "items": [{"id": "a\u0000b", "url": "https://example.org/x\u0000y\u001f", "title": "Minoxidil\u0000 study",
                      "content_text": "Hair\u0000 loss\u000b study.\nSecond line.", "authors": [{"name": "Ann\u0000"}],
                      "date_published": "2024-01-02T10:00:00Z"}]}
    httpserver.expect_request("/feed").respond_with_data(json.dumps(doc), content_type="application/feed+json")
    configure(database, {"name": "F", "url": httpserver.url_for("/feed") + "?q=\u0000"})
    run(database)
    [row] = items(database)
    stored = json.dumps(row) + json.dumps(source(database, "F"))
    assert "\\u0000" not in stored and "\\u0007" not in stored and "\\u001f" not in stored and "\\u000b" not in stored
    assert row["url"] == "https://example.org/xy" and row["title"] == "Minoxidil study"
    assert "Second line" in row["text"]  # newlines stay
    assert source(database, "F")["feed_title"] == "Feed title"
