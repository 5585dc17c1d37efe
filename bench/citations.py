"""The citation checker on the labelled set (tests/fixtures/citations): precision and recall of its four flags.

Every case is run end to end from the services' own responses: the fixture files (Crossref
/works/{doi} and bibliographic-query JSON, PubMed efetch XML, ClinicalTrials.gov v2 JSON) are
read into Work records, the citation is checked, and the verdict is compared with the label.
The readers below are this bench's own small loaders, written while harvester/works' parsers
were built on another branch; `load_work` is the one place to switch to those parsers.

Cases are split by a hash of their id: sha1(id) % 3 == 0 is the held-out part, never used to
tune citecheck.toml; figures are printed for the tuning part, the held-out part and both.
Usage:
    .venv/bin/python bench/citations.py [--cases tests/fixtures/citations/cases.jsonl] [--verbose]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harvester.citecheck import FLAGS, Verdict, check  # noqa: E402
from harvester.references import Claimed, Reference  # noqa: E402
from harvester.works.model import Work  # noqa: E402
from scoring import labels  # noqa: E402

CASES = ROOT / "tests" / "fixtures" / "citations" / "cases.jsonl"
SERVICE = {"crossref": "crossref", "crossref-query": "crossref", "pubmed": "pubmed", "clinicaltrials": "clinicaltrials"}
SERVICE_NAME = {"crossref": "Crossref", "pubmed": "PubMed", "clinicaltrials": "ClinicalTrials.gov"}
NOTICE_KINDS = {"retraction": "retracted", "withdrawal": "retracted", "removal": "retracted",
                "expression_of_concern": "concern", "correction": "corrected", "erratum": "corrected"}
PUBMED_NOTICES = {"RetractionIn": "retraction", "ExpressionOfConcernIn": "expression_of_concern", "ErratumIn": "erratum"}
NOTICE_ORDER = ("corrected", "concern", "retracted")


def held_out(case_id: str) -> bool:
    """The held-out third: chosen by a hash of the id, so adding cases never moves old ones."""
    return int(hashlib.sha1(case_id.encode("utf-8")).hexdigest(), 16) % 3 == 0


# -- loaders: service responses -> Work ------------------------------------------------------


def _date(parts: Any) -> tuple[int | None, str | None]:
    try:
        p = [int(x) for x in parts["date-parts"][0] if x is not None]
    except (KeyError, IndexError, TypeError, ValueError):
        return None, None
    if not p:
        return None, None
    return p[0], "-".join(f"{x:02d}" if i else str(x) for i, x in enumerate(p))


def _retraction(kinds: list[str]) -> str | None:
    found = [NOTICE_KINDS.get(k) for k in kinds]
    ranked = [k for k in NOTICE_ORDER if k in found]
    return ranked[-1] if ranked else None


def crossref_message(m: dict, key: str | None = None) -> Work:
    doi = str(m.get("DOI") or "").lower() or None
    year, published = _date(m.get("issued") or m.get("published") or {})
    notices = [{"kind": u.get("type"), "doi": u.get("DOI"), "date": _date(u.get("updated") or {})[1],
                "source": u.get("source"), "label": u.get("label")} for u in m.get("updated-by") or []]
    abstract = m.get("abstract")
    if abstract:
        abstract = html.unescape(re.sub(r"<[^>]+>", " ", abstract))
        abstract = " ".join(abstract.split())
    container = (m.get("container-title") or [None])[0]
    short = (m.get("short-container-title") or [None])[0]
    return Work(key=key or f"doi:{doi}", service="crossref", state="found", doi=doi,
                title=(m.get("title") or [None])[0],
                authors=[a.get("family") or a.get("name") or "" for a in m.get("author") or []],
                journal=container or ((m.get("institution") or [{}])[0].get("name")), journal_abbrev=short if short != container else None,
                year=year, published=published, work_type=m.get("type"), preprint=m.get("type") == "posted-content",
                abstract=abstract, keywords=list(m.get("subject") or []), notices=notices,
                retraction=_retraction([str(n["kind"]) for n in notices]), url=m.get("URL"))


def crossref_work(body: bytes, key: str) -> Work:
    return crossref_message(json.loads(body)["message"], key)


def crossref_query(body: bytes, key: str) -> Work:
    items = json.loads(body)["message"]["items"]
    candidates = []
    for item in items:
        cand = crossref_message(item)
        data = {k: v for k, v in cand.__dict__.items() if k != "candidates"}
        data["score"] = item.get("score")
        candidates.append(data)
    return Work(key=key, service="crossref", state="found" if candidates else "not_found", candidates=candidates)


def _text(el: ET.Element | None) -> str:
    return " ".join("".join(el.itertext()).split()) if el is not None else ""


def pubmed(body: bytes, key: str) -> Work:
    root = ET.fromstring(body)
    article = root.find("PubmedArticle")
    if article is None:
        return Work(key=key, service="pubmed", state="not_found", error="PubMed returned no record for this PMID")
    art = article.find("MedlineCitation/Article")
    pub_types = [_text(p) for p in art.findall("PublicationTypeList/PublicationType")]
    comments = article.findall("MedlineCitation/CommentsCorrectionsList/CommentsCorrections")
    notices = [{"kind": PUBMED_NOTICES[c.get("RefType")], "doi": None, "date": None, "source": "pubmed",
                "label": _text(c.find("RefSource"))} for c in comments if c.get("RefType") in PUBMED_NOTICES]
    kinds = [str(n["kind"]) for n in notices] + (["retraction"] if "Retracted Publication" in pub_types else [])
    year_text = _text(art.find("Journal/JournalIssue/PubDate/Year")) or _text(art.find("Journal/JournalIssue/PubDate/MedlineDate"))[:4]
    ids = {a.get("IdType"): _text(a) for a in article.findall("PubmedData/ArticleIdList/ArticleId")}
    authors = [_text(a.find("LastName")) or _text(a.find("CollectiveName")) for a in art.findall("AuthorList/Author")]
    return Work(key=key, service="pubmed", state="found", pmid=_text(article.find("MedlineCitation/PMID")),
                doi=(ids.get("doi") or "").lower() or None, pmcid=ids.get("pmc"), title=_text(art.find("ArticleTitle")),
                authors=authors, journal=_text(art.find("Journal/Title")) or None,
                journal_abbrev=_text(art.find("Journal/ISOAbbreviation")) or None,
                year=int(year_text) if year_text.isdigit() else None, work_type="journal-article",
                abstract=" ".join(_text(t) for t in art.findall("Abstract/AbstractText")) or None, pub_types=pub_types,
                mesh=[_text(d) for d in article.findall("MedlineCitation/MeshHeadingList/MeshHeading/DescriptorName")],
                keywords=[_text(k) for k in article.findall("MedlineCitation/KeywordList/Keyword")],
                notices=notices, retraction=_retraction(kinds))


def clinicaltrials(body: bytes, key: str) -> Work:
    data = json.loads(body)
    p = data["protocolSection"]
    ident, status, design = p.get("identificationModule", {}), p.get("statusModule", {}), p.get("designModule", {})
    conditions = p.get("conditionsModule", {})
    start = (status.get("startDateStruct") or {}).get("date") or ""
    trial = {"phase": "/".join(design.get("phases") or []) or None, "status": status.get("overallStatus"),
             "enrollment": (design.get("enrollmentInfo") or {}).get("count"), "has_results": bool(data.get("hasResults")),
             "conditions": conditions.get("conditions") or [],
             "interventions": [i.get("name") for i in (p.get("armsInterventionsModule") or {}).get("interventions") or []],
             "allocation": (design.get("designInfo") or {}).get("allocation"), "study_type": design.get("studyType")}
    return Work(key=key, service="clinicaltrials", state="found", nct=ident.get("nctId"),
                title=ident.get("officialTitle") or ident.get("briefTitle"),
                year=int(start[:4]) if start[:4].isdigit() else None, published=start or None, work_type="trial",
                abstract=(p.get("descriptionModule") or {}).get("briefSummary"),
                keywords=[*trial["conditions"], *(conditions.get("keywords") or [])], trial=trial)


PARSERS = {"crossref": crossref_work, "crossref-query": crossref_query, "pubmed": pubmed, "clinicaltrials": clinicaltrials}


def load_work(ref: Reference, responses: list[dict], folder: Path) -> Work | None:
    """The Work the resolver would store for ``ref`` after these responses (None: never asked)."""
    key = ref.work_key or "query:" + hashlib.sha1(ref.value.casefold().encode("utf-8")).hexdigest()
    work: Work | None = None
    for resp in responses:
        service = SERVICE[resp["service"]]
        status = int(resp.get("status") or 0)
        name = SERVICE_NAME[service]
        if status == 404:
            got = Work(key=key, service=service, state="not_found", error=f"{name} answered 404 Not Found")
        elif status != 200:
            why = f"HTTP {status}" if status else "no answer within the time limit"
            got = Work(key=key, service=service, state="error", error=f"{name}: {why}; tried again later")
        else:
            try:
                got = PARSERS[resp["service"]]((folder / resp["file"]).read_bytes(), key)
            except (ValueError, KeyError, TypeError, IndexError, ET.ParseError) as exc:
                got = Work(key=key, service=service, state="error",
                           error=f"{name} sent an unreadable answer ({type(exc).__name__}); tried again later")
        if work is None or work.state != "found":
            work = got
        elif got.state == "found":  # a second service fills what the first lacked (PubMed's types, MeSH)
            for name_, value in got.__dict__.items():
                if name_ not in ("key", "service", "state") and value and not getattr(work, name_):
                    setattr(work, name_, value)
    return work


# -- running ---------------------------------------------------------------------------------


def reference(case: dict) -> Reference:
    r = case["ref"]
    c = r.get("claimed") or {}
    claimed = Claimed(authors=tuple(c.get("authors") or ()), journal=c.get("journal"), year=c.get("year"),
                      title=c.get("title"), design=c.get("design"), design_words=c.get("design_words"))
    return Reference(kind=r["kind"], value=r["value"], context=case["context"], claimed=claimed,
                     preprint=bool(r.get("preprint")), listed=bool(r.get("listed")))


def run_case(case: dict, folder: Path) -> Verdict:
    ref = reference(case)
    work = load_work(ref, case.get("responses") or [], folder)
    return check(ref, work, item_title=case.get("item_title", ""), item_text=case.get("item_text", ""),
                 treatments=case.get("treatments") or ())


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Figures:
    n: int = 0
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)
    confusion: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def add(self, case: dict, verdict: Verdict) -> None:
        self.n += 1
        want = set(case["expected"]["flags"]) & set(FLAGS)
        got = set(verdict.flags) & set(FLAGS)
        for flag in FLAGS:
            self.tp[flag] += flag in want and flag in got
            self.fp[flag] += flag not in want and flag in got
            self.fn[flag] += flag in want and flag not in got
        self.tp["any"] += bool(want) and bool(got)
        self.fp["any"] += not want and bool(got)
        self.fn["any"] += bool(want) and not got
        self.confusion[(case["expected"]["code"], verdict.code)] += 1
        if want != got or case["expected"]["code"] != verdict.code:
            self.errors.append(f"{case['id']}: expected {case['expected']['code']} {sorted(want)}, got {verdict.code} "
                               f"{sorted(got)}\n    " + "\n    ".join(verdict.reasons))

    def precision(self, key: str = "micro") -> float:
        tp, fp = self._counts(key)[:2]
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, key: str = "micro") -> float:
        tp, _, fn = self._counts(key)
        return tp / (tp + fn) if tp + fn else 1.0

    def _counts(self, key: str) -> tuple[int, int, int]:
        keys = FLAGS if key == "micro" else (key,)
        return sum(self.tp[k] for k in keys), sum(self.fp[k] for k in keys), sum(self.fn[k] for k in keys)


def evaluate(cases: list[dict], folder: Path) -> dict[str, Figures]:
    parts = {"tuning": Figures(), "held-out": Figures(), "all": Figures()}
    for case in cases:
        verdict = run_case(case, folder)
        parts["held-out" if held_out(case["id"]) else "tuning"].add(case, verdict)
        parts["all"].add(case, verdict)
    return parts


def report(parts: dict[str, Figures], verbose: bool = False) -> str:
    lines = []
    for name, f in parts.items():
        lines.append(f"{name}: {f.n} cases")
        lines.append(f"  flags (micro over flag x case): precision {f.precision():.3f}  recall {f.recall():.3f}")
        lines.append(f"  any flag (per case):             precision {f.precision('any'):.3f}  recall {f.recall('any'):.3f}")
        for flag in FLAGS:
            tp, fp, fn = f._counts(flag)
            lines.append(f"  {flag:<10} tp {tp:>2} fp {fp:>2} fn {fn:>2}  precision {f.precision(flag):.3f}  recall {f.recall(flag):.3f}")
    f = parts["all"]
    codes = labels.codes("citation_check")
    lines.append("confusion of verdict codes (rows expected, columns got), all cases:")
    width = max(len(c) for c in codes)
    lines.append(" " * (width + 2) + " ".join(f"{c[:6]:>6}" for c in codes))
    for want in codes:
        row = [f.confusion[(want, got)] for got in codes]
        if any(row):
            lines.append(f"  {want:<{width}}" + " ".join(f"{n:>6}" for n in row))
    if verbose and f.errors:
        lines.append("disagreements:")
        lines.extend("  " + e for e in f.errors)
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
