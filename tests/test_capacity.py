"""The site at depth and under repeat traffic: keyset pages, streamed CSV, every spelling of _search, ETag/304."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from pathlib import Path

import pytest

from hypewatch.serve import make_app
from tests.sitedata import ITEMS, build_site_db

MANY = 260  # items; several share a publication time, so the (published, id) tie-break is exercised


def run(coro):
    return asyncio.run(coro)


def fetch(ds, path: str, headers: dict | None = None):
    return run(ds.client.get(path, headers=headers or {}))


@pytest.fixture(scope="module")
def many_db(tmp_path_factory) -> Path:
    items = []
    for i in range(MANY):
        spec = dict(ITEMS[i % len(ITEMS)])
        spec.pop("id", None)
        spec.pop("url", None)
        spec["title"] = f"{spec['title']} ({i})"
        spec["days"] = i // 3  # three items per publication time
        items.append(spec)
    return build_site_db(tmp_path_factory.mktemp("many") / "many.db", items=items)


@pytest.fixture(scope="module")
def many(many_db):
    return make_app(many_db)


def walk(ds, first: str, pages: int) -> list[dict]:
    """Follow ``next`` from ``first`` for ``pages`` pages of JSON; the rows in order."""
    rows, url = [], first
    for _ in range(pages):
        data = fetch(ds, url).json()
        rows += data["rows"]
        if not data["next"]:
            break
        url = data["next_url"].split("://", 1)[-1].split("/", 1)[-1]
        url = "/" + url
    return rows


def test_page_50_of_the_items_table_is_reached_with_every_row_once_in_order(many, many_db):
    rows = walk(many, "/hypewatch/items.json?_shape=objects&_size=5", pages=50)
    assert len(rows) == 250
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 250
    conn = sqlite3.connect(many_db)
    expected = [r[0] for r in conn.execute("select id from items order by published desc, id limit 250")]
    assert ids == expected


def test_next_pages_read_the_keyset_index_in_order_and_skip_facets(many, many_db):
    """The SQL Datasette runs for a next page walks items_published_id (m010): no sort of every older row."""
    conn = sqlite3.connect(many_db)
    published, item_id = conn.execute("select published, id from items order by published desc, id "
                                      "limit 1 offset 100").fetchone()
    sql = ("select id from items where (published < :p1 or published is null or (published = :p1 and id > :p0)) "
           "order by published desc, id limit 51")
    plan = " ".join(r[3] for r in conn.execute("explain query plan " + sql, {"p0": item_id, "p1": published}))
    assert "items_published_id" in plan and "TEMP B-TREE" not in plan, plan
    first = fetch(many, "/hypewatch/items.json?_size=5").json()
    data = fetch(many, "/hypewatch/items.json?_size=5&_next=" + first["next"]).json()
    assert data["rows"] and data["facet_results"] == {}  # counts over "rows after the cursor" are not shown
    assert data["filtered_table_rows_count"] == MANY  # the count is the view's, not the cursor's


def test_streamed_csv_of_a_filtered_view_is_complete(many, many_db):
    conn = sqlite3.connect(many_db)
    expected = conn.execute("select count(*) from items where relevant = 1").fetchone()[0]
    assert expected > 50
    for size in ("", "&_size=7"):  # the default (250-row chunks) and many small chunks
        body = fetch(many, f"/hypewatch/items.csv?relevant=1&_stream=on{size}").text
        rows = list(csv.reader(io.StringIO(body)))
        assert rows[0][0] == "id" and len(rows) == expected + 1, (size, len(rows), rows[-1][:1])
        assert all(r[rows[0].index("relevant")] == "1" for r in rows[1:])


@pytest.mark.parametrize("query", ["%5Fsearch=mice", "%5fsearch=mice", "_%73earch=mice", "%5F%73%65arch=mice",
                                   "_search=mice&_q=ignored"])
def test_every_spelling_of_search_takes_the_capped_path(many, query):
    for path in ("/hypewatch/items.json", "/hypewatch/~69tems.json"):
        data = fetch(many, f"{path}?_shape=objects&{query}").json()
        assert "most recently harvested matches" in data["human_description_en"], (path, query)
        assert data["rows"] and all("mice" in (r["title"] + r["text"]).lower() for r in data["rows"])


def test_column_search_takes_the_capped_path_in_that_column(many):
    data = fetch(many, "/hypewatch/items.json?_shape=objects&_search_title=minoxidil").json()
    assert "most recently harvested matches" in data["human_description_en"]
    assert data["rows"] and all("minoxidil" in r["title"].lower() for r in data["rows"])


@pytest.fixture()
def fresh(many_db):
    """A site that looks at the file on every request (data_refresh_s 0), for tests that write to it."""
    ds = make_app(many_db)
    ds._metadata_local["plugins"]["hypewatch"]["data_refresh_s"] = 0
    return ds


@pytest.mark.parametrize("path", ["/", "/hypewatch/items", "/hypewatch/items.json?hype=high",
                                  "/hypewatch/hype_alerts_feed.atom", "/-/charts"])
def test_answers_carry_validators_and_revalidate_with_304(fresh, path):
    first = fetch(fresh, path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"') and "max-age=" in first.headers["cache-control"]
    again = fetch(fresh, path)
    assert again.status_code == 200 and again.headers["etag"] == etag and again.content == first.content
    assert fetch(fresh, path, {"if-none-match": etag}).status_code == 304
    not_modified = fetch(fresh, path, {"if-modified-since": modified})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert fetch(fresh, path, {"if-none-match": 'W/"other"'}).status_code == 200


def test_a_harvest_commit_changes_the_validators(fresh, many_db):
    first = fetch(fresh, "/hypewatch/items.json?_shape=objects&_size=1")
    conn = sqlite3.connect(many_db)
    newest = first.json()["rows"][0]["id"]
    with conn:
        conn.execute("update items set title = 'Retitled by a harvest' where id = ?", [newest])
    conn.close()
    second = fetch(fresh, "/hypewatch/items.json?_shape=objects&_size=1", {"if-none-match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    assert second.json()["rows"][0]["title"] == "Retitled by a harvest"


def test_errors_cookies_and_big_streams_are_not_cached(fresh):
    bad = fetch(fresh, "/hypewatch/items?_sort=nosuchcol")
    assert bad.status_code != 200 and "etag" not in bad.headers  # (Datasette says 500; 4xx is the guard's)
    with_cookie = fetch(fresh, "/hypewatch/items.json", {"cookie": "ds_actor=x"})
    assert with_cookie.status_code == 200 and "etag" not in with_cookie.headers
    fresh._metadata_local["plugins"]["hypewatch"]["response_cache_entry_kb"] = 1
    fresh.__dict__.pop("_hypewatch_responses", None)
    stream = fetch(fresh, "/hypewatch/items.csv?_stream=on")
    assert stream.status_code == 200 and "etag" not in stream.headers
    assert len(stream.text.splitlines()) > MANY


def test_label_facets_and_counts_read_the_covering_index(many_db):
    """Facets and counts filtered only by label columns read items_site_summary, and give the same numbers."""
    from hypewatch.site.database import narrow_aggregate

    facet = ('select source as value, count(*) as count from (\n  select id, source, text from items '
             'where "hype" = :p0 and "publisher" = :p1\n)\nwhere source is not null\n'
             'group by source order by count desc, value limit 13')
    count = 'select count(*) from items where "hype" = :p0 and "publisher" = :p1'
    conn = sqlite3.connect(many_db)
    params = {"p0": "high", "p1": "clinic"}
    claims = facet.replace("select source as value", "select claim_strength as value").replace(
        "select id, source, text", "select id, claim_strength, text").replace(
        "where source is not null\ngroup by source", "where claim_strength is not null\ngroup by claim_strength")
    for sql in (facet, count, claims):
        narrowed = narrow_aggregate(sql)
        assert "indexed by items_site_summary" in narrowed, sql
        assert conn.execute(narrowed, params).fetchall() == conn.execute(sql, params).fetchall()
    index = {row[2] for row in conn.execute("select * from pragma_index_xinfo('items_site_summary')")}
    assert {"claim_strength", "citation_check", "coverage_gap"} <= index  # m013: every faceted label column
    # a column outside the index, a search's rowids or a treatment's ids: left as they are
    for where in ('"title" = :p0', "rowid in (1, 2, 3)", "id in (select item_id from item_treatments)"):
        assert narrow_aggregate(facet.replace('"hype" = :p0 and "publisher" = :p1', where)) == \
            facet.replace('"hype" = :p0 and "publisher" = :p1', where)
    assert narrow_aggregate('select count(*) from items where "hype" = :p0') == 'select count(*) from items where "hype" = :p0'


def test_a_common_treatment_pages_newest_first_and_counts_by_id(many):
    data = fetch(many, "/hypewatch/items.json?_shape=objects&_treatment=minoxidil&_size=3").json()
    conn_count = data["filtered_table_rows_count"]
    assert conn_count > 3 and len(data["rows"]) == 3
    assert all("minoxidil" in r["treatments"] for r in data["rows"])


def test_the_home_pages_example_queries_answer_and_never_scan_the_wide_rows(many, many_db):
    import html as html_lib
    import re
    from urllib.parse import parse_qs, urlsplit

    home = fetch(many, "/").text
    links = re.findall(r'<li><a href="(/hypewatch\?sql=[^"]+)">', home)
    assert len(links) >= 5
    conn = sqlite3.connect(many_db)
    for link in links:
        link = html_lib.unescape(link)
        assert fetch(many, link).status_code == 200, link
        sql = parse_qs(urlsplit(link).query)["sql"][0]
        plan = [r[3] for r in conn.execute("explain query plan " + sql)]
        assert "SCAN items" not in plan, (sql, plan)  # a full read of the wide rows


def test_summary_canned_queries_get_a_longer_limit_and_visitors_sql_does_not(many_db):
    """treatment_pipeline scans a table (summary_queries): it answers where a visitor's slow SQL is stopped."""
    from urllib.parse import quote

    ds = make_app(many_db, settings={"sql_time_limit_ms": 5})
    slow = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 10000000) select count(*) from n"
    stopped = fetch(ds, "/hypewatch.json?sql=" + quote(slow))
    assert stopped.status_code == 400 and ("interrupted" in stopped.text.lower() or "too long" in stopped.text.lower())
    pipeline = fetch(ds, "/hypewatch/treatment_pipeline.json?_shape=objects")
    assert pipeline.status_code == 200 and any(r["treatment"] == "minoxidil" for r in pipeline.json()["rows"])


