"""The citation checker on the labelled set (tests/fixtures/citations), measured on the real path: precision and recall of its four flags.

Every case runs the way the citations job runs an item (harvester/citing.py), end to end:

1. **extraction**: ``references.find_references`` reads the item's title and text, the text being
   the item's own text followed by the case's citing sentence (a paragraph) or reference-list line
   (under a "References" heading), as a harvested page carries them; the reference it finds is
   compared with the one the case stores (kind and value, then each claimed field);
2. **resolution**: the real ``works.resolver.Resolver`` asks a local ``FakeServices``
   (tests/works_server.py) loaded with the case's fixture responses: Crossref ``/works/{doi}``
   bodies by DOI, bibliographic-query bodies for searches, efetch articles by PMID (and by DOI for
   esearch), ClinicalTrials.gov studies by NCT id; an error response is served as a ``Trouble``
   on its path (its status and body; status 0 is an answer slower than the fetcher waits);
3. **check**: ``citing.judge`` (``citecheck.check``, or ``unverified`` for a citation too vague
   to look up), with the composed text as the item's text.

Two figures are printed: **extraction + check** (the verdict on the reference extraction found:
a reference missed, or read with another id, counts against the checker's recall and
precision as it would on the site) and **check alone** (the case's stored reference, resolved
and checked the same way: the checker's own measure, apart from extraction).

A case with no responses was never looked up (``unchecked-not-yet``, registries we do not
query): its reference is checked without a work. When a case holds Crossref records but no
search answer, Crossref's search lists those records (it holds them): a reference-list line
whose DOI is only in a link, read as a free-text citation, is then looked up as Crossref would.

Cases are split by a hash of their id: sha1(id) % 3 == 0 is the held-out part, never used to
tune citecheck.toml or references.toml; figures are printed for the tuning part, the held-out
part and both.
Usage:
    .venv/bin/python bench/citations.py [--cases tests/fixtures/citations/cases.jsonl] [--verbose]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harvester.citecheck import FLAGS, Verdict  # noqa: E402
from harvester.citing import judge, lookup_key  # noqa: E402
from harvester.fetch import FetchLimits  # noqa: E402
from harvester.references import Claimed, Reference, find_references  # noqa: E402
from harvester.works.model import Work  # noqa: E402
from harvester.works.pubmed import parse_efetch  # noqa: E402
from harvester.works.resolver import Resolver, ResolverSettings, resolver_fetcher  # noqa: E402
from scoring import labels  # noqa: E402
from tests.works_server import FakeServices, Trouble, crossref_search, crossref_work  # noqa: E402

CASES = ROOT / "tests" / "fixtures" / "citations" / "cases.jsonl"
MODES = ("extraction + check", "check alone")
PARTS = ("tuning", "held-out", "all")
CLAIMED_FIELDS = ("first author", "journal", "year", "title", "design")
# Where each service's error answers are served (a Trouble on this path prefix).
TROUBLE_PATHS = {"crossref": "/crossref/works/", "crossref-query": "/crossref/works", "pubmed": "/eutils/",
                 "clinicaltrials": "/ctgov/"}
READ_TIMEOUT = 1.0  # seconds the fetcher waits for an answer here; a status-0 case answers later than this


def held_out(case_id: str) -> bool:
    """The held-out third: chosen by a hash of the id, so adding cases never moves old ones."""
    return int(hashlib.sha1(case_id.encode("utf-8")).hexdigest(), 16) % 3 == 0


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- the item, and the reference the case stores ------------------------------------------------------------


def citing_item(case: dict) -> dict[str, Any]:
    """The item as the job would read it: its text, then the citing sentence or the listed line under a heading."""
    context = case["context"]
    tail = f"References\n{context}" if case["ref"].get("listed") else context
    return {"title": case.get("item_title", ""), "text": f"{case.get('item_text', '')}\n\n{tail}",
            "treatments": case.get("treatments") or []}


def stored_reference(case: dict) -> Reference:
    """The reference as the case stores it (the checker's input, apart from extraction)."""
    r = case["ref"]
    c = r.get("claimed") or {}
    claimed = Claimed(authors=tuple(c.get("authors") or ()), journal=c.get("journal"), year=c.get("year"),
                      title=c.get("title"), design=c.get("design"), design_words=c.get("design_words"))
    return Reference(kind=r["kind"], value=r["value"], context=case["context"], claimed=claimed,
                     preprint=bool(r.get("preprint")), listed=bool(r.get("listed")))


def _same_id(a: Reference, b: Reference) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "citation":  # the line as written: one's text holds the other's (punctuation aside)
        x, y = (" ".join(v.casefold().replace(".", " ").split()) for v in (a.value, b.value))
        return x in y or y in x
    return a.value.casefold() == b.value.casefold()


def extracted_reference(case: dict, item: dict[str, Any]) -> Reference | None:
    """The reference extraction finds for the case: the one with the stored kind and value, else the first."""
    found = find_references(item["title"], item["text"])
    want = stored_reference(case)
    return next((r for r in found if _same_id(r, want)), found[0] if found else None)


def claimed_agreement(got: Claimed, want: Claimed) -> dict[str, bool]:
    """Per claimed field the case states: does extraction read the same (case-folded, first author only)?"""
    def fold(v: Any) -> Any:
        return " ".join(str(v).casefold().rstrip(".").split()) if v is not None else None

    pairs = {"first author": (got.authors[:1], want.authors[:1]), "journal": (got.journal, want.journal),
             "year": (got.year, want.year), "title": (got.title, want.title), "design": (got.design, want.design)}
    return {name: fold(a[0] if isinstance(a, tuple) and a else a or None) ==
            fold(b[0] if isinstance(b, tuple) and b else b or None)
            for name, (a, b) in pairs.items() if b}


# -- the services, as the case's responses -------------------------------------------------------------------


def _pubmed_articles(body: bytes) -> list[tuple[str, str | None, str | None, str]]:
    """(PMID, DOI, PMCID, <PubmedArticle> XML) of each article in an efetch file."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return []
    out = []
    for article in root.iter("PubmedArticle"):
        pmid = article.findtext("MedlineCitation/PMID") or ""
        ids = {a.get("IdType"): (a.text or "").strip() for a in article.iterfind("PubmedData/ArticleIdList/ArticleId")}
        out.append((pmid.strip(), ids.get("doi"), ids.get("pmc"), etree.tostring(article, encoding="unicode")))
    return out


def load_services(fake: FakeServices, case: dict, folder: Path) -> None:
    """Put the case's responses where the services would give them (module docstring)."""
    fake.crossref_works.clear()
    fake.crossref_alias.clear()
    fake.crossref_search.clear()
    fake.pubmed_articles.clear()
    fake.pubmed_dois.clear()
    fake.pubmed_pmcids.clear()
    fake.studies.clear()
    fake.trouble.clear()
    value = case["ref"]["value"]
    for resp in case.get("responses") or []:
        service, status = resp["service"], int(resp.get("status") or 0)
        body = (folder / resp["file"]).read_bytes() if resp.get("file") else b""
        if status != 200:
            trouble = (Trouble(status=0, delay=READ_TIMEOUT * 1.5, times=10) if status == 0
                       else Trouble(status=status, body=body, times=10,
                                    headers={"Content-Type": "application/json" if body[:1] in (b"{", b"[")
                                             else "text/html" if body[:1] == b"<" else "text/plain"}))
            fake.trouble.setdefault(TROUBLE_PATHS[service], []).append(trouble)
        elif service == "crossref":
            fake.crossref_works[value.lower()] = body
        elif service == "crossref-query":
            fake.crossref_search.append(("", body))
        elif service == "pubmed":
            for pmid, doi, pmcid, xml in _pubmed_articles(body):
                fake.pubmed_articles[pmid] = xml
                if doi:
                    fake.pubmed_dois[doi.lower()] = pmid
                if pmcid:
                    fake.pubmed_pmcids[pmcid.upper()] = pmid
        elif service == "clinicaltrials":
            fake.studies[value.upper()] = body
    if not fake.crossref_search:
        records = _held_records(fake)
        if records:
            fake.crossref_search.append(("", crossref_search([(r, 50.0) for r in records])))


def _held_records(fake: FakeServices) -> list[bytes]:
    """The case's works as Crossref records: its /works bodies, and its PubMed articles that have a DOI
    (Crossref registers those DOIs), for a search answer when the case gives none."""
    records = []
    for record in fake.crossref_works.values():
        try:
            json.loads(record)["message"]
        except (ValueError, KeyError, TypeError):
            continue  # a broken body is no search hit
        records.append(record)
    xml = "<PubmedArticleSet>" + "".join(fake.pubmed_articles.values()) + "</PubmedArticleSet>"
    articles, _ = parse_efetch(xml.encode("utf-8"))
    for work in articles.values():
        if work.doi and work.doi.lower() not in fake.crossref_works and work.title and work.year:
            records.append(crossref_work(work.doi, work.title, work.authors, work.journal or "", work.year))
    return records


# -- running ---------------------------------------------------------------------------------------------


@dataclass
class CaseRun:
    case: dict
    extracted: Reference | None
    verdicts: dict[str, Verdict]           # mode -> verdict (no "extraction + check" when nothing was found)


async def _run_all(cases: list[dict], folder: Path) -> list[CaseRun]:
    runs = []
    with FakeServices() as fake:
        settings = ResolverSettings(crossref_base=fake.crossref, eutils_base=fake.eutils,
                                    clinicaltrials_base=fake.clinicaltrials, allow_private=True,
                                    contact_email="bench@example.org", rate_margin=1000.0)
        limits = FetchLimits(connect_timeout=READ_TIMEOUT, read_timeout=READ_TIMEOUT, deadline=5 * READ_TIMEOUT)
        async with resolver_fetcher(settings, limits=limits) as fetcher:
            for case in cases:
                runs.append(await _run_case(case, folder, fake, Resolver(fetcher, settings)))
    return runs


async def _run_case(case: dict, folder: Path, fake: FakeServices, resolver: Resolver) -> CaseRun:
    item = citing_item(case)
    extracted = extracted_reference(case, item)
    stored = stored_reference(case)
    refs = {"extraction + check": extracted, "check alone": stored}
    works: dict[str, Work] = {}
    if case.get("responses"):  # no responses: never looked up
        load_services(fake, case, folder)
        keys, queries = [], {}
        for ref in refs.values():
            key = lookup_key(ref) if ref is not None else None
            if key:
                keys.append(key)
                if ref.kind == "citation":
                    queries[key] = ref.value
        works = {w.key: w for w in await resolver.resolve(list(dict.fromkeys(keys)), {}, queries=queries)}
    verdicts = {mode: judge(ref, works, item) for mode, ref in refs.items() if ref is not None}
    return CaseRun(case, extracted, verdicts)


def run_cases(cases: list[dict], folder: Path) -> list[CaseRun]:
    """Every case through extraction, the resolver against the local services, and the checker."""
    logging.getLogger("harvester").setLevel(logging.ERROR)  # the error cases' warnings are expected
    return asyncio.run(_run_all(cases, folder))


# -- figures ---------------------------------------------------------------------------------------------


@dataclass
class Figures:
    n: int = 0
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    confusion: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, case: dict, verdict: Verdict | None) -> None:
        self.n += 1
        want = set(case["expected"]["flags"]) & set(FLAGS)
        got = set(verdict.flags) & set(FLAGS) if verdict else set()
        code = verdict.code if verdict else "(none found)"
        for flag in FLAGS:
            self.tp[flag] += flag in want and flag in got
            self.fp[flag] += flag not in want and flag in got
            self.fn[flag] += flag in want and flag not in got
        self.tp["any"] += bool(want) and bool(got)
        self.fp["any"] += not want and bool(got)
        self.fn["any"] += bool(want) and not got
        self.confusion[(case["expected"]["code"], code)] += 1
        if want != got or case["expected"]["code"] != code:
            reasons = "\n    ".join(verdict.reasons) if verdict else "extraction found no reference"
            self.errors.append(f"{case['id']}: expected {case['expected']['code']} {sorted(want)}, got {code} "
                               f"{sorted(got)}\n    {reasons}")

    def precision(self, key: str = "micro") -> float:
        tp, fp = self._counts(key)[:2]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, key: str = "micro") -> float:
        tp, _, fn = self._counts(key)
        return tp / (tp + fn) if tp + fn else 1.0

    def _counts(self, key: str) -> tuple[int, int, int]:
        keys = FLAGS if key == "micro" else (key,)
        return sum(self.tp[k] for k in keys), sum(self.fp[k] for k in keys), sum(self.fn[k] for k in keys)


