"""Load and abuse benchmark: the real server (`hypewatch serve`) on a generated database, N clients, abuse requests.

Usage:
    python bench/load.py --items 100000                      # build /tmp/hypewatch-load-100000.db, 30 clients, 60 s
    python bench/load.py --reuse /tmp/hypewatch-site-bench.db --clients 30 --seconds 60
    python bench/load.py --reuse PATH --harvest              # the same while a writer commits new items every 2 s

What it does, on 127.0.0.1 only, bounded in time and count, stopping by itself:

* builds the database with bench/site.py's builder (or reuses one), applies pending migrations;
* starts ``hypewatch serve`` on a free loopback port and waits until it answers;
* drives a realistic mix (home, items with facets and filters, search, item pages, next pages,
  feeds, charts, the SQL endpoint) with ``--clients`` concurrent clients for ``--seconds``;
* optionally (``--harvest``) a second process inserts 50 generated items every 2 s meanwhile,
  as a harvester's commits would;
* fires the abuse requests once each during the mix (a 3,000-parameter query string, huge blobs,
  fts3_tokenizer, TRACE, a bad sort column, a NUL in _where, page 50 through _next, a full CSV stream,
  %5Fsearch) and reports each one's status, time and size;
* prints requests/s, p50/p95/p99, errors by status, per-kind latencies and the server's peak memory.

Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ["minoxidil", "finasteride", "hair", "alopecia", "trial", "mice", "prp", "exosomes", "laser", "density",
         "clascoterone", "pyrilutamide", "verteporfin", "biotin", "caffeine", "dutasteride", "baricitinib",
         "transplant", "scalp", "shedding", "oral minoxidil", "stem cells", "rosemary oil", "placebo"]
STAGES = ["none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled", "human_rct", "meta_analysis"]
TREATMENTS = ["minoxidil", "finasteride", "prp", "microneedling", "exosomes", "clascoterone", "stem cells"]
SQL = ["select count(*) from items where hype = 'high'",
       "select source, count(*) from items group by source order by 2 desc limit 10",
       "select id, title from items where rowid in (select rowid from items_fts where items_fts match 'minoxidil' "
       "order by rowid desc limit 20)"]
#: kind, weight, path maker
MIX = [
    ("home", 8, lambda r, ids: "/"),
    ("items", 8, lambda r, ids: "/hypewatch/items"),
    ("items filtered", 14, lambda r, ids: f"/hypewatch/items?evidence_stage={r.choice(STAGES)}"
                                           + r.choice(["", "&hype=high", "&commercial_interest=direct", "&publisher=news"])),
    ("treatment", 5, lambda r, ids: f"/hypewatch/items?_treatment={quote(r.choice(TREATMENTS))}"),
    ("search", 15, lambda r, ids: f"/hypewatch/items?_search={quote(r.choice(WORDS))}"),
    ("item page", 25, lambda r, ids: f"/hypewatch/items/{r.choice(ids)}"),
    ("next page", 4, None),  # follows the items page's next link
    ("feed", 9, lambda r, ids: r.choice(["/hypewatch/hype_alerts_feed.atom", "/hypewatch/digest.atom",
                                         "/hypewatch/human_evidence_feed.atom",
                                         f"/hypewatch/treatment_feed.atom?treatment={quote(r.choice(TREATMENTS))}"])),
    ("charts", 3, lambda r, ids: "/-/charts"),
    ("canned", 4, lambda r, ids: f"/hypewatch/{r.choice(['latest', 'hype_alerts', 'treatment_pipeline', 'source_health'])}"),
    ("sql", 5, lambda r, ids: "/hypewatch.json?sql=" + quote(r.choice(SQL))),
]

ABUSE = [
    ("3,000-parameter query string", "GET", "/hypewatch/items?" + "&".join(f"p{i}=1" for i in range(3000))),
    ("select zeroblob(100000000)", "GET", "/hypewatch.json?sql=" + quote("select zeroblob(100000000)")),
    ("length(randomblob(400000000))", "GET", "/hypewatch.json?sql=" + quote("select length(randomblob(400000000))")),
    ("fts3_tokenizer('simple')", "GET", "/hypewatch.json?sql=" + quote("select fts3_tokenizer('simple')")),
    ("TRACE /", "TRACE", "/"),
    ("?_sort=nosuchcol", "GET", "/hypewatch/items?_sort=nosuchcol"),
    ("_where=1%00", "GET", "/hypewatch/items?_where=1%00"),
    ("%5Fsearch=hair", "GET", "/hypewatch/items?%5Fsearch=hair"),
    ("MATCH of 250,000 prefix terms", "GET", "/hypewatch.json?sql=" + quote(
        "select count(*) from items_fts where items_fts match (with recursive c(x) as (select 1 union all "
        "select x + 1 from c where x < 250000) select group_concat('h*', ' OR ') from c)")),
]


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))] if s else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER_LOG = Path("/tmp/hypewatch-load-server.log")


def start_server(db: Path, port: int, workers: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("hypewatch")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "hypewatch"]
    with SERVER_LOG.open("wb") as log:  # a file, not a pipe: a chatty server must never block on it
        return subprocess.Popen([*cmd, "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", str(workers)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300) -> float:
    a = time.perf_counter()
    while time.perf_counter() - a < timeout:
        if proc.poll() is not None:
            sys.exit(f"server exited: {SERVER_LOG.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(base + "/-/versions.json", timeout=2).status_code == 200:
                return time.perf_counter() - a
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit("server did not answer in time")


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory_kb(pid: int) -> dict[str, int]:
    """VmHWM (peak) and VmRSS summed over the server process and all its descendants (workers, query processes)."""
    out = {"VmHWM": 0, "VmRSS": 0}
    family, i = [pid], 0
    while i < len(family):  # the workers and their query processes too
        family += _children(family[i])
        i += 1
    for p in family:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(("VmHWM", "VmRSS")):
                    out[line.split(":")[0]] += int(line.split()[1])
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> list[float]:
    """CPU seconds (user + system) of each worker process of the server (the server itself when it has none)."""
    out = []
    for p in _children(pid) or [pid]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        except (OSError, IndexError, ValueError):
            pass
    return out


def harvest_writer(db: str, stop_at: float, every: float = 2.0, batch: int = 50) -> None:
    """Insert generated items every ``every`` seconds until ``stop_at`` (another process: a harvester's commits)."""
    from bench.site import ITEM_COLUMNS, SEED, Generator, make_sources

    conn = sqlite3.connect(db, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    sources = [dict(s, name=n) for s, (n,) in zip(make_sources(random.Random(SEED)),
                                                  conn.execute("select name from sources order by rowid"))]
    gen = Generator(SEED + int(time.time()), 10**6, datetime.now(timezone.utc), sources)
    sql = f"INSERT OR IGNORE INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' for _ in ITEM_COLUMNS)})"
    i = 10**6 - 10_000
    while time.time() < stop_at:
        rows = list(gen.rows(i, i + batch))
        i += batch
        with conn:
            conn.executemany(sql, rows)
            conn.execute("UPDATE sources SET last_checked_at = ? WHERE rowid = 1",
                         [datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")])
        time.sleep(every)
    conn.close()


async def drive(base: str, clients: int, seconds: float, ids: list[str], abuse: bool) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter = Counter()
    kinds_status: Counter = Counter()
    interrupted = Counter()
    deadline = time.perf_counter() + seconds
    weights = [w for _, w, _ in MIX]
    next_links: list[str] = []
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def client(n: int) -> None:
            r = random.Random(n)
            while time.perf_counter() < deadline:
                kind, _, make = r.choices(MIX, weights=weights)[0]
                if make is None:
                    path = r.choice(next_links) if next_links else "/hypewatch/items.json?_nofacet=1"
                else:
                    path = make(r, ids)
                a = time.perf_counter()
                try:  # each client is a visitor of its own (the server trusts 127.0.0.1 to name it)
                    resp = await http.get(path, headers={"X-Forwarded-For": f"198.51.100.{n + 1}"})
                    status = resp.status_code
                except httpx.HTTPError:
                    status = 599
                    resp = None
                latencies[kind].append((time.perf_counter() - a) * 1000)
                statuses[status] += 1
                if status != 200:
                    kinds_status[(kind, status)] += 1
                    if resp is not None and "took too long" in resp.text:
                        interrupted[kind] += 1
                if kind == "items" and resp is not None and status == 200 and len(next_links) < 50:
                    for chunk in resp.text.split('href="')[1:]:
                        link = chunk.split('"', 1)[0].replace("&amp;", "&")
                        if "_next=" in link and link.startswith("/hypewatch/items"):
                            next_links.append(link)
                            break

        tasks = [asyncio.create_task(client(n)) for n in range(clients)]
        abuse_results = await run_abuse(http) if abuse else []
        await asyncio.gather(*tasks)
    return {"latencies": latencies, "statuses": statuses, "kinds_status": kinds_status, "interrupted": interrupted,
            "abuse": abuse_results}


async def run_abuse(http: httpx.AsyncClient) -> list[tuple[str, int, float, int, str]]:
    out = []
    await asyncio.sleep(2)
    for name, method, path in ABUSE:
        a = time.perf_counter()
        try:
            resp = await http.request(method, path, headers={"X-Forwarded-For": "203.0.113.66"})
            out.append((name, resp.status_code, (time.perf_counter() - a) * 1000, len(resp.content), ""))
        except httpx.HTTPError as e:
            out.append((name, 599, (time.perf_counter() - a) * 1000, 0, type(e).__name__))
    # page 50 through _next
    a, url, status, pages = time.perf_counter(), "/hypewatch/items.json?_nofacet=1", 0, 0
    slowest = 0.0
    for pages in range(1, 51):
        b = time.perf_counter()
        resp = await http.get(url)
        slowest = max(slowest, (time.perf_counter() - b) * 1000)
        status = resp.status_code
        if status != 200 or not resp.json().get("next_url"):
            break
        url = "/" + resp.json()["next_url"].split("://", 1)[-1].split("/", 1)[1]
    out.append((f"page {pages} via _next (slowest page {slowest:.0f} ms)", status, (time.perf_counter() - a) * 1000, 0, ""))
    # a full streamed CSV of a filtered view
    a, size, lines, tail = time.perf_counter(), 0, 0, b""
    async with http.stream("GET", "/hypewatch/items.csv?_stream=on&evidence_stage=meta_analysis&hype=high") as resp:
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
            tail = (tail + chunk)[-5000:]
        # Datasette writes a failed page's error as the stream's last line
        last = b"".join(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1:])
        ok = not any(word in last for word in (b"interrupted", b"took too long", b"Error", b"error"))
        state = "complete" if ok else "CUT SHORT: " + last[:80].decode(errors="replace")
        out.append((f"CSV stream, meta_analysis + high hype (~{lines - 1:,} lines, {state})",
                    resp.status_code, (time.perf_counter() - a) * 1000, size, ""))
    return out


def report(result: dict, seconds: float, mem: dict[str, int], args, db: Path, n_items: int) -> None:
    everything = [x for v in result["latencies"].values() for x in v]
    total = len(everything)
    print(f"\ndatabase {db}: {n_items:,} items; {args.workers} server workers; {args.clients} clients for {seconds:.0f} s"
          f"{' during a harvest (50 items committed every 2 s)' if args.harvest else ' (idle)'}")
    print(f"requests: {total:,}  ({total / seconds:.1f}/s)   p50 {pct(everything, 50):.0f} ms   "
          f"p95 {pct(everything, 95):.0f} ms   p99 {pct(everything, 99):.0f} ms   max {max(everything):.0f} ms")
    print("statuses: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(result["statuses"].items())))
    if result["interrupted"]:
        print("'query took too long': " + ", ".join(f"{k}: {v}" for k, v in result["interrupted"].items()))
    for (kind, status), count in sorted(result["kinds_status"].items()):
        print(f"  non-200: {kind} -> {status}: {count}")
    print("\n| kind | n | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    for kind, values in sorted(result["latencies"].items(), key=lambda kv: -len(kv[1])):
        print(f"| {kind} | {len(values)} | {statistics.median(values):.0f} | {pct(values, 95):.0f} | {pct(values, 99):.0f} |")
    if result["abuse"]:
        print("\n| abuse request | status | ms | bytes |\n|---|---:|---:|---:|")
        for name, status, ms, size, note in result["abuse"]:
            print(f"| {name} | {status}{' ' + note if note else ''} | {ms:.0f} | {size:,} |")
    print(f"machine load average at the end (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores (other processes' work shows here)")
    print("server CPU seconds per worker: " + ", ".join(f"{c:.0f}" for c in mem.get("cpu", [])))
    print(f"\nserver memory: peak {mem.get('VmHWM', 0) / 1024:.0f} MiB, at the end {mem.get('VmRSS', 0) / 1024:.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100_000, help="items to generate (ignored with --reuse)")
    ap.add_argument("--reuse", metavar="PATH", help="an existing database built by bench/site.py")
    ap.add_argument("--clients", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--workers", type=int, default=2, help="server processes (hypewatch serve --workers)")
    ap.add_argument("--harvest", action="store_true", help="commit new items every 2 s during the run")
    ap.add_argument("--no-abuse", action="store_true")
    args = ap.parse_args()
    args.clients = max(1, min(args.clients, 200))
    args.seconds = max(5.0, min(args.seconds, 900.0))
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))

    from db import store
    if args.reuse:
        db = Path(args.reuse)
    else:
        from bench.site import build
        db = Path(f"/tmp/hypewatch-load-{args.items}.db")
        if not db.exists():
            print(f"building {args.items:,} items into {db}")
            build(db, args.items)
    store.open_db(db).close()  # pending migrations
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    n_items = conn.execute("select max(rowid) from items").fetchone()[0] or 0
    ids = [r[0] for r in conn.execute("select id from items where rowid in (select abs(random()) % ? + 1 "
                                      "from items limit 2000)", [max(1, n_items)])]
    conn.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(db, port, max(1, min(args.workers, 8)))
    writer = None
    try:
        print(f"server ready in {wait_ready(base, proc):.1f}s (pid {proc.pid}, {base})")
        if args.harvest:
            writer = multiprocessing.Process(target=harvest_writer, args=(str(db), time.time() + args.seconds + 5))
            writer.start()
        a = time.perf_counter()
        result = asyncio.run(drive(base, args.clients, args.seconds, ids, not args.no_abuse))
        elapsed = time.perf_counter() - a
        mem = memory_kb(proc.pid)
        mem["cpu"] = cpu_seconds(proc.pid)
    finally:
        if writer is not None:
            writer.join(timeout=30)
            if writer.is_alive():
                writer.terminate()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    report(result, elapsed, mem, args, db, n_items)
    print(f"server log: {SERVER_LOG} ({SERVER_LOG.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
