"""`hypewatch demo`: bundled sample feeds on 127.0.0.1 through the real pipeline, fresh database every run."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from db import open_db, sync_sources
from harvester.parse import parse_feed
from harvester.sources import BUNDLED_SOURCES, load_sources
from hypewatch.cli import cli
from hypewatch.demo import (
    DEMO_TABLE,
    LAST_MODIFIED,
    DemoError,
    DemoRun,
    DemoServer,
    check_replaceable,
    demo_data,
    demo_sources,
    run_demo,
)

BROAD_FEED = "Daily Science Wire: health and science (sample)"
OFF_TOPIC_TITLES = ("Brisk daily walks", "New space telescope", "Teenagers who sleep", "Marine heatwave", "Blood test spots")
TEASER_ITEMS = 14  # feed items with a short teaser whose article page the demo serves


class NetworkGuard:
    """Refuses, and records, any connection or DNS lookup that is not to 127.0.0.1.

    A test cannot unplug the network, but it can make leaving the machine fail loudly.
    """

    LOOPBACK = {"127.0.0.1", "localhost"}

    def __init__(self) -> None:
        self.refused: list[object] = []
        self._getaddrinfo = socket.getaddrinfo
        self._connect = socket.socket.connect
        self._connect_ex = socket.socket.connect_ex

    def getaddrinfo(self, host, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) not in self.LOOPBACK:
            self.refused.append(host)
            raise socket.gaierror(f"network disabled in this test: {host!r}")
        return self._getaddrinfo(host, *args, **kwargs)

    def _check(self, address) -> None:
        if isinstance(address, tuple) and address[0] not in self.LOOPBACK:
            self.refused.append(address)
            raise OSError(f"network disabled in this test: {address!r}")

    def install(self, mp: pytest.MonkeyPatch) -> None:
        guard = self

        def connect(sock, address):
            guard._check(address)
            return guard._connect(sock, address)

        def connect_ex(sock, address):
            guard._check(address)
            return guard._connect_ex(sock, address)

        mp.setattr(socket, "getaddrinfo", self.getaddrinfo)
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[DemoRun, list[str], sqlite3.Connection]:
    lines: list[str] = []
    guard = NetworkGuard()
    with pytest.MonkeyPatch.context() as mp:
        guard.install(mp)
        run = run_demo(tmp_path_factory.mktemp("demo") / "demo.db", echo=lines.append)
    assert guard.refused == [], f"the demo tried to leave 127.0.0.1: {guard.refused}"
    conn = sqlite3.connect(run.db_path)
    conn.row_factory = sqlite3.Row
    yield run, lines, conn
    conn.close()


def rows(conn: sqlite3.Connection, sql: str, *params) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


# -- what the harvest produced ----------------------------------------------------------


def test_every_source_is_loopback_so_no_network_is_needed(demo):
    run, _, conn = demo
    sources = rows(conn, "SELECT name, url, local FROM sources")
    assert len(sources) == 10
    for src in sources:
        assert urlsplit(src["url"]).hostname == "127.0.0.1", src["name"]
        assert src["local"] == 1
    for item in rows(conn, "SELECT url FROM items"):
        assert urlsplit(item["url"]).hostname == "127.0.0.1"
    written = load_sources(run.sources_path)
    assert {urlsplit(s.url).hostname for s in written} == {"127.0.0.1"}


def test_every_source_ok_and_covers_every_publisher_kind(demo):
    run, _, conn = demo
    assert run.ok
    assert [o.status for o in run.outcomes] == ["ok"] * 10, [(o.source, o.error) for o in run.outcomes]
    assert all(not o.warning for o in run.outcomes)
    kinds = {r["publisher"] for r in rows(conn, "SELECT DISTINCT publisher FROM sources")}
    assert {"journal", "press", "company", "clinic", "blog", "forum", "news"} <= kinds


def test_second_pass_uses_conditional_get(demo):
    run, lines, conn = demo
    assert [o.status for o in run.second_pass] == ["not_modified"] * 10
    assert rows(conn, "SELECT count(*) AS n FROM fetches WHERE http_status = 304")[0]["n"] == 10
    assert rows(conn, "SELECT count(*) AS n FROM sources WHERE etag IS NULL OR last_modified IS NULL")[0]["n"] == 0
    assert any("Second pass" in line and "10 of 10 sources answered 304" in line for line in lines)


def test_items_are_scored_across_evidence_stages(demo):
    run, _, conn = demo
    assert 28 <= run.breakdown["items"] <= 36
    assert rows(conn, "SELECT count(*) AS n FROM items WHERE scoring_version IS NULL")[0]["n"] == 0
    stages = {r["evidence_stage"] for r in rows(conn, "SELECT DISTINCT evidence_stage FROM items")}
    assert len(stages) >= 5, stages
    assert {"low", "high"} <= {r["hype"] for r in rows(conn, "SELECT DISTINCT hype FROM items")}
    assert len(run.breakdown["treatments"]) >= 3
    # every item has a claim strength (which one is the scorer's business), and the printout orders them as it does
    from hypewatch.demo import CLAIM_ORDER
    from scoring.model import CLAIM_STRENGTHS

    assert CLAIM_ORDER == CLAIM_STRENGTHS
    assert set(run.breakdown["claim_strength"]) <= set(CLAIM_STRENGTHS)
    assert sum(run.breakdown["claim_strength"].values()) == run.breakdown["items"]


def test_off_topic_items_of_the_broad_feed_are_filtered(demo):
    run, _, conn = demo
    broad = next(o for o in run.outcomes if o.source == BROAD_FEED)
    assert broad.filtered == len(OFF_TOPIC_TITLES)
    titles = [r["title"] for r in rows(conn, "SELECT title FROM items WHERE source = ?", BROAD_FEED)]
    assert len(titles) == 3
    assert not [t for t in titles if t.startswith(OFF_TOPIC_TITLES)]


def test_full_text_is_fetched_for_teaser_items(demo):
    _, _, conn = demo
    statuses = [r["fulltext_status"] for r in rows(conn, "SELECT fulltext_status FROM items "
                                                         "WHERE fulltext_status IS NOT NULL")]
    assert statuses == ["ok"] * TEASER_ITEMS
    release = rows(conn, "SELECT summary, text FROM items WHERE title LIKE 'Northbridge scientists find%'")[0]
    assert len(release["text"]) > 3 * len(release["summary"])
    assert "carried out in mice" in release["text"]
    assert "Related stories" not in release["text"]  # the page's boilerplate stays out


def test_database_is_marked_as_sample_data(demo):
    run, _, conn = demo
    marker = rows(conn, f"SELECT note, sample_server FROM {DEMO_TABLE}")
    assert len(marker) == 1 and "Sample data" in marker[0]["note"]
    assert marker[0]["sample_server"] == run.server.base_url


def test_prints_summary_and_breakdown_and_says_it_is_sample_data(demo):
    _, lines, _ = demo
    text = "\n".join(lines)
    assert "SAMPLE DATA" in lines[0]
    assert "Journal of Hair and Scalp Research (sample)" in text
    assert "10 sources: 10 ok" in text
    assert "5 not about hair loss, skipped" in text
    for heading in ("evidence stage:", "claim strength:", "hype:", "commercial interest:", "treatments:"):
        assert heading in text
    assert f"full text fetched for {TEASER_ITEMS} teaser items" in text


def test_server_is_shut_down_after_the_run(demo):
    run, _, _ = demo
    with pytest.raises(httpx.ConnectError):
        httpx.get(run.server.base_url + "/feeds/regrowth-forum.atom", timeout=2)


# -- running again and refusing to clobber ---------------------------------------------------


def test_cli_runs_twice_with_a_fresh_database_and_ignores_hypewatch_db(tmp_path, monkeypatch):
    real = tmp_path / "hypewatch.db"
    monkeypatch.setenv("HYPEWATCH_DB", str(real))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ids = []
    for _ in range(2):
        result = runner.invoke(cli, ["demo", "--no-serve"])
        assert result.exit_code == 0, result.output
        assert "SAMPLE DATA" in result.output
        conn = sqlite3.connect(tmp_path / "demo.db")
        ids.append(sorted(r[0] for r in conn.execute("SELECT id FROM items")))
        conn.close()
    assert not real.exists()
    assert ids[0] == ids[1]  # deterministic: same items, same ids, whatever port the server got
    conn = sqlite3.connect(tmp_path / "demo.db")
    try:
        # fresh each time: one run's fetches (two passes of ten sources), not two runs'
        assert conn.execute("SELECT count(*) FROM fetches").fetchone()[0] == 20
        assert conn.execute(f"SELECT count(*) FROM {DEMO_TABLE}").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] >= 28
    finally:
        conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_refuses_to_overwrite_a_real_database(tmp_path):
    path = tmp_path / "hypewatch.db"
    db = open_db(path)
    sync_sources(db, [s.as_row() for s in load_sources(BUNDLED_SOURCES)])
    db.close()
    before = _digest(path)
    with pytest.raises(DemoError, match="not a hypewatch demo database"):
        run_demo(path, echo=lambda line: None)
    assert _digest(path) == before
    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--db", str(path)])
    assert result.exit_code == 2
    assert "not a hypewatch demo database" in result.output and "--db" in result.output
    assert _digest(path) == before


def test_refuses_a_file_that_is_not_sqlite_and_a_demo_db_with_foreign_sources(tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("my precious notes\n" * 100)
    with pytest.raises(DemoError, match="not a readable SQLite database"):
        check_replaceable(notes)
    mixed = tmp_path / "mixed.db"
    db = open_db(mixed)
    db[DEMO_TABLE].insert({"id": 1, "note": "x"}, pk="id")
    sync_sources(db, [{"name": "My real feed", "url": "https://example.org/feed", "kind": "feed",
                       "publisher": "news", "every": 3600}])
    db.close()
    with pytest.raises(DemoError, match="My real feed"):
        check_replaceable(mixed)
    empty = tmp_path / "empty.db"
    empty.touch()
    check_replaceable(empty)  # nothing to lose
    check_replaceable(tmp_path / "absent.db")


def test_refuses_to_overwrite_a_sources_file_it_did_not_write(tmp_path):
    (tmp_path / "demo.sources.toml").write_text("[[source]]\nname = 'mine'\nurl = 'https://example.org/'\n")
    with pytest.raises(DemoError, match="not written by `hypewatch demo`"):
        run_demo(tmp_path / "demo.db", echo=lambda line: None)
    assert not (tmp_path / "demo.db").exists()


def test_busy_port_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(DemoError, match="--port 0"):
            DemoServer(port=sock.getsockname()[1])


# -- the sample server and data --------------------------------------------------------------


def test_server_content_types_validators_and_404():
    with DemoServer() as server:
        url = server.base_url + "/feeds/journal-hair-scalp.rss"
        first = httpx.get(url)
        assert first.status_code == 200
        assert first.headers["content-type"].startswith("application/rss+xml")
        assert server.base_url.encode() in first.content and b"{base}" not in first.content
        etag = first.headers["etag"]
        assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
        assert httpx.get(url, headers={"If-None-Match": f'W/{etag}, "other"'}).status_code == 304
        assert httpx.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
        assert httpx.get(url, headers={"If-Modified-Since": LAST_MODIFIED}).status_code == 304
        assert httpx.get(url, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}).status_code == 200
        assert httpx.head(url).headers["content-length"] == str(len(first.content))
        types = {path.rsplit(".", 1)[-1]: httpx.get(server.base_url + path).headers["content-type"]
                 for path in server.resources if path.startswith("/feeds/")}
        assert types["json"].startswith("application/feed+json")
        assert types["atom"].startswith("application/atom+xml")
        assert types["rdf"].startswith("application/rdf+xml")
        page = httpx.get(server.base_url + "/pages/folliqor-first-patient-dosed.html?utm_source=rss")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert httpx.get(server.base_url + "/pages/../sources.toml").status_code == 404
        missing = httpx.get(server.base_url + "/journal/jhsr-2026-0187")
        assert missing.status_code == 404 and "whole text" in missing.text
        assert "sample" in httpx.get(server.base_url + "/").text.lower()


def test_sample_feeds_cover_every_format_and_enough_items():
    with DemoServer() as server:
        versions: set[str] = set()
        total = 0
        for path, res in server.resources.items():
            if not path.startswith("/feeds/"):
                continue
            parsed = parse_feed(res.body, url=server.base_url + path, headers={"content-type": res.content_type})
            assert parsed.entries and parsed.warning is None, path
            total += len(parsed.entries)
            head = res.body[:400]
            versions.add("json" if path.endswith(".json") else "rdf" if b"rdf:RDF" in head
                         else "atom" if b"<feed" in head else "rss2")
            for entry in parsed.entries:
                assert entry.published and entry.published < "2026-11-20", (path, entry.title)
        assert versions == {"json", "rdf", "atom", "rss2"}
        assert 30 <= total <= 40


def test_demo_sources_template_is_valid_and_local(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(demo_sources("http://127.0.0.1:8123"), encoding="utf-8")
    sources = load_sources(path)
    assert all(s.local and s.url.startswith("http://127.0.0.1:8123/feeds/") for s in sources)
    assert [s.name for s in sources if s.filter] == [BROAD_FEED]
    template = tomllib.loads(demo_data().joinpath("sources.toml").read_text(encoding="utf-8"))
    assert all("{base}" in s["url"] for s in template["source"])


def test_citations_are_checked_against_the_sample_services(demo):
    """The clinic page's references: one does not exist, one is about bone; the sample server plays
    Crossref, PubMed and ClinicalTrials.gov, so no request leaves the machine."""
    run, lines, conn = demo
    assert run.citations.items >= 30 and run.citations.works_resolved >= 15
    assert any(line.startswith("Citations:") and "flagged" in line for line in lines)
    verdicts = {r["value"]: (r["verdict"], r["reasons"]) for r in rows(
        conn, "select c.value, c.verdict, c.reasons from citations c join items i on i.id = c.item_id "
              "where i.title like 'Exosome Hair Therapy%'")}
    assert verdicts["10.5555/jrt.2025.0108"][0] == "not_found"
    [bone] = [v for k, v in verdicts.items() if "calvarial" in k]
    assert bone[0] == "off_topic" and "bone" in bone[1].lower()
    assert verdicts["10.5555/efb.2026.0377"][0] == "ok"
    flagged = rows(conn, "select count(*) as n from citations where verdict in ('not_found', 'mismatch', 'off_topic', "
                         "'retracted')")[0]["n"]
    assert flagged == 2  # nothing else in the sample is accused


def test_one_study_is_told_four_ways_with_its_gaps(demo):
    run, lines, conn = demo
    [study] = rows(conn, "select * from studies where paper_key = 'doi:10.5555/efb.2026.0412'")
    tellings = {r["role"]: r for r in rows(conn, "select * from study_items where study_id = ?", study["id"])}
    assert {"journal", "press", "news", "clinic"} <= set(tellings)
    assert study["design"] == "animal" and study["worst_gap"] == "stage_claim"
    for role in ("press", "news", "clinic"):
        assert tellings[role]["gap"] == "stage_claim" and tellings[role]["gap_reason"], role