@dataclass
class Extraction:
    """How often extraction reads the case's reference as stored."""

    n: int = 0
    found: int = 0                 # some reference found
    same_id: int = 0               # the stored kind and value
    fields: Counter = field(default_factory=Counter)       # claimed field -> cases stating it
    fields_same: Counter = field(default_factory=Counter)  # ... read the same
    misses: list[str] = field(default_factory=list)

    def add(self, run: CaseRun) -> None:
        self.n += 1
        want = stored_reference(run.case)
        got = run.extracted
        self.found += got is not None
        same = got is not None and _same_id(got, want)
        self.same_id += same
        if not same:
            self.misses.append(f"{run.case['id']}: stored {want.kind} {want.value[:70]!r}, extracted "
                               + (f"{got.kind} {got.value[:70]!r}" if got else "nothing"))
        if same:
            for name, agrees in claimed_agreement(got.claimed, want.claimed).items():
                self.fields[name] += 1
                self.fields_same[name] += agrees
                if not agrees:
                    self.misses.append(f"{run.case['id']}: {name} read differently "
                                       f"(stored {want.claimed!r}, extracted {got.claimed!r})")


@dataclass
class Results:
    figures: dict[str, dict[str, Figures]]   # mode -> part -> figures
    extraction: dict[str, Extraction]        # part -> extraction agreement


