"""Harvest benchmark: N generated feeds served on loopback, harvested twice, against a plain feedparser loop.

Usage: python bench/harvest.py [--feeds 1000] [--items 50] [--repeat 3] [--concurrency 16]

What it does:

* generates ``--feeds`` feeds of ``--items`` items each (titles, 1-3 KB summaries of
  hair-loss research-news prose, links, guids, dates; RSS 2.0 and Atom mixed) into a
  temporary directory;
* serves them from a SEPARATE process on 127.0.0.1 (ephemeral port) with ETag and
  If-None-Match -> 304, so the harvester's memory is measured alone;
* per repeat, in a fresh child process and a fresh SQLite file, runs
  (a) a first harvest (full text off), (b) a second, unchanged harvest (conditional GET -> 304);
* per repeat, in another fresh child process, runs (c) ``feedparser.parse(bytes)`` in a
  plain loop over the same bytes (no network, no database);
* prints medians: wall time, items/s, peak RSS (getrusage ru_maxrss of the child), and the
  ratios against the targets (first/parse <= 2x, second/first < 10%, peak < 300 MB).

A last child measures each step's single-threaded CPU cost per item on --sample feeds
(feedparser, our parse_feed, row building, scoring, saving), which gives the scorer's share of
the first harvest. The harvest child also reports where the time went: cumulative time inside
``parse_feed`` (run in worker threads, so it can exceed wall time), ``score_item``,
``store.save_harvest`` and ``store.known_items``. With ``--tracemalloc`` one extra,
untimed harvest runs under tracemalloc as a cross-check of the peak (it is slow).

All sources live on one host here, so the per-host limit is raised to the global
concurrency (a real source list spreads over many hosts).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_FIRST_OVER_PARSE = 2.0
TARGET_SECOND_OVER_FIRST = 0.10
TARGET_PEAK_MB = 300.0

# --- feed generation --------------------------------------------------------------------------

_TREATMENTS = [
    "minoxidil", "oral minoxidil", "finasteride", "dutasteride", "baricitinib", "ritlecitinib",
    "deuruxolitinib", "platelet-rich plasma", "microneedling", "low-level laser therapy",
    "clascoterone", "pyrilutamide", "GT20029", "ketoconazole shampoo", "spironolactone",
    "a topical JAK inhibitor", "cerium oxide nanoparticles", "exosome therapy", "SCUBE3 protein",
    "a Wnt pathway activator", "botulinum toxin", "a prostaglandin analogue", "valproic acid",
]
_CONDITIONS = [
    "androgenetic alopecia", "alopecia areata", "female pattern hair loss", "telogen effluvium",
    "male pattern baldness", "chemotherapy-induced alopecia", "frontal fibrosing alopecia",
    "central centrifugal cicatricial alopecia",
]
_INSTITUTIONS = [
    "the University of California, Irvine", "Columbia University", "the University of Pennsylvania",
    "Kyoto University", "Seoul National University", "the Karolinska Institute", "University College London",
    "the University of Manchester", "Monash University", "Tokyo University of Science", "Yale School of Medicine",
    "the Chinese Academy of Sciences", "Northwestern University", "the University of Bradford",
]
_STAGES = [
    "in mice whose fur had been shaved", "in cultured human dermal papilla cells", "in organ-cultured human scalp follicles",
    "in a randomised, double-blind, placebo-controlled phase 2 trial of 120 participants",
    "in a phase 3 trial that enrolled 706 adults across 12 countries",
    "in a retrospective chart review of 84 patients at a single clinic",
    "in a small open-label pilot study of 18 volunteers", "in a systematic review and meta-analysis of 23 trials",
    "in zebrafish and in mouse skin grafts", "in a case series of six patients",
]
_FINDINGS = [
    "increased hair density by {n} hairs per square centimetre after {w} weeks",
    "reactivated dormant follicle stem cells and pushed follicles into the growth phase",
    "reduced scalp dihydrotestosterone levels by {p} percent",
    "produced regrowth scores that were significantly higher than placebo at week {w}",
    "showed a response rate of {p} percent, compared with {q} percent in the control group",
    "thickened the hair shaft diameter and lengthened the anagen phase",
    "slowed the miniaturisation of follicles over {w} weeks of treatment",
    "restored pigment to grey hairs in a subset of animals",
]
_CAVEATS = [
    "The authors caution that the findings have not yet been replicated in people.",
    "Side effects were mostly mild, including scalp irritation and headache.",
    "The study was funded by the company that develops the drug, and two authors hold shares in it.",
    "Independent dermatologists said larger and longer trials are needed before any recommendation.",
    "Results in mice often fail to carry over to humans, the researchers noted.",
    "The trial did not include women, and the follow-up lasted only six months.",
    "A larger phase 3 study is planned to begin recruiting next year.",
    "Experts not involved in the work called the effect modest but consistent.",
]
_QUOTES = [
    '"This is an exciting step, but it is a first step," said Dr. {name}, who led the study.',
    '"We were surprised by how quickly the follicles responded," said {name}, a co-author.',
    '"Patients should not expect a cure from this," said {name}, a dermatologist who was not involved.',
    '"The mechanism we found could be targeted by drugs that already exist," {name} said.',
]
_NAMES = ["Maksim Plikus", "Angela Christiano", "George Cotsarelis", "Rodney Sinclair", "Ralf Paus",
          "Brett King", "Ohsang Kwon", "Antonella Tosti", "Maria Hordinsky", "Jerry Shapiro"]
_TITLES = [
    "{T} shows promise for {C} {S_short}",
    "Researchers report {T} regrows hair {S_short}",
    "New study links {T} to slower hair loss in {C}",
    "{I_short} team finds a new route to treat {C}",
    "Trial update: {T} for {C}",
    "Could {T} reverse {C}? What the new data say",
]
_S_SHORT = ["in mice", "in a phase 2 trial", "in lab-grown follicles", "in a phase 3 study", "in a pilot study"]


def _paragraph(rng: random.Random, treatment: str, condition: str) -> str:
    sentences = [
        f"Researchers at {rng.choice(_INSTITUTIONS)} tested {treatment} for {condition} "
        f"{rng.choice(_STAGES)}.",
        "The treatment " + rng.choice(_FINDINGS).format(n=rng.randint(5, 40), w=rng.choice([12, 16, 24, 36, 52]),
                                                       p=rng.randint(10, 60), q=rng.randint(2, 20)) + ".",
        rng.choice(_QUOTES).format(name=rng.choice(_NAMES)),
        rng.choice(_CAVEATS),
        f"{condition.capitalize()} affects millions of people worldwide, and current options such as "
        f"{rng.choice(_TREATMENTS)} work only for some of them.",
    ]
    rng.shuffle(sentences)
    return " ".join(sentences[: rng.randint(3, 5)])


def _summary(rng: random.Random, html: bool, doi: str) -> str:
    treatment, condition = rng.choice(_TREATMENTS), rng.choice(_CONDITIONS)
    target = rng.randint(1024, 3072)
    parts: list[str] = []
    size = 0
    while size < target:
        para = _paragraph(rng, treatment, condition)
        parts.append(para)
        size += len(para) + 8
    if html:
        body = "".join(f"<p>{escape(p)}</p>" for p in parts)
        return body + f'<p>Read the paper: <a href="https://doi.org/{doi}">doi:{doi}</a></p>'
    return "\n\n".join(parts) + f" (doi:{doi})"


def make_feed(index: int, items: int, base_url: str) -> bytes:
    """One deterministic feed: even indexes are RSS 2.0, odd ones Atom."""
    rng = random.Random(index)
    atom = index % 2 == 1
    site = f"https://news{index % 97}.example.org"
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    entries = []
    for j in range(items):
        treatment, condition = rng.choice(_TREATMENTS), rng.choice(_CONDITIONS)
        title = rng.choice(_TITLES).format(T=treatment, C=condition, S_short=rng.choice(_S_SHORT),
                                           I_short=rng.choice(_INSTITUTIONS).removeprefix("the "))
        title = title[0].upper() + title[1:]
        doi = f"10.{1000 + index % 8000}/hw.{index}.{j}"
        when = now - timedelta(hours=index + 7 * j, minutes=rng.randint(0, 59))
        link = f"{site}/news/{index}/{j}-{treatment.replace(' ', '-')}"
        entries.append((title, link, f"urn:hypewatch-bench:{index}:{j}", when, _summary(rng, rng.random() < 0.7, doi)))
    if atom:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
                 f"<title>Hair research news {index}</title>", f'<link href="{site}/"/>',
                 f"<id>{site}/feed</id>", f"<updated>{now.isoformat()}</updated>"]
        for title, link, guid, when, summary in entries:
            parts.append(
                f"<entry><title>{escape(title)}</title><link rel=\"alternate\" href=\"{link}\"/>"
                f"<id>{guid}</id><updated>{when.isoformat()}</updated><published>{when.isoformat()}</published>"
                f"<author><name>{rng.choice(_NAMES)}</name></author>"
                f"<summary type=\"html\">{escape(summary)}</summary></entry>"
            )
        parts.append("</feed>")
    else:
        parts = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
                 'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
                 f"<title>Hair research news {index}</title><link>{site}/</link>",
                 "<description>Research news about hair loss</description>"]
        for title, link, guid, when, summary in entries:
            parts.append(
                f"<item><title>{escape(title)}</title><link>{link}</link>"
                f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{format_datetime(when)}</pubDate>"
                f"<dc:creator>{rng.choice(_NAMES)}</dc:creator>"
                f"<description>{escape(summary)}</description></item>"
            )
        parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def generate(directory: Path, feeds: int, items: int) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(feeds):
        body = make_feed(i, items, "")
        (directory / f"feed{i:05d}.{'atom' if i % 2 else 'rss'}").write_bytes(body)
        total += len(body)
    return total


def feed_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in {".rss", ".atom"})


# --- the server process -------------------------------------------------------------------------


def serve(directory: Path) -> None:
    """Serve the feeds from memory with ETag/If-None-Match; print the port once listening."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files = {}
    for path in feed_files(directory):
        body = path.read_bytes()
        ctype = "application/atom+xml" if path.suffix == ".atom" else "application/rss+xml"
        files["/" + path.name] = (body, ctype, '"' + hashlib.sha1(body).hexdigest() + '"')
    last_modified = "Sun, 01 Nov 2026 12:00:00 GMT"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            found = files.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, ctype, etag = found
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype + "; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