def test_the_common_treatment_path_gives_the_same_rows_and_count(many_db, monkeypatch):
    """Above COMMON_TREATMENT items the filter walks items newest first (+id): same rows, same count."""
    from hypewatch.site import search

    path = "/hypewatch/items.json?_shape=objects&_treatment=minoxidil&_size=5&_nofacet=1"
    rare = fetch(make_app(many_db), path).json()
    monkeypatch.setattr(search, "COMMON_TREATMENT", 1)
    common = fetch(make_app(many_db), path).json()
    assert [r["id"] for r in common["rows"]] == [r["id"] for r in rare["rows"]]
    assert common["filtered_table_rows_count"] == rare["filtered_table_rows_count"] > 5


def test_serve_with_two_workers_answers_and_stops_on_sigterm(many_db):
    """`hypewatch serve --workers 2`: two processes on one port (SO_REUSEPORT), both stop on SIGTERM."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "hypewatch", "serve", "--db", str(many_db), "--port", str(port),
                             "--workers", "2", "--forwarded-allow-ips", "*"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=2) as r:
                    assert r.status == 200
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "the workers did not answer"
                time.sleep(0.3)
        for _ in range(10):  # new connections each time: the kernel spreads them over both sockets
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hypewatch/items.json?_size=1", timeout=10) as r:
                assert r.status == 200
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        if children.exists():
            assert len(children.read_text().split()) >= 2
        # The per-client SQL limit holds across the workers: of six slow queries at once from one
        # visitor (new connections, spread over both processes), two run and four are refused; a
        # second visitor, named by the trusted proxy header, still gets its own two.
        statuses = _slow_sql_statuses(port, ["203.0.113.7"] * 6 + ["203.0.113.8"] * 2)
        # Counted per worker, two workers would run four and refuse two; a request that arrives after
        # one has finished (a busy machine) may run, so: at least three refused, none failed otherwise.
        assert statuses[:6].count(429) >= 3 and set(statuses[:6]) <= {400, 429}, statuses
        assert statuses[6:] == [400, 400], statuses
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0


def _slow_sql_statuses(port: int, visitors: list[str]) -> list[int]:
    """Statuses of one slow ad-hoc query per visitor address, all sent at once on new connections."""
    import urllib.error
    import urllib.parse
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def ask(args):
        n, visitor = args
        query = ("with recursive c(x) as (select 1 union all select x + 1 from c where x < "
                 f"{10**12 + n}) select count(*) from c")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/hypewatch.json?sql={urllib.parse.quote(query)}",
                                         headers={"X-Forwarded-For": visitor})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(len(visitors)) as pool:
        return list(pool.map(ask, enumerate(visitors)))


def test_a_treatments_facets_and_counts_read_item_treatments_and_agree(many_db):
    """m014: one treatment's facets and count (with label filters in any order) count item_treatments."""
    from hypewatch.site.database import narrow_aggregate

    treatment = "id in (select item_id from item_treatments where treatment = :hw_treatment_0)"
    conn = sqlite3.connect(many_db)
    params = {"hw_treatment_0": "minoxidil", "p0": "high"}
    for where in (treatment, f'"hype" = :p0 and +{treatment}', f'{treatment} and "hype" = :p0'):
        for column in ("evidence_stage", "claim_strength", "publisher", "source", "citation_check"):
            facet = (f"select {column} as value, count(*) as count from (\n  select id, {column}, text from items "
                     f"where {where}\n)\nwhere {column} is not null\ngroup by {column} order by count desc, value limit 13")
            narrowed = narrow_aggregate(facet)
            assert narrowed.startswith(f"select {column} as value, count(*) as count from item_treatments"), narrowed
            assert conn.execute(narrowed, params).fetchall() == conn.execute(facet, params).fetchall()
        count = f"select count(*) from items where {where}"
        assert narrow_aggregate(count).startswith("select count(*) from item_treatments")
        assert conn.execute(narrow_aggregate(count), params).fetchall() == conn.execute(count, params).fetchall()
    # two treatments, or a column item_treatments does not copy: left as they are
    two = f"{treatment} and id in (select item_id from item_treatments where treatment = :hw_treatment_1)"
    for where in (two, f'{treatment} and "title" = :p0'):
        count = f"select count(*) from items where {where}"
        assert "from item_treatments where treatment = :hw_treatment_0" not in narrow_aggregate(count).split(" where ")[0]
        assert narrow_aggregate(count).startswith("select count(*) from items")


