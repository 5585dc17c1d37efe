"""The citations job: what items cite, looked up and judged, and the studies they tell, grouped.

It runs after harvests as its own scheduled job (and as ``hypewatch cite``), bounded per pass,
and reads top to bottom:

1. the items due a check: new ones, ones checked by older rules, and ones with a citation
   still ``unchecked`` (its work was not looked up yet, or its service failed);
2. their references (``references.find_references``) and their own identifiers;
3. the works behind them that are new or due (``db.works.works_needing_fetch``), resolved through
   the polite fetcher with each service's rate limits (``works.resolver``), and saved with their
   fetch state, so a second pass asks nothing for works resolved and fresh;
4. each cited work's design (publication types, trial record, else our scorer on its abstract)
   and the claim strength of its abstract, for the gaps;
5. a verdict on every citation (``citecheck.check``), saved with the item's worst verdict;
6. the studies the recent items tell (``studies.group``), with every telling and its gap.

A service that fails leaves its citations ``unchecked`` (tried again when the work is due); it
never turns into an accusation, and it never stops the other steps.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from db import citations as citations_db
from db import studies as studies_db
from db import works as works_db
from db.store import iso, utcnow
from scoring import labels

from . import citecheck, references, studies
from .references import Reference
from .works.model import Work, query_key, row_to_work, work_to_row
from .works.resolver import Resolver, ResolverSettings, resolver_fetcher

__all__ = ["CHECK_VERSION", "CitingOutcome", "CitingSettings", "check_citations", "check_version", "judge", "lookup_key",
           "settings_from"]

log = logging.getLogger(__name__)

_RULES = "citing-2"  # bump when what is stored changes (this module, the extraction or parsers it reads through)
_DATA_FILES = (Path(citecheck.__file__).with_name("citecheck.toml"),
               Path(references.__file__).with_name("references.toml"),
               Path(studies.__file__).with_name("studies.toml"))


def check_version() -> str:
    """What a stored check was made by: these rules and their data files (word lists, thresholds)."""
    digest = hashlib.sha256(_RULES.encode())
    for path in _DATA_FILES:
        digest.update(path.read_bytes())
    return f"{_RULES}+{digest.hexdigest()[:12]}"


CHECK_VERSION = check_version()


@dataclass(frozen=True)
class CitingSettings:
    """How much one pass does, and where the services are (``resolver``)."""

    enabled: bool = True
    items_per_pass: int = 200            # items whose citations are (re)checked per pass
    study_window_days: int = 365         # items grouped into studies: published in this window
    study_items: int = 5000              # at most this many of them, newest first
    resolver: ResolverSettings = field(default_factory=ResolverSettings)


@dataclass
class CitingOutcome:
    items: int = 0                       # items whose citations were checked
    citations: int = 0
    flagged: int = 0                     # citations with one of the four flags
    unchecked: int = 0                   # still waiting for their work
    works_resolved: int = 0              # works fetched (or refreshed) this pass
    requests: dict[str, int] = field(default_factory=dict)
    studies: int = 0                     # studies among the grouped items
    skipped: str | None = None           # why nothing was done (switched off)


def check_citations(db: Any, settings: CitingSettings = CitingSettings(), *, transport: Any = None,
                    resolver: Resolver | None = None, now: datetime | None = None) -> CitingOutcome:
    """One pass of the job (module docstring). ``resolver`` carries rate limits across passes."""
    outcome = CitingOutcome()
    if not settings.enabled:
        outcome.skipped = "citation checks are switched off (setting citations = false)"
        return outcome
    now = now or utcnow()
    items = _due_items(db, settings.items_per_pass)
    found = {item["id"]: _references(item) for item in items}
    keys, queries = _work_keys(items, found)
    due = works_db.works_needing_fetch(db, keys, now)
    if due:
        fetched, requests = asyncio.run(_resolve(due, keys, queries, db, settings.resolver, transport, resolver, now))
        works_db.save_works(db, [_with_design(work) for work in fetched])
        outcome.works_resolved, outcome.requests = len(fetched), requests
    works = {key: row_to_work(row) for key, row in works_db.cached_works(db, keys).items()}
    order = labels.codes("citation_check")
    for item in items:
        refs = found[item["id"]]
        rows = [_citation_row(ref, works, item) for ref in refs]
        _keep_matched_works(db, refs, rows, works)
        citations_db.save_citations(db, item["id"], rows, CHECK_VERSION, order=order)
        outcome.items += 1
        outcome.citations += len(rows)
        outcome.flagged += sum(1 for r in rows if set(r["flags"]) & set(citecheck.FLAGS))
        outcome.unchecked += sum(1 for r in rows if r["verdict"] == "unchecked")
    if items or outcome.works_resolved:
        outcome.studies = _group_studies(db, settings, now)
    log.info("citations items=%d citations=%d flagged=%d unchecked=%d works=%d requests=%s studies=%d",
             outcome.items, outcome.citations, outcome.flagged, outcome.unchecked, outcome.works_resolved,
             outcome.requests, outcome.studies)
    return outcome


# -- the steps ----------------------------------------------------------------------------------------------


def _due_items(db: Any, limit: int) -> list[dict[str, Any]]:
    """New or outdated items first, then items with a citation still waiting for its work."""
    items = citations_db.items_needing_citation_check(db, CHECK_VERSION, limit)
    room = limit - len(items)
    if room > 0:
        seen = {item["id"] for item in items}
        waiting = [r[0] for r in db.execute(
            "select distinct item_id from citations where verdict = 'unchecked' limit ?", [room + len(seen)])]
        items += citations_db.items_by_id(db, [i for i in waiting if i not in seen][:room])
    return items


def _references(item: dict[str, Any]) -> list[Reference]:
    return references.find_references(item.get("title"), item.get("summary"), item.get("text"),
                                      own_ids=_own_keys(item))


def _own_keys(item: dict[str, Any]) -> list[str]:
    """The item's own identifiers as work keys: the paper it is, or reports."""
    keys = []
    if item.get("doi"):
        keys.append(f"doi:{str(item['doi']).lower()}")
    if item.get("pmid"):
        keys.append(f"pmid:{item['pmid']}")
    keys += [f"nct:{n}" for n in item.get("nct_ids") or [] if isinstance(n, str)]
    return keys


