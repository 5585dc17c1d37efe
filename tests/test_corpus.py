"""Robustness on other people's files: every feed of feedparser's test corpus, harvested for real.

The corpora live next to the repository (``../shared/corpora``, or ``$HYPEWATCH_SHARED/corpora``)
on the project's machines only; a user's clone lacks them, so these tests skip there.
Every file is served over a local HTTP server and harvested as its own source through the
real pipeline into a real SQLite file: nothing may crash, and every failure must be on record.
"""

from __future__ import annotations

import html
import os
import re
import threading
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from db import list_sources
from harvester.fetch import FetchLimits
from harvester.pipeline import HarvestSettings, harvest
from tests.conftest import configure

SHARED = Path(os.environ.get("HYPEWATCH_SHARED") or Path(__file__).resolve().parents[2] / "shared")
FEED_CORPUS = SHARED / "corpora" / "feedparser"
PAGE_CORPUS = SHARED / "corpora" / "trafilatura"

LIMITS = FetchLimits(connect_timeout=5, read_timeout=10, deadline=30)
#: Share of the feedparser corpus that must parse: it is mostly well-formed feeds, one per
#: feature, plus ill-formed, entity and encoding cases. 2,103 of its 2,124 files parse today;
#: the 21 failures are non-feeds (its README, XML with other roots) and hopelessly broken feeds.
FEED_OK_FLOOR = 0.95


class _Handler(SimpleHTTPRequestHandler):
    """Files of one directory with types guessed from their extension, plus generated documents."""

    extra: dict[str, tuple[bytes, str]] = {}

    def do_GET(self) -> None:  # noqa: N802
        found = self.extra.get(self.path)
        if found is None:
            return super().do_GET()
        body, ctype = found
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the harvester opens dozens of connections at once; 5 would drop SYNs


class CorpusServer:
    """ThreadingHTTPServer on 127.0.0.1 in a thread: listening (so ready) when the constructor returns."""

    def __init__(self, root: Path, extra: dict[str, tuple[bytes, str]] | None = None) -> None:
        handler = type("Handler", (_Handler,), {"extra": {} if extra is None else extra})
        self.root = root
        self.server = _Server(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: Path | str) -> str:
        rel = path.relative_to(self.root).as_posix() if isinstance(path, Path) else path
        return f"http://127.0.0.1:{self.server.server_address[1]}/{quote(rel)}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _reason(error: str) -> str:
    """A failure's category: its message without the URL and the specifics."""
    text = re.sub(r"^https?://\S+: ", "", error)
    if root := re.search(r"root is <([^>]+)>", text):
        return f"not a feed: XML root <{root.group(1)}>"
    if m := re.match(r"(not a feed \((?:got an HTML page|could not read it|invalid JSON|got JSON))", text):
        return m.group(1).replace(" (", ": ")
    if re.match(r"broken \S+ feed", text):
        return "broken feed, nothing readable"
    return re.split(r"[(:;]", text, maxsplit=1)[0].strip()


def _fetch_rows(db) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {}
    for source, status, error in db.execute("select source, status, error from fetches"):
        rows.setdefault(source, []).append((status, error))
    return rows