def evaluate(cases: list[dict], folder: Path) -> Results:
    """Run every case (``run_cases``) and count, per mode and part."""
    figures = {mode: {part: Figures() for part in PARTS} for mode in MODES}
    extraction = {part: Extraction() for part in PARTS}
    for run in run_cases(cases, folder):
        part = "held-out" if held_out(run.case["id"]) else "tuning"
        for p in (part, "all"):
            extraction[p].add(run)
            for mode in MODES:
                figures[mode][p].add(run.case, run.verdicts.get(mode))
    return Results(figures, extraction)


def report(results: Results, verbose: bool = False) -> str:
    lines = ["extraction (find_references on the citing text) against the stored reference:"]
    for part in PARTS:
        e = results.extraction[part]
        fields = "  ".join(f"{name} {e.fields_same[name]}/{e.fields[name]}" for name in CLAIMED_FIELDS if e.fields[name])
        lines.append(f"  {part:<9} {e.n} cases: found {e.found}, same kind/value {e.same_id} "
                     f"({e.same_id / e.n if e.n else 1:.3f}); claimed fields read the same: {fields}")
    for mode in MODES:
        lines.append(f"== {mode} ==")
        for part in PARTS:
            f = results.figures[mode][part]
            lines.append(f"{part}: {f.n} cases")
            lines.append(f"  flags (micro over flag x case): precision {f.precision():.3f}  recall {f.recall():.3f}")
            lines.append(f"  any flag (per case):             precision {f.precision('any'):.3f}  recall {f.recall('any'):.3f}")
            for flag in FLAGS:
                tp, fp, fn = f._counts(flag)
                lines.append(f"  {flag:<10} tp {tp:>2} fp {fp:>2} fn {fn:>2}  precision {f.precision(flag):.3f}  "
                             f"recall {f.recall(flag):.3f}")
        f = results.figures[mode]["all"]
        codes = labels.codes("citation_check")
        got_codes = [*codes, *sorted({g for _, g in f.confusion} - set(codes))]
        lines.append("confusion of verdict codes (rows expected, columns got), all cases:")
        width = max(len(c) for c in codes)
        lines.append(" " * (width + 2) + " ".join(f"{c[:6]:>6}" for c in got_codes))
        for want in codes:
            row = [f.confusion[(want, got)] for got in got_codes]
            if any(row):
                lines.append(f"  {want:<{width}}" + " ".join(f"{n:>6}" for n in row))
        if verbose and f.errors:
            lines.append("disagreements:")
            lines.extend("  " + e for e in f.errors)
    if verbose and results.extraction["all"].misses:
        lines.append("extraction differences:")
        lines.extend("  " + m for m in results.extraction["all"].misses)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=CASES)
    ap.add_argument("--verbose", action="store_true", help="print every disagreement with its reasons")
    args = ap.parse_args(argv)
    cases = load_cases(args.cases)
    print(report(evaluate(cases, args.cases.parent / "responses"), args.verbose))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