def lookup_key(ref: Reference) -> str | None:
    """The work a reference is looked up under; None for a citation too vague to search for.

    Public so that bench/citations.py resolves the labelled set's references exactly as the job does."""
    if ref.kind == "citation":
        return query_key(ref.value) if citecheck.specific(ref) else None
    return ref.work_key


def _work_keys(items: list[dict[str, Any]], found: dict[str, list[Reference]]) -> tuple[list[str], dict[str, str]]:
    """Every work to have at hand: each reference's, and the items' own (for their studies)."""
    keys: list[str] = []
    queries: dict[str, str] = {}
    for item in items:
        keys += _own_keys(item)
        for ref in found[item["id"]]:
            key = lookup_key(ref)
            if key:
                keys.append(key)
                if ref.kind == "citation":
                    queries[key] = ref.value
    return list(dict.fromkeys(keys)), queries


async def _resolve(due: list[str], keys: list[str], queries: dict[str, str], db: Any, settings: ResolverSettings,
                   transport: Any, resolver: Resolver | None, now: datetime) -> tuple[list[Work], dict[str, int]]:
    cached = works_db.cached_works(db, due)
    if resolver is not None:
        works = await resolver.resolve(due, cached, queries=queries, now=now)
        return works, dict(resolver.requests)
    async with resolver_fetcher(settings, transport=transport) as fetcher:
        one_pass = Resolver(fetcher, settings)
        works = await one_pass.resolve(due, cached, queries=queries, now=now)
        return works, dict(one_pass.requests)