@pytest.mark.skipif(not FEED_CORPUS.is_dir(), reason=f"no feed corpus at {FEED_CORPUS}")
def test_every_file_of_the_feedparser_corpus_is_harvested_or_its_failure_recorded(database):
    files = _files(FEED_CORPUS)
    assert len(files) > 2000, "the corpus looks incomplete"
    server = CorpusServer(FEED_CORPUS)
    try:
        names = {}
        for path in files:
            names[path.relative_to(FEED_CORPUS).as_posix()] = server.url(path)
        configure(database, *({"name": name, "url": url, "local": True} for name, url in names.items()))
        settings = HarvestSettings(concurrency=32, per_host=32, fulltext=False, limits=LIMITS)
        outcomes = harvest(database, include_not_due=True, settings=settings)
    finally:
        server.close()

    assert len(outcomes) == len(files)
    crashed = [(o.source, o.error) for o in outcomes if o.error and "internal error" in o.error]
    assert not crashed, f"unhandled exceptions: {crashed[:5]}"

    sources = {s["name"]: s for s in list_sources(database)}
    fetches = _fetch_rows(database)
    for o in outcomes:
        assert len(fetches[o.source]) == 1, f"{o.source}: expected one fetch row, got {fetches[o.source]}"
        status, error = fetches[o.source][0]
        assert status == o.status
        if o.status == "failed":
            assert o.error and error == o.error
            assert sources[o.source]["last_error"] == o.error, o.source
            assert sources[o.source]["last_status"] == "failed" and sources[o.source]["error_count"] == 1
        else:
            assert o.status == "ok", (o.source, o.status)
            assert sources[o.source]["last_error"] is None and sources[o.source]["last_success_at"]

    counts = Counter(o.status for o in outcomes)
    reasons = Counter(_reason(o.error) for o in outcomes if o.status == "failed")
    summary = f"{dict(counts)}; failures by reason: {reasons.most_common()}"
    print(summary)
    assert counts["ok"] >= FEED_OK_FLOOR * len(files), summary
    # Things that must parse whatever else happens: the documentation's examples and the JSON Feed.
    for name in ("docs/examples/examples/rss20.xml", "docs/examples/examples/atom10.xml",
                 "docs/examples/examples/rss10.rdf", "tests/json/example.json"):
        outcome = next(o for o in outcomes if o.source == name)
        # new or updated: feeds of the corpus share article URLs, and a URL is one item whichever feed has it.
        assert outcome.status == "ok" and outcome.new + outcome.updated > 0, (name, outcome)
    stored = database.execute("select count(*) from items").fetchone()[0]
    assert 0 < stored <= sum(o.new for o in outcomes)  # an id two feeds share counts as new in both
    # Stored HTML went through the sanitiser: the corpus's sanitize/ cases carry scripts and handlers.
    hostile = database.execute(
        "select count(*) from items where summary_html like '%<script%' or summary_html like '%javascript:%'"
        " or summary_html like '%onerror=%' or summary_html like '%onclick=%'"
    ).fetchone()[0]
    assert hostile == 0


def _pages_feed(server: CorpusServer, pages: list[Path]) -> bytes:
    items = "".join(
        f"<item><title>Page {i}</title><link>{html.escape(server.url(p))}</link>"
        f"<guid isPermaLink=\"false\">page-{i}</guid><description>Short teaser {i}.</description></item>"
        for i, p in enumerate(pages)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>pages</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


@pytest.mark.skipif(not PAGE_CORPUS.is_dir(), reason=f"no page corpus at {PAGE_CORPUS}")
def test_full_text_of_every_trafilatura_page_is_extracted_or_its_status_recorded(database):
    pages = [p for p in _files(PAGE_CORPUS) if p.suffix == ".html"]
    assert len(pages) > 150, "the corpus looks incomplete"
    extra: dict[str, tuple[bytes, str]] = {}
    server = CorpusServer(PAGE_CORPUS, extra)
    try:
        extra["/_pages.rss"] = (_pages_feed(server, pages), "application/rss+xml")
        configure(database, {"name": "pages", "url": server.url("_pages.rss"), "local": True})
        settings = HarvestSettings(fulltext=True, fulltext_concurrency=8, fulltext_per_source=len(pages),
                                   limits=LIMITS)
        (outcome,) = harvest(database, include_not_due=True, settings=settings)
    finally:
        server.close()

    assert outcome.status == "ok" and outcome.new == len(pages), outcome
    statuses = dict(database.execute("select url, fulltext_status from items").fetchall())
    assert len(statuses) == len(pages)
    assert all(statuses.values()), "every page gets a full-text status"
    counts = Counter(s if s in ("ok", "empty") else _reason(s.removeprefix("error: ")) for s in statuses.values())
    print(dict(counts))
    assert not [s for s in statuses.values() if s == "pending" or "internal error" in s]
    assert counts["ok"] >= 0.75 * len(pages), counts
    longest = database.execute("select max(length(text)) from items").fetchone()[0]
    assert longest > 2000  # the extracted article replaced the teaser
