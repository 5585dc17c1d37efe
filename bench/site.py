"""Site benchmark: a 1,000,000-item database served by the shipped Datasette configuration (issue 4, issue 5).

Usage:
    python bench/site.py                          # build /tmp/hypewatch-site-bench.db (1M items), measure, snapshot
    python bench/site.py --reuse PATH             # measure an existing database (built by this script)
    python bench/site.py --items 100000 --db /tmp/small.db    # a quicker look
    python bench/site.py --reuse PATH --trace     # plus the SQL each page ran, with its time (Datasette tracer)

What it does:

* builds the database through ``db.store.open_db`` (so the schema, migrations, FTS
  triggers and indexes are the production ones), with items generated in Python from a
  fixed seed: ~200 sources of every publisher kind (item counts skewed), titles and texts
  of 0.5-3 KB drawn from sentence pools of hair-loss research-news prose, label columns
  with realistic distributions (some unscored, some off-topic), treatments as JSON arrays,
  reasons as JSON (~5 per label dimension), published dates over the last 3 years.
  Rows go in with ``executemany`` in large transactions (the FTS triggers fill items_fts);
* builds the weekly digests with ``hypewatch.digest.build_digests`` (enough lookback for
  a full 50-entry feed);
* serves it with ``hypewatch.serve.make_app`` (the shipped deploy/datasette config) and
  times requests with Datasette's in-process client: warm-up requests, then ``--n``
  timed requests per case; prints median and p95 against the targets of issue 4;
* times ``hypewatch snapshot`` (VACUUM INTO) on the database (issue 5) and removes the copy.

Nothing here is part of the test suite. Disk: the 1M database is ~5 GB, the snapshot as
much again while it exists (it is deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEED = 20261122
DEFAULT_DB = "/tmp/hypewatch-site-bench.db"

#: (case, target p95 in ms)
TARGETS = {
    "items page (configured facets)": 1000.0,
    "search: common term": 150.0,
    "search: rare term": 150.0,
    "item page": 50.0,
    "digest.atom": 300.0,
    "treatment feed": 300.0,
    "hype alerts feed": 300.0,
    "items filtered by a treatment": 1000.0,
    "search: two words, filtered by stage": 150.0,
}

# --- generation -------------------------------------------------------------------------------

PUBLISHERS = [  # kind, share of sources, item volume per source (relative)
    ("journal", 0.24, 1.0), ("preprint", 0.05, 1.2), ("press", 0.10, 0.5), ("news", 0.24, 1.5),
    ("blog", 0.10, 0.4), ("clinic", 0.10, 0.3), ("company", 0.05, 0.2), ("forum", 0.10, 3.0),
    ("registry", 0.02, 0.8),
]
PUBLISHER_HOST = {"journal": "journals", "preprint": "preprints", "press": "news.uni", "news": "news",
                  "blog": "blog", "clinic": "clinic", "company": "ir", "forum": "forum", "registry": "registry"}
NAME_WORDS = ["Hair", "Derm", "Trichology", "Follicle", "Scalp", "Skin", "Health", "Medical", "Science",
              "Clinical", "Research", "Alopecia", "Wellness", "Bio", "Regen", "Pharma"]
NAME_KINDS = {"journal": ["Journal of {a} {b}", "{a} {b} Reports", "Annals of {a} {b}"],
              "preprint": ["{a}Rxiv: {b}", "Preprints in {a} {b}"],
              "press": ["University of {a} News", "{a} Institute Press Office"],
              "news": ["{a} {b} Daily", "The {a} Wire", "{a} {b} Times"],
              "blog": ["{a} {b} Blog", "Notes on {a} {b}"],
              "clinic": ["{a} {b} Clinic", "{a} Restoration Center"],
              "company": ["{a}{b} Investor News", "{a}{b} Therapeutics Newsroom"],
              "forum": ["{a} {b} Forum", "{a} Talk"],
              "registry": ["ClinicalTrials.gov: {a} {b}", "EU CTR: {a} {b}"]}

# canonical treatment, weight (share of relevant items mentioning it ~ weight / sum * 1.6)
TREATMENTS = [
    ("minoxidil", 30), ("finasteride", 18), ("dutasteride", 6), ("jak inhibitors", 7), ("baricitinib", 4),
    ("ritlecitinib", 3), ("deuruxolitinib", 2), ("prp", 8), ("microneedling", 6), ("low-level laser therapy", 5),
    ("exosomes", 4), ("stem cells", 5), ("hair cloning", 2), ("hair transplant", 9), ("ketoconazole", 3),
    ("spironolactone", 4), ("bimatoprost", 1), ("caffeine", 2), ("saw palmetto", 3), ("rosemary oil", 3),
    ("biotin", 3), ("pyrilutamide", 1), ("clascoterone", 0.4), ("cerium nanoparticles", 0.5),
    ("gt20029", 0.3), ("verteporfin", 0.6), ("wnt activators", 0.8), ("dermal papilla cells", 1.5),
]
TREATMENT_WORDS = {"jak inhibitors": "JAK inhibitors", "prp": "platelet-rich plasma (PRP)",
                   "gt20029": "GT20029", "wnt activators": "Wnt activators"}
STAGES = [("none", 38), ("in_vitro", 7), ("animal", 11), ("human_anecdote", 14), ("human_uncontrolled", 10),
          ("human_rct", 13), ("meta_analysis", 7)]
COMMERCIAL = [("none", 60), ("indirect", 26), ("direct", 14)]
HYPE = [("low", 52), ("medium", 33), ("high", 15)]
HYPE_RANGE = {"low": (0, 33), "medium": (34, 66), "high": (67, 100)}

SUBJECTS = ["men with androgenetic alopecia", "women with female pattern hair loss", "patients with alopecia areata",
            "adults with telogen effluvium", "participants with mild to moderate hair loss", "mice with induced alopecia",
            "cultured human hair follicles", "dermal papilla cells", "volunteers aged 18 to 49",
            "patients after chemotherapy", "postmenopausal women", "young men with early thinning"]
OUTCOMES = ["hair density", "terminal hair count", "the SALT score", "hair shaft diameter", "anagen duration",
            "global photographic assessment", "patient-reported satisfaction", "vellus-to-terminal conversion",
            "hair shedding", "scalp coverage"]
TIMES = ["12 weeks", "24 weeks", "six months", "one year", "48 weeks", "three weeks", "18 months"]
GENERIC = [
    "The authors say larger trials are needed before the approach can be recommended.",
    "Hair loss affects roughly half of men by the age of fifty, and many women as well.",
    "Dermatologists cautioned that the findings have not yet been replicated.",
    "Side effects were mild and mostly limited to scalp irritation.",
    "The study was funded by a national research council and a university foundation.",
    "Experts not involved in the work said the effect size was modest.",
    "Results in animals often fail to translate into people.",
    "The company plans to file for regulatory approval next year.",
    "Participants were followed up for a year after treatment ended.",
    "Androgenetic alopecia is driven by dihydrotestosterone acting on genetically susceptible follicles.",
    "Alopecia areata is an autoimmune condition in which immune cells attack the hair follicle.",
    "The trial was registered before enrolment began.",
    "Photographs were assessed by blinded investigators.",
    "The preprint has not been peer reviewed.",
    "Book a free consultation with one of our specialists today.",
    "Prices start at a few hundred dollars per session, with financing available.",
    "Readers on the forum shared their own before-and-after photos.",
    "This release contains forward-looking statements that involve risks and uncertainties.",
    "Some commenters reported shedding in the first weeks before any regrowth.",
    "No serious adverse events were reported during the study period.",
    "The researchers used a mouse model in which hair growth can be synchronised.",
    "Follicle miniaturisation was measured with trichoscopy at each visit.",
    "A meta-analysis pools the results of several trials to estimate an overall effect.",
    "Dropout was higher in the placebo group than in the treatment group.",
    "The scientists described the result as an important first step.",
    "Critics noted the small sample and the lack of a control group.",
    "Insurance rarely covers treatments for pattern hair loss.",
    "Microscopy showed more follicles in the growth phase after treatment.",
    "The team now hopes to begin a phase 2 trial.",
    "Investors reacted positively to the announcement.",
]
TEMPLATES_TREATED = [
    "In this randomized, double-blind, placebo-controlled trial, {t} improved {o} in {s} at {w}.",
    "A systematic review and meta-analysis of {n} trials found {t} increased {o} compared with placebo.",
    "In an open-label, single-arm study of {n} {s}, {t} was associated with better {o} at {w}.",
    "Researchers found that {t} extended anagen and improved {o} in {s}.",
    "{T} regrew hair in {s} within {w}, the team reports.",
    "Our clinic now offers {t} for {s}; results visible in {w}.",
    "I have been using {t} for {w} and my {o} looks better, see the photos.",
    "Scientists say {t} could one day cure baldness for good.",
    "The phase 2 trial of {t} will enrol {n} {s} and measure {o} at {w}.",
    "Compared with {t2}, {t} gave a larger change in {o} after {w}.",
    "Experts warn that evidence for {t} in {s} remains limited.",
    "Patients asked whether {t} is safe to combine with {t2}.",
]
TEMPLATES_PLAIN = [
    "The study measured {o} in {n} {s} over {w}.",
    "Investigators reported changes in {o} among {s} after {w}.",
    "Baseline {o} did not differ between groups of {s}.",
    "The follow-up visit at {w} assessed {o} with standardised photographs.",
    "Of the {n} {s} enrolled, most completed the visit at {w}.",
    "Earlier work in {s} had suggested an effect on {o}.",
    "Reviewers asked for longer follow-up than {w} before drawing conclusions about {o}.",
    "The authors caution that {o} is an imperfect proxy for what {s} notice in the mirror.",
]
TITLE_TEMPLATES = [
    "{T} for {s}: a randomized controlled trial", "{T} versus {t2} in {s}: a systematic review and meta-analysis",
    "Breakthrough: {t} reverses baldness in {s}", "{T} and {o}: {n}-week results", "Is {t} worth it? My {w} update",
    "New study links {t} to better {o}", "{T} in {s}: open-label extension to {w}",
    "Company announces phase 2 trial of {t}", "What dermatologists say about {t}",
    "{T} prolongs anagen in {s}", "Clinic launches {t} packages for {s}",
]
CUES = {
    "evidence_stage": ["randomized", "double-blind", "meta-analysis", "open-label", "in mice", "in vitro",
                       "before/after photos", "single-arm", "placebo-controlled", "cultured follicles"],
    "commercial_interest": ["our clinic", "book", "NASDAQ", "forward-looking statements", "funded by",
                            "university", "sponsored", "consultation", "prices start", "investors"],
    "hype": ["breakthrough", "cure", "could one day", "reverses baldness", "guaranteed", "miracle",
             "more research is needed", "modest", "important first step", "game-changer"],
}


def _word(t: str) -> str:
    return TREATMENT_WORDS.get(t, t)


def make_sources(rng: random.Random, n: int = 200) -> list[dict[str, Any]]:
    kinds = rng.choices([k for k, _, _ in PUBLISHERS], weights=[w for _, w, _ in PUBLISHERS], k=n)
    volume = {k: v for k, _, v in PUBLISHERS}
    sources, seen = [], set()
    for i, kind in enumerate(kinds):
        while True:
            name = rng.choice(NAME_KINDS[kind]).format(a=rng.choice(NAME_WORDS), b=rng.choice(NAME_WORDS))
            if name not in seen:
                break
            name = f"{name} {i}"
            if name not in seen:
                break
        seen.add(name)
        host = f"{PUBLISHER_HOST[kind]}{i}.example.org"
        sources.append({"name": name, "url": f"https://{host}/feed", "kind": "clinicaltrials" if kind == "registry" else "feed",
                        "publisher": kind, "every": rng.choice([1800, 3600, 7200, 21600]),
                        "_weight": volume[kind] * rng.paretovariate(1.3), "_host": host})
    return sources


class Generator:
    """Rows for the items table, deterministic for a seed."""

    def __init__(self, seed: int, n: int, now: datetime, sources: list[dict[str, Any]]):
        self.rng = random.Random(seed)
        self.n = n
        self.sources = sources
        self.source_weights = [s["_weight"] for s in sources]
        self.now = now
        self.start = now - timedelta(days=3 * 365)
        self.span = (now - self.start).total_seconds()
        self.t_names = [t for t, _ in TREATMENTS]
        self.t_weights = [w for _, w in TREATMENTS]
        rng = self.rng
        # sentence pools: generic ones plus, per treatment, sentences filled from the templates
        self.per_treatment = {
            t: [self._fill(rng.choice(TEMPLATES_TREATED), t) for _ in range(60)] for t in self.t_names
        }
        # filler without treatment names, so a term's frequency follows its treatment's weight
        self.generic = GENERIC + [self._fill(rng.choice(TEMPLATES_PLAIN), "") for _ in range(300)]

    def _fill(self, template: str, t: str) -> str:
        rng = self.rng
        t2 = rng.choices(self.t_names, weights=self.t_weights)[0]
        words = dict(t=_word(t), T=_word(t)[:1].upper() + _word(t)[1:], t2=_word(t2), s=rng.choice(SUBJECTS),
                     o=rng.choice(OUTCOMES), w=rng.choice(TIMES), n=rng.choice([8, 12, 24, 40, 60, 120, 240, 480]))
        return template.format(**words)

    def _text(self, treatments: list[str], target: int) -> str:
        rng = self.rng
        parts: list[str] = []
        size = 0
        while size < target:
            if treatments and rng.random() < 0.45:
                s = rng.choice(self.per_treatment[rng.choice(treatments)])
            else:
                s = rng.choice(self.generic)
            parts.append(s)
            size += len(s) + 1
        return " ".join(parts)

    def _reasons(self, text: str, labels: dict[str, Any]) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for dim, cues in CUES.items():
            if labels.get(dim) is None:
                continue
            for cue in rng.sample(cues, rng.randint(3, 5)):
                at = rng.randrange(max(1, len(text) - 120))
                out.append({"dimension": dim, "label": labels[dim], "cue": cue,
                            "snippet": text[at:at + 110], "weight": round(rng.uniform(0.5, 3.0), 1)})
        for t in labels.get("treatments") or []:
            out.append({"dimension": "treatments", "label": t, "cue": _word(t), "snippet": _word(t), "weight": 1.0})
        return out

    def rows(self, start: int, stop: int):
        """Items start..stop-1, oldest first (published grows with the index, as a harvest would add them)."""
        rng = self.rng
        st_names, st_w = zip(*STAGES)
        ci_names, ci_w = zip(*COMMERCIAL)
        hy_names, hy_w = zip(*HYPE)
        for i in range(start, stop):
            src = rng.choices(self.sources, weights=self.source_weights)[0]
            published = self.start + timedelta(seconds=self.span * (i + rng.random()) / self.n)
            seen = published + timedelta(minutes=rng.randint(5, 600))
            r = rng.random()
            relevant = None if r < 0.04 else (0 if r < 0.13 else 1)
            k = rng.choices((0, 1, 1, 1, 2, 2, 3))[0] if relevant == 1 else rng.choice((0, 0, 1))
            treatments = sorted(set(rng.choices(self.t_names, weights=self.t_weights, k=k))) if relevant else []
            stage = rng.choices(st_names, weights=st_w)[0]
            if src["publisher"] in ("clinic", "company"):
                commercial = rng.choices(("direct", "indirect", "none"), weights=(80, 15, 5))[0]
            else:
                commercial = rng.choices(ci_names, weights=ci_w)[0]
            hype = rng.choices(hy_names, weights=hy_w)[0]
            labels = {"evidence_stage": stage, "commercial_interest": commercial, "hype": hype,
                      "treatments": treatments} if relevant is not None else {}
            text = self._text(treatments, rng.randint(450, 2900))
            t = treatments[0] if treatments else rng.choice(self.t_names)
            title = self._fill(rng.choice(TITLE_TEMPLATES), t)
            summary = text[:280]
            item_id = f"{rng.getrandbits(64):016x}"
            url = f"https://{src['_host']}/a/{item_id[:10]}"
            pub_s = published.strftime("%Y-%m-%dT%H:%M:%SZ")
            seen_s = seen.strftime("%Y-%m-%dT%H:%M:%SZ")
            kind = src["publisher"]
            yield (
                item_id, src["name"], kind, url, url, title, None, pub_s, None, summary, None, text,
                f"10.{rng.randint(1000, 9999)}/{item_id[:8]}" if kind in ("journal", "preprint") else None,
                str(30000000 + i) if kind == "journal" and rng.random() < 0.6 else None,
                json.dumps([f"NCT0{rng.randint(1000000, 9999999)}"]) if kind == "registry" else "[]",
                "{}", seen_s, seen_s, item_id,
                None, relevant,
                labels.get("evidence_stage"), labels.get("commercial_interest"), labels.get("hype"),
                rng.randint(*HYPE_RANGE[hype]) if relevant is not None else None,
                json.dumps(treatments), json.dumps(self._reasons(text, labels), ensure_ascii=False),
                "bench-1" if relevant is not None else None, seen_s if relevant is not None else None,
            )


ITEM_COLUMNS = ("id", "source", "publisher", "url", "canonical_url", "title", "author", "published", "updated",
                "summary", "summary_html", "text", "doi", "pmid", "nct_ids", "meta", "first_seen_at", "fetched_at",
                "content_hash", "fulltext_status", "relevant", "evidence_stage", "commercial_interest", "hype",
                "hype_score", "treatments", "reasons", "scoring_version", "scored_at")


def build(path: Path, n: int, batch: int = 50_000) -> dict[str, Any]:
    from db import store
    from hypewatch.digest import build_digests

    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rng = random.Random(SEED)
    sources = make_sources(rng)
    t0 = time.perf_counter()
    db = store.open_db(path)  # production schema: migrations, FTS triggers, indexes
    store.sync_sources(db, [{k: v for k, v in s.items() if not k.startswith("_")} for s in sources],
                       now=now - timedelta(days=3 * 365 + 10))
    db.conn.execute("UPDATE sources SET last_status = 'ok', last_checked_at = ?, last_success_at = ?",
                    [store.iso(now), store.iso(now)])
    db.conn.commit()
    db.execute("PRAGMA cache_size = -1000000")  # build only: 1 GB page cache for index maintenance
    gen = Generator(SEED, n, now, sources)
    sql = (f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({', '.join('?' for _ in ITEM_COLUMNS)})")
    t_gen = t_ins = 0.0
    for lo in range(0, n, batch):
        a = time.perf_counter()
        rows = list(gen.rows(lo, min(n, lo + batch)))
        b = time.perf_counter()
        with db.conn:
            db.conn.executemany(sql, rows)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c = time.perf_counter()
        t_gen += b - a
        t_ins += c - b
        done = min(n, lo + batch)
        print(f"  {done:>9,} items  {c - t0:7.1f}s  (generate {t_gen:.0f}s, insert+FTS {t_ins:.0f}s)", flush=True)
    t_items = time.perf_counter() - t0
    a = time.perf_counter()
    built = build_digests(db, period="weekly", now=now, lookback=56)
    t_digest = time.perf_counter() - a
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {"items_s": t_items, "generate_s": t_gen, "insert_s": t_ins, "digests": len(built), "digests_s": t_digest}


# --- measuring --------------------------------------------------------------------------------


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))  # nearest-rank
    return s[k]


NH3_TAGS = {"a", "abbr", "acronym", "b", "blockquote", "br", "code", "em", "i", "li", "ol", "strong", "ul", "pre",
            "p", "h1", "h2", "h3", "h4", "h5", "h6", "img"}  # datasette-atom's bleach allowlist


async def measure(path: Path, n: int, warmup: int, trace: bool, diagnose: bool = False,
                  only: list[str] | None = None) -> list[dict[str, Any]]:
    import sqlite3

    from hypewatch.serve import make_app

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM items WHERE rowid IN (SELECT abs(random()) % (SELECT max(rowid) FROM items) + 1 "
        f"FROM items LIMIT {n + warmup})")]
    conn.close()
    ds = make_app(path)
    await ds.invoke_startup()
    cases = {
        "items page (configured facets)": lambda i: "/hypewatch/items",
        "search: common term": lambda i: "/hypewatch/items?_search=minoxidil",
        "search: rare term": lambda i: "/hypewatch/items?_search=clascoterone",
        "search: two words, filtered by stage":
            lambda i: "/hypewatch/items?_search=oral+minoxidil&evidence_stage=human_rct",
        "items filtered by a treatment": lambda i: "/hypewatch/items?_treatment=clascoterone",
        "item page": lambda i: f"/hypewatch/items/{ids[i % len(ids)]}",
        "digest.atom": lambda i: "/hypewatch/digest.atom",
        "treatment feed": lambda i: "/hypewatch/treatment_feed.atom?treatment=minoxidil",
        "hype alerts feed": lambda i: "/hypewatch/hype_alerts_feed.atom",
        "home page (summary cached)": lambda i: "/",
        "home page (summary recomputed)": lambda i: "/",
        "charts (recomputed)": lambda i: "/-/charts",
    }
    if diagnose:
        # what each part of a page costs: the same URLs without facets / without the row count,
        # and the feed with an nh3 cleaner in place of datasette-atom's bleach (patched in this process only)
        cases.update({
            "diag: items ?_nofacet=1": lambda i: "/hypewatch/items?_nofacet=1",
            "diag: items ?_nofacet=1&_nocount=1": lambda i: "/hypewatch/items?_nofacet=1&_nocount=1",
            "diag: search common, _nofacet": lambda i: "/hypewatch/items?_search=minoxidil&_nofacet=1",
            "diag: search common, _nofacet&_nocount": lambda i: "/hypewatch/items?_search=minoxidil&_nofacet=1&_nocount=1",
            "diag: search rare, _nofacet&_nocount": lambda i: "/hypewatch/items?_search=clascoterone&_nofacet=1&_nocount=1",
            "diag: digest.atom, nh3 cleaner": lambda i: "/hypewatch/digest.atom",
        })
    if only:
        cases = {k: v for k, v in cases.items() if any(o in k for o in only)}
    results = []
    for name, url in cases.items():
        if name == "diag: digest.atom, nh3 cleaner":
            import datasette_atom
            import nh3
            datasette_atom.clean = lambda html: nh3.clean(
                html, tags=NH3_TAGS, attributes={"a": {"href", "title"}, "img": {"alt", "src"}})
        errors: dict[int, int] = {}
        for i in range(warmup):
            r = await ds.client.get(url(n + i))
        times = []
        size = 0
        runs = n if not name.startswith("diag") and "recomputed" not in name else max(10, n // 3)
        for i in range(runs):
            if "recomputed" in name:  # the first visitor after a harvest commits pays for the aggregates
                ds.__dict__.get("_hypewatch_summaries", {}).clear()
            a = time.perf_counter()
            r = await ds.client.get(url(i))
            times.append((time.perf_counter() - a) * 1000)
            if r.status_code != 200:
                errors[r.status_code] = errors.get(r.status_code, 0) + 1
            size = len(r.content)
        notes = []
        if errors:
            body = r.text
            why = "SQL Interrupted: query took too long" if "SQL Interrupted" in body else body[:80]
            notes.append(", ".join(f"{k}× HTTP {c}" for c, k in errors.items()) + f" — {why}")
        if name.startswith(("items", "search")) and "timed out" in r.text.lower():
            notes.append("facets timed out")
        extra = "; ".join(notes)
        results.append({"case": name, "url": url(0), "median": statistics.median(times), "p95": _pct(times, 95),
                        "max": max(times), "bytes": size, "target": TARGETS.get(name), "note": extra, "n": runs, "errors": sum(errors.values())})
        print(f"  {name:<32} median {statistics.median(times):8.1f} ms   p95 {_pct(times, 95):8.1f} ms", flush=True)
        if trace:
            await show_trace(ds, url(0))
    return results


async def show_trace(ds, url: str) -> None:
    from datasette.tracer import capture_traces

    traces: list[dict[str, Any]] = []
    a = time.perf_counter()
    with capture_traces(traces):
        await ds.client.get(url)
    total = (time.perf_counter() - a) * 1000
    print(f"    trace {url}: {total:.1f} ms total, {len(traces)} queries")
    for t in sorted(traces, key=lambda t: -t.get("duration_ms", 0))[:12]:
        sql = " ".join(str(t.get("sql", "")).split())
        print(f"      {t.get('duration_ms', 0):8.1f} ms  {sql[:160]}")


SQL_DIAGNOSTICS = {
    "count(*) from items (table page count)": "select count(*) from items",
    "column facet: source (Datasette's SQL shape)":
        "select source as value, count(*) as count from (select * from items) where source is not null "
        "group by source order by count desc, value limit 13",
    "array facet, cheapest JSON form (json_each over items)":
        "select j.value, count(*) from items, json_each(items.treatments) j group by j.value "
        "order by 2 desc limit 13",
    "treatments facet from item_treatments (m004)":
        "select treatment, count(*) from item_treatments group by treatment order by 2 desc limit 13",
    "treatments facet from item_treatments, filtered (evidence_stage=human_rct)":
        "select treatment, count(*) from item_treatments where item_id in "
        "(select id from items where evidence_stage = 'human_rct') group by treatment order by 2 desc limit 13",
    "filter treatments__arraycontains=clascoterone (Datasette's SQL shape)":
        "select id, title from items where rowid in (select items.rowid from items, json_each(items.treatments) j "
        "where j.value = 'clascoterone') order by published desc limit 51",
    "filter by treatment via item_treatments (m004)":
        "select id, title from items where id in (select item_id from item_treatments where treatment = 'clascoterone') "
        "order by published desc limit 51",
    "search minoxidil: rows (Datasette's SQL shape, all columns)":
        "select * from items where rowid in (select rowid from items_fts where items_fts match 'minoxidil') "
        "order by published desc limit 51",
    "search minoxidil: count":
        "select count(*) from items where rowid in (select rowid from items_fts where items_fts match 'minoxidil')",
    "search minoxidil: newest 51 by FTS rowid (no sort over all matches)":
        "select items.id, items.title from items join (select rowid from items_fts where items_fts match 'minoxidil' "
        "order by rowid desc limit 51) m on items.rowid = m.rowid",
    "treatment_feed canned query shape, rare treatment":
        "select id from items where relevant is not 0 and exists (select 1 from json_each(case when "
        "json_valid(items.treatments) then items.treatments else '[]' end) j where j.value = 'clascoterone') "
        "order by items.published desc limit 50",
}


def sql_diagnostics(path: Path, limit_s: float = 10.0) -> None:
    """Time the SQL behind the slow parts directly (read-only), with query plans; stop any at limit_s."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    has_m004 = conn.execute("select 1 from sqlite_master where name = 'item_treatments'").fetchone()
    print("SQL diagnostics (sqlite3, read-only, warm cache; each stopped at %.0fs):" % limit_s)
    for name, sql in SQL_DIAGNOSTICS.items():
        if "item_treatments" in sql and not has_m004:
            continue
        plan = "; ".join(r[3] for r in conn.execute("explain query plan " + sql))
        times = []
        for _ in range(3):
            deadline = time.perf_counter() + limit_s
            conn.set_progress_handler(lambda: 1 if time.perf_counter() > deadline else 0, 10_000)
            a = time.perf_counter()
            try:
                conn.execute(sql).fetchall()
                times.append((time.perf_counter() - a) * 1000)
                if times[-1] > 2000:
                    break  # slow enough; one run says it
            except sqlite3.OperationalError:
                times.append(float("inf"))
                break
        conn.set_progress_handler(None, 0)
        best = min(times)
        shown = f"{best:9.1f} ms" if best != float("inf") else f" > {limit_s * 1000:.0f} ms"
        print(f"  {shown}  {name}\n               plan: {plan}")
    conn.close()