def _with_design(work: Work) -> dict[str, Any]:
    """The works row, with the work's design and the claim strength of its abstract (for the gaps)."""
    row = work_to_row(work)
    if work.state != "found":
        return row
    row["design"], row["design_source"] = citecheck.work_design(work)
    if work.abstract:
        from scoring import score_item  # only abstracts need the scorer here

        try:
            row["claim_strength"] = score_item({"title": work.title or "", "text": work.abstract}).claim_strength
        except Exception:  # noqa: BLE001 - a bad abstract leaves the claim unknown, never stops the pass
            log.warning("scoring the abstract of %s failed", work.key, exc_info=True)
    return row


def judge(ref: Reference, works: dict[str, Work], item: dict[str, Any]) -> citecheck.Verdict:
    """The verdict on one reference of ``item`` given the works at hand (keyed as ``lookup_key`` gives)."""
    key = lookup_key(ref)
    if ref.kind == "citation" and key is None:
        return citecheck.Verdict("unverified", (
            f"'{ref.value[:160]}' gives too little (no first author with a journal, or a title with a year) to look up.",))
    return citecheck.check(ref, works.get(key) if key else None, item_title=item.get("title") or "",
                           item_text=item.get("text") or item.get("summary") or "",
                           treatments=item.get("treatments") or ())


def _citation_row(ref: Reference, works: dict[str, Work], item: dict[str, Any]) -> dict[str, Any]:
    verdict = judge(ref, works, item)
    return {"kind": ref.kind, "value": ref.value, "context": ref.context, "claimed": asdict(ref.claimed),
            "work_key": verdict.matched_key or lookup_key(ref), "verdict": verdict.code, "flags": list(verdict.flags),
            "reasons": list(verdict.reasons), "design": verdict.design, "on_topic": verdict.on_topic}


def _keep_matched_works(db: Any, refs: list[Reference], rows: list[dict[str, Any]], works: dict[str, Work]) -> None:
    """Store the works free-text citations were matched to under their own keys (from the search's
    records), so the site shows them and studies can link the items citing them."""
    matched = []
    for ref, row in zip(refs, rows):
        key, query = row["work_key"], lookup_key(ref)
        if ref.kind != "citation" or not key or key == query or key in works or query not in works:
            continue
        search = works[query]
        for candidate in search.candidates:
            if isinstance(candidate, dict) and key in (f"doi:{candidate.get('doi')}", candidate.get("key")):
                work = citecheck.candidate_work(candidate, search.service)
                work = replace(work, key=key, fetched_at=search.fetched_at, next_check_at=search.next_check_at)
                works[key] = work
                matched.append(_with_design(work))
                break
    if matched:
        works_db.save_works(db, matched)


def _group_studies(db: Any, settings: CitingSettings, now: datetime) -> int:
    """Group the recent items into studies and save them (items no longer in one are cleared)."""
    since = iso(now - timedelta(days=settings.study_window_days))
    items = studies_db.items_for_grouping(db, since, limit=settings.study_items)
    found = studies.group(items, studies_db.works_for_grouping(db, items))
    studies_db.save_studies(db, [s.as_dict() for s in found], scope=[item["id"] for item in items])
    return len(found)


def settings_from(values: dict[str, Any]) -> CitingSettings:
    """CitingSettings from resolved settings (hypewatch/settings.toml names).

    A service address given in the settings is trusted like a source marked local: it may be on
    this machine or the local network (a mirror, the demo's sample server, a test's fake).
    """
    base = ResolverSettings()
    allow_private = any(values[name] for name in ("crossref_url", "eutils_url", "clinicaltrials_url"))
    resolver = replace(
        base, enabled=values["citations"], contact_email=values["contact_email"] or None,
        ncbi_api_key=values["ncbi_api_key"] or None, max_requests=values["citations_max_requests"],
        crossref_base=values["crossref_url"] or base.crossref_base, eutils_base=values["eutils_url"] or base.eutils_base,
        clinicaltrials_base=values["clinicaltrials_url"] or base.clinicaltrials_base, allow_private=allow_private)
    return CitingSettings(enabled=values["citations"], items_per_pass=values["citations_items"],
                          study_window_days=values["study_window_days"], resolver=resolver)