# --- child processes: one measurement each -------------------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


class _Descendants(threading.Thread):
    """Samples the CPU time and peak RSS of this process's descendants (the parse/score workers).

    The workers are forked by multiprocessing's forkserver, so they are not our
    children and ``RUSAGE_CHILDREN`` never sees them; /proc does. CPU and VmHWM
    only grow, so the last sample before a worker exits is within one interval
    of its final figures.
    """

    interval = 0.25

    def __init__(self, exclude: set[int] = frozenset()) -> None:
        super().__init__(daemon=True)
        self.exclude = exclude
        self.cpu: dict[int, float] = {}
        self.hwm: dict[int, float] = {}
        self.running = True
        self._hz = os.sysconf("SC_CLK_TCK")
        self.sample()
        self.start_cpu = dict(self.cpu)

    def sample(self) -> None:
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(name))
        stack = [os.getpid()]
        while stack:
            for pid in children.get(stack.pop(), []):
                stack.append(pid)
                if pid in self.exclude:
                    continue
                try:
                    stat = Path(f"/proc/{pid}/stat").read_text()
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                fields = stat[stat.rindex(")") + 2:].split()
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), (int(fields[11]) + int(fields[12])) / self._hz)
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.hwm[pid] = max(self.hwm.get(pid, 0.0), int(line.split()[1]) / 1024)

    def run(self) -> None:
        while self.running:
            time.sleep(self.interval)
            self.sample()

    def stop(self) -> tuple[float, float]:
        """(CPU seconds of the descendants since start, largest peak RSS of one of them in MB)."""
        self.running = False
        self.join()
        self.sample()
        return (sum(v - self.start_cpu.get(pid, 0.0) for pid, v in self.cpu.items()),
                max(self.hwm.values(), default=0.0))


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used so far (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def _timed(fn, total: dict[str, float], key: str):
    """fn wrapped to add the wall time spent inside it to total[key] (works as a method too)."""
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        start = time.perf_counter()
        try:
            return fn(*a, **kw)
        finally:
            total[key] += time.perf_counter() - start
    return wrapper


def child_harvest(args: argparse.Namespace) -> dict:
    import harvester.writer as writer
    from db import open_db, store, sync_sources
    from harvester.pipeline import HarvestSettings, harvest

    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    # Parsing and scoring run in the worker processes: their cost shows as the workers' CPU.
    # In this process: the writer thread's batches (commit included), save_harvest inside them, known_items.
    timers = {"writer batches": 0.0, "save_harvest": 0.0, "known_items": 0.0}
    writer.write_batch = _timed(writer.write_batch, timers, "writer batches")
    store.save_harvest = _timed(store.save_harvest, timers, "save_harvest")
    store.known_items = _timed(store.known_items, timers, "known_items")

    names = [p.name for p in feed_files(Path(args.dir))]
    db = open_db(args.db)
    sync_sources(db, [{"name": n, "url": f"{args.base}/{n}", "kind": "feed", "publisher": "news",
                       "every": 3600, "filter": False, "local": True} for n in names])
    settings = HarvestSettings(concurrency=args.concurrency, per_host=args.concurrency, fulltext=False)
    result: dict = {"rss_before_mb": peak_mb()}
    for phase in ("first", "second"):
        for key in timers:
            timers[key] = 0.0
        sampler = _Descendants()
        sampler.start()
        busy = machine_busy()
        start = time.perf_counter()
        cpu = time.process_time()
        outcomes = harvest(db, include_not_due=True, settings=settings)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
        busy = machine_busy() - busy
        workers_cpu, workers_peak = sampler.stop()
        statuses: dict[str, int] = {}
        for o in outcomes:
            statuses[o.status] = statuses.get(o.status, 0) + 1
        errors = sorted({o.error for o in outcomes if o.error})[:3]
        result[phase] = {
            "wall": wall, "cpu": cpu, "workers_cpu": workers_cpu, "peak_mb": peak_mb(),
            # CPU the rest of the machine used meanwhile (the feed server included): other work disturbs the run.
            "others_cpu": max(0.0, busy - cpu - workers_cpu),
            "workers_peak_mb": workers_peak,
            "new": sum(o.new for o in outcomes), "statuses": statuses, "errors": errors,
            "timers": {k: round(v, 3) for k, v in timers.items()},
        }
        if args.tracemalloc:
            import tracemalloc

            result[phase]["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.reset_peak()
    result["items_in_db"] = db.execute("select count(*) from items").fetchone()[0]
    result["db_mb"] = os.path.getsize(args.db) / 2**20
    db.close()
    return result


def child_parse(args: argparse.Namespace) -> dict:
    import feedparser

    kwargs = {"sanitize_html": False, "resolve_relative_uris": False} if args.pipeline_flags else {}
    total = 0.0
    entries = 0
    busy, cpu = machine_busy(), time.process_time()
    for path in feed_files(Path(args.dir)):
        body = path.read_bytes()
        start = time.perf_counter()
        parsed = feedparser.parse(body, **kwargs)
        total += time.perf_counter() - start
        entries += len(parsed.entries)
    others = max(0.0, machine_busy() - busy - (time.process_time() - cpu))
    return {"wall": total, "entries": entries, "peak_mb": peak_mb(), "others_cpu": others}


def child_costs(args: argparse.Namespace) -> dict:
    """Single-threaded CPU cost per item of each step, on a sample of the feeds (no network).

    The steps are the pipeline's own functions, in the form it runs them: the rows
    carry their JSON columns encoded (as the workers send them), and the writes
    share transactions as the pipeline's writer batches them.
    """
    import feedparser

    from db import store
    from harvester.items import item_rows
    from harvester.parse import parse_feed
    from harvester.pipeline import HarvestSettings
    from harvester.scores import encoded_labels, score_input, score_rows

    paths = feed_files(Path(args.dir))[: args.sample]
    bodies = [p.read_bytes() for p in paths]
    headers = {"content-type": "application/xml; charset=utf-8"}
    url = "http://127.0.0.1/feed"
    src = {"name": "bench", "url": "http://127.0.0.1/feed", "kind": "feed", "publisher": "news",
           "every": 3600, "filter": 0, "local": 1}
    settings = HarvestSettings()
    score_rows([{"title": "warm up", "text": "Minoxidil in mice.", "url": url, "publisher": "news"}])
    out: dict[str, float] = {}

    clock = time.process_time()
    for body in bodies:
        feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    out["feedparser"] = time.process_time() - clock

    clock = time.process_time()
    parsed = [parse_feed(body, url=url, headers=headers) for body in bodies]
    out["parse_feed"] = time.process_time() - clock

    now = store.utcnow()
    clock = time.process_time()
    feeds = [list(item_rows(src, feed.entries, now, settings.fulltext_min_chars).values()) for feed in parsed]
    out["rows"] = time.process_time() - clock

    clock = time.process_time()
    for rows in feeds:  # what a worker does for a source that was never harvested (items.parse_rows)
        for row, labels in zip(rows, encoded_labels([score_input(r) for r in rows])):
            row.update(labels)
    out["score"] = time.process_time() - clock
    for rows in feeds:
        for row in rows:
            row["nct_ids"] = json.dumps(row["nct_ids"], ensure_ascii=False)
            row["meta"] = json.dumps(row["meta"], ensure_ascii=False)

    from db import open_db, sync_sources

    fetch = {"started_at": store.iso(now), "status": "ok", "new_items": args.items}
    for key, per_commit in (("save", settings.write_batch_items), ("save_per_feed", 1)):
        path = f"{args.db}.{key}"
        db = open_db(path)
        sync_sources(db, [src])
        batches: list[list[list[dict]]] = [[]]
        for rows in feeds:  # the writer commits once write_batch_items items are queued
            if sum(map(len, batches[-1])) >= per_commit:
                batches.append([])
            batches[-1].append(rows)
        clock, wall = time.process_time(), time.perf_counter()
        for batch in batches:
            with db.atomic():  # each feed's save_harvest is a savepoint inside it, as in db.batches.save_harvests
                for rows in batch:
                    store.save_harvest(db, "bench", source_changes={"last_status": "ok"}, new_items=rows, fetch=fetch)
        out[key] = time.process_time() - clock
        out[key + "_wall"] = time.perf_counter() - wall
        db.close()
    return {"items": sum(map(len, feeds)), "seconds": out}


def run_child(mode: str, extra: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, *extra], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench child {mode} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- orchestration ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are reported")
    parser.add_argument("--concurrency", type=int, default=16, help="sources fetched at once")
    parser.add_argument("--tracemalloc", action="store_true", help="one extra untimed harvest under tracemalloc")
    parser.add_argument("--keep", type=Path, help="generate the feeds into this directory and keep them")
    parser.add_argument("--sample", type=int, default=100,
                        help="feeds used to measure each step's single-threaded cost per item")
    parser.add_argument("--child", choices=["serve", "harvest", "parse", "costs"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-flags", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child == "serve":
        serve(Path(args.dir))
        return 0
    if args.child:
        out = {"harvest": child_harvest, "parse": child_parse, "costs": child_costs}[args.child](args)
        print(json.dumps(out))
        return 0

    with tempfile.TemporaryDirectory(prefix="hypewatch-bench-") as tmp:
        feeds_dir = args.keep or Path(tmp) / "feeds"
        started = time.perf_counter()
        size = generate(feeds_dir, args.feeds, args.items)
        print(f"generated {args.feeds} feeds x {args.items} items, {size / 2**20:.1f} MiB "
              f"({size / args.feeds / 1024:.0f} KiB/feed, {size / args.feeds / args.items:.0f} B/item) "
              f"in {time.perf_counter() - started:.1f}s; concurrency {args.concurrency}, repeat {args.repeat}")
        server = subprocess.Popen([sys.executable, __file__, "--child", "serve", "--dir", str(feeds_dir)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            line = server.stdout.readline()
            if not line.startswith("READY "):
                sys.exit("bench: the feed server did not start")
            base = f"http://127.0.0.1:{int(line.split()[1])}"
            common = ["--dir", str(feeds_dir), "--concurrency", str(args.concurrency)]
            runs, parses, parses_flags = [], [], []
            for r in range(args.repeat):
                db = Path(tmp) / f"run{r}.db"
                runs.append(run_child("harvest", [*common, "--base", base, "--db", str(db)]))
                for suffix in ("", "-wal", "-shm"):
                    Path(str(db) + suffix).unlink(missing_ok=True)
                parses.append(run_child("parse", common))
                parses_flags.append(run_child("parse", [*common, "--pipeline-flags"]))
                first, second = runs[-1]["first"], runs[-1]["second"]
                print(f"  run {r + 1}: first {first['wall']:.2f}s ({first['statuses']}), "
                      f"second {second['wall']:.2f}s ({second['statuses']}), "
                      f"parse loop {parses[-1]['wall']:.2f}s / {parses_flags[-1]['wall']:.2f}s, "
                      f"ratio {first['wall'] / parses[-1]['wall']:.2f}x, peak {second['peak_mb']:.0f} MB; "
                      f"cpu main {first['cpu']:.1f}s + workers {first['workers_cpu']:.1f}s; other processes "
                      f"used {first['others_cpu']:.1f} cpu-s during the first harvest, "
                      f"{parses[-1]['others_cpu']:.1f} during the loop", flush=True)
                for phase in (first, second):
                    if phase["errors"]:
                        print(f"    errors: {phase['errors']}")
            costs = run_child("costs", [*common, "--sample", str(args.sample), "--items", str(args.items),
                                        "--db", str(Path(tmp) / "costs.db")])
            traced = None
            if args.tracemalloc:
                db = Path(tmp) / "traced.db"
                traced = run_child("harvest", [*common, "--base", base, "--db", str(db), "--tracemalloc"])
        finally:
            server.terminate()
            server.wait(timeout=10)

    expected = args.feeds * args.items
    med = statistics.median
    first_wall = med(r["first"]["wall"] for r in runs)
    second_wall = med(r["second"]["wall"] for r in runs)
    parse_wall = med(p["wall"] for p in parses)
    parse_flags_wall = med(p["wall"] for p in parses_flags)
    peak_first = med(r["first"]["peak_mb"] for r in runs)
    peak = med(r["second"]["peak_mb"] for r in runs)
    new_items = med(r["first"]["new"] for r in runs)

    def ok(good: bool) -> str:
        return "ok" if good else "MISSED"

    print(f"\nmedians of {args.repeat} ({expected} items expected, {new_items:.0f} stored by the first harvest):")
    print(f"  (a) first harvest      {first_wall:8.2f} s  {new_items / first_wall:8.0f} items/s  "
          f"cpu {med(r['first']['cpu'] for r in runs):.2f} s "
          f"+ workers {med(r['first']['workers_cpu'] for r in runs):.2f} s"
          f"  peak RSS {peak_first:.0f} MB")
    print(f"  (b) second harvest     {second_wall:8.2f} s  {expected / second_wall:8.0f} items/s  "
          f"cpu {med(r['second']['cpu'] for r in runs):.2f} s  peak RSS {peak:.0f} MB (whole child)")
    print(f"  (c) feedparser loop    {parse_wall:8.2f} s  {expected / parse_wall:8.0f} items/s  "
          f"peak RSS {med(p['peak_mb'] for p in parses):.0f} MB  (feedparser.parse(bytes), defaults)")
    print(f"      same, our flags    {parse_flags_wall:8.2f} s  {expected / parse_flags_wall:8.0f} items/s  "
          f"(sanitize_html=False, resolve_relative_uris=False, as harvester.parse calls it)")
    timers = {k: med(r["first"]["timers"][k] for r in runs) for k in runs[0]["first"]["timers"]}
    print("  first harvest, wall time inside, in the main process (the writer is a thread beside the event loop;"
          " parsing and scoring are the workers' CPU):")
    for key, value in timers.items():
        print(f"      {key:16} {value:8.2f} s  ({value / first_wall:5.1%} of wall)")
    n = costs["items"]
    sec = costs["seconds"]
    print(f"  single-threaded CPU cost per item ({n} items of {min(args.sample, args.feeds)} feeds, no network):")
    for key, label in (("feedparser", "feedparser.parse, our flags"),
                       ("parse_feed", "harvester.parse.parse_feed (feedparser + normalise + sanitise)  [worker]"),
                       ("rows", "items.item_rows (ids, canonical URLs, hashes)  [worker]"),
                       ("score", "scores.encoded_labels (scoring.score_item, strongest reasons, JSON)  [worker]"),
                       ("save", f"store.save_harvest, batched as writer.BatchWriter does (wall "
                                f"{sec['save_wall'] / n * 1000:.3f} ms)  [main]"),
                       ("save_per_feed", f"  the same, one transaction per feed (wall "
                                         f"{sec['save_per_feed_wall'] / n * 1000:.3f} ms)")):
        per = sec[key] / n
        print(f"      {per * 1000:6.3f} ms  {1 / per:7.0f} items/s  {label}")
    steps = (sec["parse_feed"] + sec["rows"] + sec["score"] + sec["save"]) / n
    print(f"      {steps * 1000:6.3f} ms  {1 / steps:7.0f} items/s  all steps (feedparser loop, defaults: "
          f"{parse_wall / expected * 1000:.3f} ms)")
    score_share = sec["score"] / n * new_items / first_wall
    print(f"  scoring share of the first harvest (isolated cost x items / wall): {score_share:.0%}, of the "
          f"CPU of all steps: {sec['score'] / n / steps:.0%}")
    print(f"  database: {med(r['db_mb'] for r in runs):.0f} MB for {med(r['items_in_db'] for r in runs):.0f} items")
    if traced:
        print(f"  tracemalloc peak (untimed run): first {traced['first']['tracemalloc_peak_mb']:.0f} MB, "
              f"second {traced['second']['tracemalloc_peak_mb']:.0f} MB")
    r1 = first_wall / parse_wall
    r2 = second_wall / first_wall
    # Each run's harvest and parse loop ran minutes apart on the same (noisy) machine: their ratio is steadier.
    r1_runs = med(r["first"]["wall"] / p["wall"] for r, p in zip(runs, parses))
    r2_runs = med(r["second"]["wall"] / r["first"]["wall"] for r in runs)
    print("\ntargets:")
    print(f"  first harvest / feedparser loop  {r1:5.2f}x   (target <= {TARGET_FIRST_OVER_PARSE:g}x)  {ok(r1 <= 2)}"
          f"   [median of per-run ratios {r1_runs:.2f}x; vs our flags {first_wall / parse_flags_wall:.2f}x]")
    print(f"  second / first harvest           {r2:6.1%}   (target < {TARGET_SECOND_OVER_FIRST:.0%})     "
          f"{ok(r2 < TARGET_SECOND_OVER_FIRST)}   [median of per-run ratios {r2_runs:.1%}]")
    workers = med(r["first"]["workers_peak_mb"] for r in runs)
    print(f"  peak memory (harvest child)      {peak:5.0f} MB (target < {TARGET_PEAK_MB:g} MB) {ok(peak < TARGET_PEAK_MB)}")
    print(f"  peak memory per parse worker     {workers:5.0f} MB (separate processes; harvest child + workers "
          f"= {peak + 2 * workers:.0f} MB with 2 workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