def snapshot_time(path: Path) -> dict[str, Any]:
    out = path.with_name(path.stem + "-snapshot.db")
    out.unlink(missing_ok=True)
    exe = Path(sys.executable).with_name("hypewatch")
    cmd = [str(exe), "snapshot", "--db", str(path), str(out)] if exe.exists() else \
        [sys.executable, "-m", "hypewatch", "snapshot", "--db", str(path), str(out)]
    a = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - a
    size = out.stat().st_size if out.exists() else 0
    out.unlink(missing_ok=True)
    return {"seconds": elapsed, "bytes": size, "ok": proc.returncode == 0, "output": (proc.stdout + proc.stderr).strip(),
            "cmd": " ".join(cmd)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--db", default=DEFAULT_DB, help="where to build the database")
    ap.add_argument("--reuse", metavar="PATH", help="measure this existing database instead of building one")
    ap.add_argument("--n", type=int, default=30, help="timed requests per case (>= 30)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-snapshot", action="store_true")
    ap.add_argument("--only", action="append", metavar="TEXT", help="measure only the cases whose name contains TEXT")
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--trace", action="store_true", help="print the SQL each page ran, slowest first")
    ap.add_argument("--diagnose", action="store_true",
                    help="also time the pages without facets / counts and the feed with an nh3 cleaner (n/3 runs)")
    args = ap.parse_args()

    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    build_info = None
    if args.reuse:
        path = Path(args.reuse)
    else:
        path = Path(args.db)
        free = shutil.disk_usage(path.parent).free
        need = args.items * 12_000  # database + snapshot, with margin
        print(f"disk free at {path.parent}: {free / 2**30:.1f} GiB (need ~{need / 2**30:.1f} GiB)")
        if free < need:
            sys.exit(f"not enough disk at {path.parent}; pass --db elsewhere")
        print(f"building {args.items:,} items into {path}")
        build_info = build(path, args.items)
        print(f"built in {build_info['items_s']:.0f}s (generate {build_info['generate_s']:.0f}s, "
              f"insert+FTS {build_info['insert_s']:.0f}s); {build_info['digests']} weekly digests "
              f"in {build_info['digests_s']:.0f}s")
    if args.build_only:
        return
    import sqlite3

    from db import store
    a = time.perf_counter()
    store.open_db(path).close()  # pending migrations, as the harvester would apply them
    print(f"open_db (pending migrations applied): {time.perf_counter() - a:.1f}s")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    n_items = conn.execute("SELECT count(*) FROM items").fetchone()[0]
    conn.close()
    size = path.stat().st_size
    print(f"database {path}: {n_items:,} items, {size / 2**30:.2f} GiB")
    print(f"measuring: {args.warmup} warm-up + {args.n} timed requests per case (Datasette in-process client)")
    if args.diagnose and not args.only:
        sql_diagnostics(path)
    results = asyncio.run(measure(path, args.n, args.warmup, args.trace, args.diagnose, args.only))
    snap = None if args.no_snapshot else snapshot_time(path)

    print()
    print("| case | URL | n | median ms | p95 ms | target p95 | result |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in results:
        note = f" ({r['note']})" if r["note"] else ""
        if r["target"] is None:
            target, ok = "–", "diagnostic"
        else:
            target, ok = f"≤ {r['target']:.0f}", "ok" if r["p95"] <= r["target"] and not r["errors"] else "MISSED"
        print(f"| {r['case']} | `{r['url']}` | {r['n']} | {r['median']:.1f} | {r['p95']:.1f} | {target} | {ok}{note} |")
    print()
    if build_info:
        print(f"build: {build_info['items_s']:.0f}s for {args.items:,} items "
              f"(+ {build_info['digests_s']:.0f}s for {build_info['digests']} weekly digests)")
    print(f"database: {n_items:,} items, {size / 2**30:.2f} GiB")
    if snap:
        state = "ok" if snap["ok"] else "FAILED"
        print(f"snapshot ({snap['cmd']}): {snap['seconds']:.1f}s, {snap['bytes'] / 2**30:.2f} GiB, {state}")
        if not snap["ok"]:
            print(snap["output"])


if __name__ == "__main__":
    main()