def test_the_treatments_facet_of_a_label_filtered_view_counts_item_treatments_alone(many, many_db):
    """With only label filters the treatments facet counts item_treatments' own label copies (m014):
    the same numbers as counting the items' JSON arrays."""
    data = fetch(many, "/hypewatch/items.json?hype=high&publisher=clinic&_size=1").json()
    facet = {r["value"]: r["count"] for r in data["facet_results"]["treatments"]["results"]}
    conn = sqlite3.connect(many_db)
    expected = dict(conn.execute(
        "select j.value, count(*) from items, json_each(items.treatments) j where hype = 'high' and publisher = 'clinic' "
        "group by j.value order by count(*) desc, j.value limit ?", [len(facet)]).fetchall())
    assert facet and facet == expected


def test_a_tables_csv_stream_pages_have_a_longer_time_limit(many_db, monkeypatch):
    """A page of a table's streamed CSV runs under STREAM_PAGE_LIMIT_MS, not the site's limit: on a busy
    machine a 250-row page took over a second and the stream ended with the error inside the CSV."""
    from datasette.database import QueryInterrupted

    from hypewatch.site import database
    from hypewatch.site.isolation import STREAM

    ds = make_app(many_db)
    ds.sql_time_limit_ms = 100
    db = ds.get_database("hypewatch")
    slow = "with recursive c(x) as (select 1 union all select x + 1 from c where x < 1000000) select max(x) from c"

    async def page(streaming: bool):
        token = STREAM.set(streaming)
        try:
            return await db.execute(slow)
        finally:
            STREAM.reset(token)

    with pytest.raises(QueryInterrupted):
        run(page(False))
    assert run(page(True)).rows[0][0] == 1000000
    # and the guard marks a table's CSV stream (not a query's CSV, not a page) as one
    seen = []
    real = database.run_rows
    monkeypatch.setattr(database, "run_rows", lambda *a: seen.append(a[0]) or real(*a))
    stream = fetch(make_app(many_db), "/hypewatch/items.csv?_stream=on&hype=high")
    assert stream.status_code == 200 and any("from items" in sql for sql in seen)
    seen.clear()
    assert fetch(make_app(many_db), "/hypewatch/items.csv?hype=high").status_code == 200 and not seen
