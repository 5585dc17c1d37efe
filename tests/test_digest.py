"""Digests: periods and their boundaries, idempotence, section order, escaping, the CLI and /hypewatch/digest.atom."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest
from click.testing import CliRunner

from db import open_db, save_harvest, save_scores, sync_sources
from db.digests import get_digest
from hypewatch.cli import cli
from hypewatch.digest import (
    ALLOWED_TAGS,
    build_digest_entries,
    build_digests,
    digest_title,
    label_words,
    period_bounds,
    render_digest,
)

ROOT = Path(__file__).resolve().parent.parent
METADATA = ROOT / "deploy" / "datasette" / "metadata.yaml"
UTC = timezone.utc
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)  # weeks run Monday 00:00 UTC to the next Monday
AFTER_WEEK = datetime(2026, 11, 23, 0, 0, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def make_item(ident: str, first_seen_at: str, **labels) -> dict:
    row = {
        "id": ident, "source": "Journal", "publisher": "journal", "url": f"https://journal.example/{ident}",
        "canonical_url": None, "title": f"Item {ident}", "author": None, "published": None, "updated": None,
        "summary": f"Summary of {ident}.", "summary_html": None, "text": "", "doi": None, "pmid": None,
        "nct_ids": [], "meta": {}, "first_seen_at": first_seen_at, "fetched_at": first_seen_at,
        "content_hash": "h-" + ident, "fulltext_status": None, "relevant": True, "evidence_stage": "animal",
        "commercial_interest": "none", "hype": "low", "hype_score": 20, "treatments": [],
        "reasons": [{"dimension": "evidence_stage", "label": labels.get("evidence_stage", "animal"),
                     "cue": "in mice", "snippet": "…in mice…", "weight": 2.0}],
        "scoring_version": "test", "scored_at": first_seen_at,
    }
    row.update(labels)
    return row


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "hypewatch.db")
    sync_sources(database, [{"name": "Journal", "url": "https://journal.example/feed", "kind": "feed",
                             "publisher": "journal", "every": 3600}])
    yield database
    database.close()


def add(db, *items: dict) -> None:
    save_harvest(db, "Journal", source_changes={}, new_items=list(items),
                 fetch={"started_at": "2026-11-01T00:00:00Z", "status": "ok"})


def rows(db) -> list[dict]:
    return list(db["digests"].rows_where(order_by="id"))


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def tags_of(fragment: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = TagCollector()
    parser.feed(fragment)
    return parser.tags


# -- periods ---------------------------------------------------------------------------------


def test_period_bounds_weekly_and_daily():
    sunday_night = datetime(2026, 11, 15, 23, 59, 59, tzinfo=UTC)
    assert period_bounds("weekly", sunday_night) == (datetime(2026, 11, 9, tzinfo=UTC), MONDAY)
    assert period_bounds("weekly", MONDAY) == (MONDAY, MONDAY + timedelta(days=7))
    assert period_bounds("daily", sunday_night) == (datetime(2026, 11, 15, tzinfo=UTC), MONDAY)
    assert period_bounds("daily", MONDAY) == (MONDAY, MONDAY + timedelta(days=1))
    # other time zones are converted, naive times are UTC
    assert period_bounds("weekly", datetime(2026, 11, 16, 0, 30, tzinfo=timezone(timedelta(hours=2))))[0] \
        == datetime(2026, 11, 9, tzinfo=UTC)
    assert period_bounds("daily", datetime(2026, 11, 16, 12))[0] == MONDAY
    with pytest.raises(ValueError, match="weekly"):
        period_bounds("monthly", MONDAY)


def test_titles_span_months_and_years():
    assert digest_title("weekly", MONDAY, MONDAY + timedelta(days=7)) == "hypewatch weekly digest: 16–22 Nov 2026"
    nov30 = datetime(2026, 11, 30, tzinfo=UTC)
    assert digest_title("weekly", nov30, nov30 + timedelta(days=7)) == "hypewatch weekly digest: 30 Nov – 6 Dec 2026"
    dec29 = datetime(2025, 12, 29, tzinfo=UTC)
    assert digest_title("weekly", dec29, dec29 + timedelta(days=7)) \
        == "hypewatch weekly digest: 29 Dec 2025 – 4 Jan 2026"
    assert digest_title("daily", MONDAY, MONDAY + timedelta(days=1)) == "hypewatch daily digest: 16 Nov 2026"


def test_sunday_2359_and_monday_0000_fall_in_different_weeks(db):
    add(db, make_item("sun", "2026-11-15T23:59:59Z"), make_item("mon", "2026-11-16T00:00:00Z"))
    assert build_digests(db, now=AFTER_WEEK) == ["weekly-2026-11-09", "weekly-2026-11-16"]
    earlier, later = get_digest(db, "weekly-2026-11-09"), get_digest(db, "weekly-2026-11-16")
    assert earlier["item_ids"] == ["sun"] and later["item_ids"] == ["mon"]
    assert (earlier["period_start"], earlier["period_end"]) == ("2026-11-09T00:00:00Z", "2026-11-16T00:00:00Z")
    assert (later["period_start"], later["period_end"]) == ("2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")
    assert later["title"] == "hypewatch weekly digest: 16–22 Nov 2026"
    assert later["item_count"] == 1 and later["period"] == "weekly"


def test_unfinished_period_is_not_built(db):
    add(db, make_item("sun", "2026-11-15T23:59:59Z"), make_item("mon", "2026-11-16T00:00:00Z"))
    assert build_digests(db, now=datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC)) == ["weekly-2026-11-09"]
    assert [r["id"] for r in rows(db)] == ["weekly-2026-11-09"]
    # the week ends: the next run builds it
    assert build_digests(db, now=datetime(2026, 11, 23, tzinfo=UTC)) == ["weekly-2026-11-09", "weekly-2026-11-16"]


def test_daily_mode(db):
    add(db, make_item("a", "2026-11-17T08:00:00Z"), make_item("b", "2026-11-17T23:59:59Z"),
        make_item("c", "2026-11-18T00:00:00Z"), make_item("today", "2026-11-19T09:00:00Z"))
    now = datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert build_digests(db, period="daily", now=now) == ["daily-2026-11-17", "daily-2026-11-18"]
    first = get_digest(db, "daily-2026-11-17")
    assert first["title"] == "hypewatch daily digest: 17 Nov 2026"
    assert sorted(first["item_ids"]) == ["a", "b"] and first["period"] == "daily"
    assert first["period_end"] == "2026-11-18T00:00:00Z"
    # weekly and daily entries live side by side
    assert build_digests(db, now=datetime(2026, 11, 23, tzinfo=UTC)) == ["weekly-2026-11-16"]
    assert get_digest(db, "weekly-2026-11-16")["item_count"] == 4
    assert {r["period"] for r in rows(db)} == {"daily", "weekly"}


def test_only_relevant_scored_items_and_empty_periods_get_no_entry(db):
    add(db, make_item("off", "2026-11-10T00:00:00Z", relevant=False),
        make_item("unscored", "2026-11-11T00:00:00Z", relevant=None, evidence_stage=None, hype=None,
                  commercial_interest=None, scoring_version=None),
        make_item("on", "2026-11-17T00:00:00Z"))
    assert build_digests(db, now=AFTER_WEEK) == ["weekly-2026-11-16"]
    assert get_digest(db, "weekly-2026-11-16")["item_ids"] == ["on"]


# -- idempotence and updates ---------------------------------------------------------------


def test_idempotent_rebuild_keeps_rows_and_updated_at(db):
    add(db, make_item("a", "2026-11-16T10:00:00Z"), make_item("b", "2026-11-10T10:00:00Z"))
    first = build_digest_entries(db, now=AFTER_WEEK)
    assert [(r.id, r.status) for r in first] == [("weekly-2026-11-09", "new"), ("weekly-2026-11-16", "new")]
    before = rows(db)
    for later in (AFTER_WEEK, AFTER_WEEK + timedelta(days=1)):
        again = build_digest_entries(db, now=later, rebuild=True)
        assert [(r.id, r.status) for r in again] == [("weekly-2026-11-09", "unchanged"),
                                                      ("weekly-2026-11-16", "unchanged")]
        assert rows(db) == before
    assert all(r["created_at"] == r["updated_at"] == "2026-11-23T00:00:01Z" for r in before)


def test_changed_labels_update_html_and_updated_at_only(db):
    add(db, make_item("a", "2026-11-16T10:00:00Z"))
    build_digests(db, now=AFTER_WEEK)
    old = get_digest(db, "weekly-2026-11-16")
    save_scores(db, [{"id": "a", "hype": "high", "hype_score": 95}])
    later = AFTER_WEEK + timedelta(hours=5)
    # the default run always re-checks the newest entry
    assert [(r.id, r.status) for r in build_digest_entries(db, now=later)] == [("weekly-2026-11-16", "updated")]
    new = get_digest(db, "weekly-2026-11-16")
    assert new["html"] != old["html"] and "Hype alerts" in new["html"]
    assert new["created_at"] == old["created_at"] and new["updated_at"] == "2026-11-23T05:00:01Z"
    assert new["counts"]["hype"] == {"high": 1}


def test_item_scored_late_lands_in_its_period(db):
    add(db, make_item("early", "2026-11-09T10:00:00Z"), make_item("new", "2026-11-10T10:00:00Z"),
        make_item("late", "2026-11-15T23:00:00Z", relevant=None, scoring_version=None),
        make_item("next", "2026-11-17T10:00:00Z"))
    build_digests(db, now=datetime(2026, 11, 16, 0, 0, 30, tzinfo=UTC))
    assert get_digest(db, "weekly-2026-11-09")["item_ids"] == ["new", "early"]
    save_scores(db, [{"id": "late", "relevant": True}])
    results = build_digest_entries(db, now=AFTER_WEEK)
    assert [(r.id, r.status) for r in results] == [("weekly-2026-11-09", "updated"), ("weekly-2026-11-16", "new")]
    assert get_digest(db, "weekly-2026-11-09")["item_ids"] == ["late", "new", "early"]


def test_nothing_new_builds_nothing(db):
    assert build_digests(db, now=AFTER_WEEK) == []
    add(db, make_item("a", "2026-11-10T10:00:00Z"))
    assert build_digests(db, now=AFTER_WEEK) == ["weekly-2026-11-09"]
    # the newest entry is re-checked, older ones are left alone unless asked
    add(db, make_item("b", "2026-11-03T10:00:00Z"))
    assert build_digests(db, now=AFTER_WEEK) == ["weekly-2026-11-09"]


def test_first_run_reaches_back_a_limited_number_of_periods(db):
    add(db, make_item("old", "2026-06-01T10:00:00Z"), make_item("recent", "2026-11-02T10:00:00Z"))
    assert build_digests(db, now=AFTER_WEEK) == ["weekly-2026-11-02"]
    assert build_digests(db, now=AFTER_WEEK, rebuild=True) == ["weekly-2026-06-01", "weekly-2026-11-02"]
    assert build_digests(db, now=AFTER_WEEK, since=at("2026-06-03T00:00:00Z")) \
        == ["weekly-2026-06-01", "weekly-2026-11-02"]
    assert build_digests(db, now=AFTER_WEEK, lookback=30) == ["weekly-2026-11-02"]


def test_include_current_builds_a_preview_that_later_runs_complete(db):
    add(db, make_item("a", "2026-11-17T10:00:00Z"))
    midweek = datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert build_digests(db, now=midweek) == []
    assert build_digests(db, now=midweek, include_current=True) == ["weekly-2026-11-16"]
    assert get_digest(db, "weekly-2026-11-16")["item_ids"] == ["a"]
    add(db, make_item("b", "2026-11-21T10:00:00Z"))
    results = build_digest_entries(db, now=AFTER_WEEK)
    assert [(r.id, r.status) for r in results] == [("weekly-2026-11-16", "updated")]
    assert get_digest(db, "weekly-2026-11-16")["item_ids"] == ["b", "a"]


def test_period_with_no_relevant_item_left_is_removed(db):
    add(db, make_item("a", "2026-11-10T10:00:00Z"), make_item("b", "2026-11-17T10:00:00Z"))
    build_digests(db, now=AFTER_WEEK)
    save_scores(db, [{"id": "a", "relevant": False}])
    results = build_digest_entries(db, now=AFTER_WEEK, rebuild=True)
    assert [(r.id, r.status) for r in results] == [("weekly-2026-11-09", "removed"),
                                                    ("weekly-2026-11-16", "unchanged")]
    assert [r["id"] for r in rows(db)] == ["weekly-2026-11-16"]


# -- the HTML ------------------------------------------------------------------------------


def test_sections_in_reading_order(db):
    add(db,
        make_item("none1", "2026-11-16T01:00:00Z", evidence_stage="none", commercial_interest="direct"),
        make_item("rct", "2026-11-16T02:00:00Z", evidence_stage="human_rct", commercial_interest="indirect"),
        make_item("mice", "2026-11-16T03:00:00Z", evidence_stage="animal"),
        make_item("hyped", "2026-11-16T04:00:00Z", evidence_stage="in_vitro", hype="high", hype_score=70,
                  reasons=[{"dimension": "evidence_stage", "label": "in_vitro", "cue": "cultured", "weight": 1},
                           {"dimension": "hype", "label": "high", "cue": "cures baldness", "weight": 3}]),
        make_item("hypier", "2026-11-16T05:00:00Z", evidence_stage="none", hype="high", hype_score=90),
        make_item("meta", "2026-11-16T06:00:00Z", evidence_stage="meta_analysis"),
        make_item("pilot", "2026-11-16T07:00:00Z", evidence_stage="human_uncontrolled"),
        make_item("dish", "2026-11-16T08:00:00Z", evidence_stage="in_vitro"),
        make_item("weird", "2026-11-16T09:00:00Z", evidence_stage="something_new"))
    build_digests(db, now=AFTER_WEEK)
    entry = get_digest(db, "weekly-2026-11-16")
    body = entry["html"]
    headings = ["New human evidence", "Hype alerts", "Everything else, by evidence",
                "Human studies without a control group", "Animal studies", "Cell and tissue studies",
                "No study behind the claim", "Evidence not classified"]
    positions = [body.index(h) for h in headings]
    assert positions == sorted(positions)
    # meta-analysis before RCT; hype alerts by hype score; every item exactly once
    assert entry["item_ids"] == ["meta", "rct", "hypier", "hyped", "pilot", "mice", "dish", "none1", "weird"]
    for ident in entry["item_ids"]:
        assert body.count(f'href="https://journal.example/{ident}"') == 1
    assert "Human RCT · Indirect commercial interest · Low hype" in body
    assert "No study · Direct commercial interest · Low hype" in body
    assert "Why: “cures baldness” (hype)" in body  # in the hype section, the hype cue
    assert "Why: “in mice” (evidence stage)" in body
    assert entry["counts"]["evidence_stage"]["human_rct"] == 1
    assert entry["counts"]["hype"] == {"high": 2, "low": 7}
    assert entry["counts"]["human_evidence"] == 2 and entry["counts"]["hype_alerts"] == 2
    assert "9 relevant items first seen 16–22 Nov 2026 (UTC): 2 with new human evidence, 2 with high hype." in body


def test_claim_strength_stands_next_to_the_evidence_when_the_item_makes_a_claim(db):
    add(db,
        make_item("cure", "2026-11-16T01:00:00Z", claim_strength="direct_causal", hype="high", hype_score=80),
        make_item("may", "2026-11-16T02:00:00Z", claim_strength="conditional_causal"),
        make_item("linked", "2026-11-16T03:00:00Z", claim_strength="correlational"),
        make_item("plan", "2026-11-16T04:00:00Z", evidence_stage="none", claim_strength="no_claim"),
        make_item("older", "2026-11-16T05:00:00Z", evidence_stage="in_vitro"))  # scored before the label existed
    build_digests(db, now=AFTER_WEEK)
    entry = get_digest(db, "weekly-2026-11-16")
    body = entry["html"]
    assert "Animal study · Direct causal claim · No commercial interest · High hype (hype score 80)" in body
    assert "Animal study · Conditional causal claim · No commercial interest · Low hype" in body
    assert "Animal study · Correlational claim · No commercial interest · Low hype" in body
    assert "No study · No commercial interest · Low hype" in body  # no claim: nothing to name
    assert "Cells or tissue in the lab · No commercial interest · Low hype" in body
    assert body.count(" claim · ") == 3
    assert entry["counts"]["claim_strength"] == {"None": 1, "conditional_causal": 1, "correlational": 1,
                                                 "direct_causal": 1, "no_claim": 1}
    assert label_words({"evidence_stage": "animal", "claim_strength": "brand_new", "hype": "low"}) \
        == "Animal study · Brand new claim · Unknown commercial interest · Low hype"


def test_a_busy_week_is_capped_but_every_item_is_counted():
    from hypewatch.digest import MAX_PER_GROUP, MAX_PER_SECTION

    n_alerts, n_mice = MAX_PER_SECTION + 5, MAX_PER_GROUP + 3
    items = [make_item(f"h{i:03}", "2026-11-16T01:00:00Z", hype="high", hype_score=i) for i in range(n_alerts)]
    items += [make_item(f"m{i:03}", f"2026-11-17T00:{i:02}:00Z") for i in range(n_mice)]
    body, counts, order = render_digest(items, "weekly", MONDAY, MONDAY + timedelta(days=7))
    assert counts["items"] == len(order) == len(set(order)) == n_alerts + n_mice
    assert body.count("<li>") == MAX_PER_SECTION + MAX_PER_GROUP
    assert "…and 5 more, on the site." in body and "…and 3 more, on the site." in body
    # the most hyped and the newest are the ones shown
    assert order[0] == f"h{n_alerts - 1:03}" and order[MAX_PER_SECTION] == f"m{n_mice - 1:03}"
    assert "https://journal.example/h000" not in body


def test_item_shows_dates_source_and_treatments():
    item = make_item("x", "2026-11-18T10:00:00Z", published="Tue, 17 Nov 2026 08:00:00 GMT",
                     treatments=["minoxidil", "prp"])
    body, _, _ = render_digest([item], "weekly", MONDAY, MONDAY + timedelta(days=7))
    assert "Journal (journal) · published 17 Nov 2026 · seen 18 Nov 2026" in body
    assert "Treatments: minoxidil, prp" in body
    assert "Summary of x." in body
    assert label_words({"evidence_stage": None, "commercial_interest": "odd_value", "hype": "medium"}) \
        == "Unknown evidence · Odd value commercial interest · Medium hype"


HOSTILE = [
    make_item("h1", "2026-11-16T01:00:00Z", title="<script>alert('t')</script>Miracle cure",
              url="javascript:alert(document.cookie)", summary='<img src=x onerror="alert(1)"> bald no more'),
    make_item("h2", "2026-11-16T02:00:00Z", title='"><svg onload=alert(2)>', hype="high",
              url='https://evil.example/"onmouseover="alert(3)', summary="</li></ul><script>alert(4)</script>",
              reasons=[{"dimension": "hype", "label": "high", "cue": "<b onclick=alert(5)>cure</b>", "weight": 1}]),
    make_item("h3", "2026-11-16T03:00:00Z", title="Ctrl\x00\x07chars\x1b[31m", url=" JAVASCRIPT:alert(6)",
              canonical_url="data:text/html,<script>alert(7)</script>", summary="<!-- x --><iframe src=//e>"),
    make_item("h4", "2026-11-16T04:00:00Z", title="vbscript", url="vbscript:msgbox(1)", summary="&lt;script&gt;"),
    make_item("h5", "2026-11-16T05:00:00Z", title="relative", url="/local/page", treatments=["<i>x</i>"]),
]


def assert_harmless(body: str) -> None:
    for tag, attrs in tags_of(body):
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert tag == "a" and name in {"href", "rel"}, (tag, name)
            if name == "href":
                assert value.startswith(("https://", "http://")), value
    lowered = body.lower()
    for needle in ("<script", "<svg", "<img", "<iframe", "javascript:alert(6)\"", "href=\"javascript",
                   "href=\"data:", "href=\"vbscript", "<!--"):
        assert needle not in lowered, needle
    assert not any(ch in body for ch in "\x00\x07\x1b")


def test_hostile_titles_summaries_and_urls_are_escaped(db):
    add(db, *HOSTILE)
    build_digests(db, now=AFTER_WEEK)
    body = get_digest(db, "weekly-2026-11-16")["html"]
    assert_harmless(body)
    # the text is still there to read, escaped
    assert "&lt;script&gt;alert('t')&lt;/script&gt;Miracle cure" in body or \
        "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;Miracle cure" in body
    assert "&lt;img src=x onerror=" in body and "&lt;b onclick=alert(5)&gt;cure&lt;/b&gt;" in body
    assert "&amp;lt;script&amp;gt;" in body  # entities in text stay text
    # only the one http(s) link survives, with its quotes escaped inside the attribute
    hrefs = [v for tag, attrs in tags_of(body) for k, v in attrs if k == "href"]
    assert hrefs == ['https://evil.example/"onmouseover="alert(3)']
    assert "<strong>Ctrlchars[31m</strong>" in body


# -- the command -----------------------------------------------------------------------------


def test_cli_digest_builds_reports_and_is_idempotent(tmp_path):
    path = tmp_path / "hypewatch.db"
    database = open_db(path)
    sync_sources(database, [{"name": "Journal", "url": "https://journal.example/feed", "kind": "feed",
                             "publisher": "journal", "every": 3600}])
    now = datetime.now(UTC)
    week_ago, two_weeks_ago = now - timedelta(days=8), now - timedelta(days=15)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    add(database, make_item("a", week_ago.strftime(stamp)), make_item("b", two_weeks_ago.strftime(stamp)),
        make_item("c", two_weeks_ago.strftime(stamp)), make_item("now", now.strftime(stamp)))
    database.close()
    expected = [f"weekly-{period_bounds('weekly', t)[0]:%Y-%m-%d}" for t in (two_weeks_ago, week_ago)]
    runner = CliRunner()
    result = runner.invoke(cli, ["digest", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"built 2 digests: {expected[0]} (2 items), {expected[1]} (1 item)\n"
    again = runner.invoke(cli, ["digest", "--db", str(path)], env={"HYPEWATCH_DB": "ignored.db"})
    assert again.exit_code == 0 and again.output == f"built 1 digest: {expected[1]} (1 item, unchanged)\n"
    rebuilt = runner.invoke(cli, ["digest", "--rebuild"], env={"HYPEWATCH_DB": str(path)})
    assert rebuilt.exit_code == 0 and "built 2 digests" in rebuilt.output and "unchanged" in rebuilt.output
    daily = runner.invoke(cli, ["digest", "--db", str(path), "--period", "daily"])
    # a first daily run reaches back 12 days: the item seen 15 days ago is outside
    assert daily.exit_code == 0 and daily.output == f"built 1 digest: daily-{week_ago:%Y-%m-%d} (1 item)\n"
    current = runner.invoke(cli, ["digest", "--db", str(path), "--include-current"])
    assert current.exit_code == 0, current.output
    assert current.output.endswith(f"weekly-{period_bounds('weekly', now)[0]:%Y-%m-%d} (1 item)\n")


def test_cli_digest_usage_and_config_errors(tmp_path):
    runner = CliRunner()
    assert runner.invoke(cli, ["digest", "--db", str(tmp_path / "x.db"), "--period", "monthly"]).exit_code == 2
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = runner.invoke(cli, ["digest", "--db", str(bad)])
    assert result.exit_code == 2 and "cannot open as a hypewatch database" in result.output
    empty = runner.invoke(cli, ["digest", "--db", str(tmp_path / "empty.db")])
    assert empty.exit_code == 0 and empty.output.startswith("No weekly digest to build")


# -- the feed --------------------------------------------------------------------------------

# The canned query as shipped in deploy/datasette/metadata.yaml; used only while that file is not there yet.
FALLBACK_QUERY = {
    "title": "hypewatch digest",
    "sql": (
        "select 'tag:hypewatch,2026:digest/' || id as atom_id, title as atom_title, "
        "updated_at as atom_updated, html as atom_content_html, '/hypewatch/digests/' || id as atom_link, "
        "id, period, period_start, period_end, item_count from digests "
        "where :period = '' or period = :period order by period_start desc, period desc limit 50"
    ),
}


def _datasette(db_path: Path):
    if importlib.util.find_spec("hypewatch.serve") is not None:
        from hypewatch.serve import make_app

        return make_app(db_path)
    from datasette.app import Datasette

    metadata = {"databases": {"hypewatch": {"queries": {"digest": FALLBACK_QUERY}}}}
    if METADATA.exists():
        import yaml

        shipped = yaml.safe_load(METADATA.read_text(encoding="utf-8")) or {}
        if "digest" in (shipped.get("databases", {}).get("hypewatch", {}).get("queries") or {}):
            metadata = shipped
    return Datasette([str(db_path)], metadata=metadata)


def _get(ds, path: str):
    async def fetch():
        return await ds.client.get(path)

    return asyncio.run(fetch())


def test_digest_atom_feed_is_valid_with_stable_ids(tmp_path):
    path = tmp_path / "hypewatch.db"
    database = open_db(path)
    sync_sources(database, [{"name": "Journal", "url": "https://journal.example/feed", "kind": "feed",
                             "publisher": "journal", "every": 3600}])
    add(database, *HOSTILE, make_item("rct", "2026-11-10T00:00:00Z", evidence_stage="human_rct"),
        make_item("d", "2026-11-10T00:00:00Z"))
    build_digests(database, now=AFTER_WEEK)
    build_digests(database, period="daily", now=AFTER_WEEK, since=at("2026-11-16T00:00:00Z"))
    database.close()

    response = _get(_datasette(path), "/hypewatch/digest.atom")
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    ids = [e.id for e in feed.entries]
    # newest period first; weekly and daily entries for the same day keep distinct ids
    assert ids == ["tag:hypewatch,2026:digest/weekly-2026-11-16", "tag:hypewatch,2026:digest/daily-2026-11-16",
                   "tag:hypewatch,2026:digest/weekly-2026-11-09"]
    weekly = feed.entries[0]
    assert weekly.title == "hypewatch weekly digest: 16–22 Nov 2026"
    assert weekly.link.endswith("/hypewatch/digests/weekly-2026-11-16")
    assert weekly.updated == "2026-11-23T00:00:01+00:00"
    content = weekly.content[0].value
    assert "Hype alerts" in content and "Miracle cure" in content
    # the raw entry content (feedparser sanitises on its own, so look at what we actually serve)
    atom = "{http://www.w3.org/2005/Atom}"
    raw = [e.find(atom + "content").text for e in ElementTree.fromstring(response.content).iter(atom + "entry")]
    assert len(raw) == 3
    for fragment in raw:
        assert_harmless(fragment)
    assert "Miracle cure" in raw[0]
    assert "New human evidence" in feed.entries[2].content[0].value

    # the same ids on the next request, and only weekly entries when asked
    again = feedparser.parse(_get(_datasette(path), "/hypewatch/digest.atom?period=weekly").content)
    assert again.bozo == 0 and [e.id for e in again.entries] == [ids[0], ids[2]]
    # and the link leads to the entry's row on the site
    page = _get(_datasette(path), "/hypewatch/digests/weekly-2026-11-16.json?_shape=array")
    assert page.status_code == 200 and json.loads(page.text)[0]["item_count"] == 5


def test_digest_atom_feed_without_digests_is_valid(tmp_path):
    path = tmp_path / "hypewatch.db"
    open_db(path).close()
    response = _get(_datasette(path), "/hypewatch/digest.atom")
    assert response.status_code == 200, response.text
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0 and feed.entries == []
