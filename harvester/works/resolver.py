"""Resolve work keys against Crossref, PubMed and ClinicalTrials.gov through the polite Fetcher: per-service
rate limits, conditional GET, Retry-After, error backoff, a per-pass request bound and the refresh schedule.

Why one module for the three services: they share one pass (one request budget, one clock, one
schedule), and a DOI needs two of them (Crossref for the record, PubMed for its publication types).
"""

from __future__ import annotations

import asyncio
import logging
import time
import tomllib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from db.store import iso, utcnow
from harvester.fetch import USER_AGENT, Fetcher, FetchResult
from harvester.polling import retry_after_seconds

from . import crossref, pubmed, trials
from .model import UNSUPPORTED_KINDS, Work, key_problem, row_to_work, split_key
from .ratelimit import TokenBucket, header_rate

__all__ = ["SERVICES", "Resolver", "ResolverSettings", "resolve", "resolver_fetcher"]

log = logging.getLogger(__name__)

SERVICES = ("crossref", "pubmed", "clinicaltrials")
_CONFIG = tomllib.loads((Path(__file__).with_name("services.toml")).read_text(encoding="utf-8"))
_JSON_ACCEPT = "application/json;q=1.0, */*;q=0.1"
_XML_ACCEPT = "application/xml, text/xml;q=0.9, */*;q=0.1"
_NAMES = {"crossref": "Crossref", "pubmed": "PubMed", "clinicaltrials": "ClinicalTrials.gov"}
_NOT_ASKED = "not asked: the pass's request bound was reached"


@dataclass(frozen=True)
class ResolverSettings:
    """Where the services are and how hard we may ask them. Defaults are the real services.

    ``allow_private`` is for tests and the offline demo only: their fixture servers are on
    127.0.0.1, which the fetcher refuses otherwise. Without ``contact_email`` Crossref puts us in
    its public pool (lower limits) and NCBI gets only ``tool``.
    """

    enabled: bool = True
    crossref_base: str = "https://api.crossref.org"
    eutils_base: str = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
    clinicaltrials_base: str = "https://clinicaltrials.gov/api/v2"
    contact_email: str | None = None
    ncbi_api_key: str | None = None
    ncbi_tool: str = "hypewatch"
    max_requests: int = int(_CONFIG["pass"]["max_requests"])
    max_retry_wait: float = float(_CONFIG["pass"]["max_retry_wait_seconds"])
    allow_private: bool = False
    rate_margin: float = float(_CONFIG["margin"])

    def rate(self, service: str) -> float:
        """Requests per second we allow ourselves for ``service`` (the service's limit times the margin)."""
        if service == "crossref":
            limit = _CONFIG["crossref"]["rate_polite" if self.contact_email else "rate_public"]
        elif service == "pubmed":
            limit = _CONFIG["pubmed"]["rate_with_key" if self.ncbi_api_key else "rate"]
        else:
            limit = _CONFIG["clinicaltrials"]["rate"]
        return float(limit) * self.rate_margin

    def concurrency(self, service: str) -> int:
        """Requests in flight at once: Crossref's pool limit, a few for the others."""
        if service == "crossref":
            return int(_CONFIG["crossref"]["concurrency_polite" if self.contact_email else "concurrency_public"])
        return int(_CONFIG[service]["concurrency"])


def resolver_fetcher(settings: ResolverSettings, **kwargs: Any) -> Fetcher:
    """A Fetcher whose User-Agent carries the contact address (Crossref's polite pool asks for it there)."""
    agent = USER_AGENT
    if settings.contact_email:
        agent = f"{USER_AGENT.rstrip(')')}; mailto:{settings.contact_email})"
    kwargs.setdefault("per_host", max(settings.concurrency(s) for s in SERVICES))
    return Fetcher(user_agent=agent, **kwargs)


@dataclass
class _Outcome:
    """One answer, as the resolver reads it."""

    result: FetchResult | None  # None: not asked (budget spent, or the service stopped for this pass)
    retry_after: int | None = None


@dataclass
class Resolver:
    """One resolver keeps its per-service buckets across passes; ``resolve`` is one pass.

    ``clock``/``sleep`` drive the rate limits (injectable); ``requests`` counts what was asked of
    each service, for logs and the benchmark.
    """

    fetcher: Fetcher
    settings: ResolverSettings = field(default_factory=ResolverSettings)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))

    def __post_init__(self) -> None:
        self._buckets = {s: TokenBucket(self.settings.rate(s), clock=self.clock, sleep=self.sleep) for s in SERVICES}
        self._slots = {s: asyncio.Semaphore(self.settings.concurrency(s)) for s in SERVICES}
        self._budget = 0
        self._stopped: dict[str, str] = {}
        self._backoff: dict[str, int] = {}  # key -> seconds a Retry-After asked for (0: none)
        self._not_modified: set[str] = set()

    def rate(self, service: str) -> float:
        """The rate in force for ``service`` (lowered when a server said its limit is lower)."""
        return self._buckets[service].rate

    # -- one pass -------------------------------------------------------------------------------

    async def resolve(self, keys: list[str], cached: Mapping[str, dict], *,
                      queries: Mapping[str, str] | None = None, now: datetime | None = None) -> list[Work]:
        """Resolve the keys that are new or due; return a Work for each key settled this pass.

        Keys whose cached record is still fresh are skipped (no request, not returned); keys left
        over when the pass's request bound is reached, or after a service asked us to stop, are not
        returned either and stay due. Never raises for anything a service does.
        """
        now = now or utcnow()
        queries = queries or {}
        self._budget = max(0, self.settings.max_requests)
        self._stopped, self._backoff, self._not_modified = {}, {}, set()
        if not self.settings.enabled:
            return []
        prev = {k: row_to_work(r) for k, r in cached.items() if isinstance(r, dict)}
        out: dict[str, Work] = {}
        groups: dict[str, list[str]] = {"doi": [], "pmid": [], "pmcid": [], "nct": [], "query": []}
        for key in dict.fromkeys(keys):
            old = prev.get(key)
            if old is not None and old.next_check_at and old.next_check_at > (iso(now) or ""):
                continue
            problem = key_problem(key)
            kind, _ = split_key(key)
            if problem:
                out[key] = Work(key=key, service="none", state="not_found", error=problem)
            elif kind in UNSUPPORTED_KINDS:
                out[key] = trials.unsupported(key)
            elif kind == "query" and not (queries.get(key) or "").strip():
                out[key] = Work(key=key, service="none", state="unsupported",
                                error="no citation text was given for this search key")
            else:
                groups[kind].append(key)
        parts = await asyncio.gather(
            self._crossref_dois(groups["doi"], prev),
            self._crossref_queries(groups["query"], queries, prev),
            self._pubmed_ids(groups["pmid"], groups["pmcid"]),
            self._trials(groups["nct"], prev),
        )
        for part in parts:
            out.update(part)
        for service, reason in self._stopped.items():
            log.warning("works: %s stopped for this pass: %s", service, reason)
        log.info("works: settled=%d asked crossref=%d pubmed=%d clinicaltrials=%d budget_left=%d",
                 len(out), self.requests["crossref"], self.requests["pubmed"], self.requests["clinicaltrials"],
                 self._budget)
        return [self._schedule(work, prev.get(key), now) for key, work in out.items()]

    # -- Crossref ---------------------------------------------------------------------------------

    async def _crossref_dois(self, keys: list[str], prev: dict[str, Work]) -> dict[str, Work]:
        base = self.settings.crossref_base.rstrip("/")
        mailto = f"?{urlencode({'mailto': self.settings.contact_email})}" if self.settings.contact_email else ""

        async def one(key: str) -> tuple[str, Work | None]:
            doi = split_key(key)[1]
            url = f"{base}/works/{quote(doi, safe='/()')}{mailto}"
            outcome = await self._get("crossref", url, prev.get(key), _JSON_ACCEPT)
            return key, self._read(key, outcome, prev.get(key), "crossref", crossref.parse_work,
                                   f"Crossref has no record of {doi}")

        # Chunk by chunk, so that PubMed is asked about one chunk while Crossref is asked about the next.
        per = int(_CONFIG["pubmed"]["esearch_terms"]) * 5
        lookups = []
        for start in range(0, len(keys), per):
            chunk = await asyncio.gather(*(one(k) for k in keys[start:start + per]))
            lookups.append(asyncio.create_task(self._with_pubmed({k: w for k, w in chunk if w is not None})))
        settled: dict[str, Work] = {}
        for part in await asyncio.gather(*lookups):
            settled.update(part)
        return settled

    async def _with_pubmed(self, settled: dict[str, Work]) -> dict[str, Work]:
        """Crossref's answers completed with PubMed's records of the same DOIs."""
        # PubMed adds publication types and MeSH to what Crossref found, and is asked about the DOIs
        # Crossref does not know (DOIs of other registration agencies), so that no DOI is reported
        # missing on Crossref's word alone.
        fresh = {k: w for k, w in settled.items()
                 if w.state == "found" and k not in self._not_modified and k not in self._backoff}
        missing = {k: w for k, w in settled.items() if w.state == "not_found"}
        ask = {split_key(k)[1].lower(): k for k in [*fresh, *missing]}
        found, failed = await self._pubmed_lookup("doi", list(ask))
        for doi, key in ask.items():
            record = found.get(doi)
            if key in fresh:
                if record is not None:
                    settled[key] = pubmed.merge(fresh[key], record)
                continue
            if record is not None:
                settled[key] = replace(record, key=key)
            elif failed == _NOT_ASKED:
                del settled[key]  # stays due; asked again next pass
            elif failed:
                settled[key] = Work(key=key, service="crossref", state="error",
                                    error=f"Crossref has no record of {split_key(key)[1]} and PubMed could not "
                                          f"be asked ({failed})")
            else:
                settled[key] = replace(missing[key], error=f"neither Crossref nor PubMed has a record of "
                                                           f"{split_key(key)[1]}")
        return settled

    async def _crossref_queries(self, keys: list[str], queries: Mapping[str, str],
                                prev: dict[str, Work]) -> dict[str, Work]:
        base = self.settings.crossref_base.rstrip("/")
        rows = str(_CONFIG["crossref"]["search_rows"])

        async def one(key: str) -> tuple[str, Work | None]:
            params = {"query.bibliographic": " ".join(queries[key].split())[:500], "rows": rows}
            if self.settings.contact_email:
                params["mailto"] = self.settings.contact_email
            outcome = await self._get("crossref", f"{base}/works?{urlencode(params)}", None, _JSON_ACCEPT)
            return key, self._read(key, outcome, prev.get(key), "crossref", crossref.parse_search,
                                   "Crossref's search found no work for this citation")

        return {k: w for k, w in await asyncio.gather(*(one(k) for k in keys)) if w is not None}

    # -- PubMed -----------------------------------------------------------------------------------

    def _ncbi_identity(self) -> dict[str, str]:
        identity = {"tool": self.settings.ncbi_tool}
        if self.settings.contact_email:
            identity["email"] = self.settings.contact_email
        if self.settings.ncbi_api_key:
            identity["api_key"] = self.settings.ncbi_api_key
        return identity

    async def _pubmed_ids(self, pmid_keys: list[str], pmcid_keys: list[str]) -> dict[str, Work]:
        out: dict[str, Work] = {}
        by_pmid = {split_key(k)[1]: k for k in pmid_keys}
        records, failed, asked = await self._efetch(list(by_pmid))
        for pmid, key in by_pmid.items():
            if pmid not in asked:
                continue  # the pass's bound was reached: stays due
            if failed:
                out[key] = Work(key=key, service="pubmed", state="error", error=failed)
                self._backoff[key] = self._backoff.get("pubmed", 0)
            elif pmid in records:
                out[key] = replace(records[pmid], key=key)
            else:
                out[key] = Work(key=key, service="pubmed", state="not_found",
                                error=f"PubMed has no record of PMID {pmid}")
        by_pmcid = {split_key(k)[1].upper(): k for k in pmcid_keys}
        found, failed = await self._pubmed_lookup("pmcid", list(by_pmcid))
        for pmcid, key in by_pmcid.items():
            if pmcid in found:
                out[key] = replace(found[pmcid], key=key)
            elif failed == _NOT_ASKED:
                continue
            elif failed:
                out[key] = Work(key=key, service="pubmed", state="error", error=failed)
                self._backoff[key] = self._backoff.get("pubmed", 0)
            else:
                out[key] = Work(key=key, service="pubmed", state="not_found", error=f"PubMed has no record of {pmcid}")
        return out

    async def _pubmed_lookup(self, field_name: str, values: list[str]) -> tuple[dict[str, Work], str | None]:
        """PubMed records for DOIs or PMCIDs (esearch OR-ed in batches, then efetch), by lower-cased DOI or
        upper-cased PMCID; the second value is a one-line reason when PubMed could not be asked."""
        if not values:
            return {}, None
        per = int(_CONFIG["pubmed"]["esearch_terms"])
        pmids: list[str] = []
        for start in range(0, len(values), per):
            term = pubmed.esearch_term(values[start:start + per], field_name)
            url = pubmed.esearch_url(self.settings.eutils_base, term, self._ncbi_identity())
            outcome = await self._get("pubmed", url, None, _JSON_ACCEPT)
            if outcome.result is None:
                return {}, _NOT_ASKED
            problem = self._failure(outcome, "PubMed esearch")
            if problem:
                return {}, problem
            ids, problem = pubmed.parse_esearch(outcome.result.body or b"")
            if problem:
                return {}, problem
            pmids.extend(ids)
        records, failed, asked = await self._efetch(list(dict.fromkeys(pmids)))
        if failed:
            return {}, failed
        if len(asked) < len(set(pmids)):
            return {}, _NOT_ASKED
        found: dict[str, Work] = {}
        for record in records.values():
            ident = (record.doi or "").lower() if field_name == "doi" else (record.pmcid or "").upper()
            if ident:
                found.setdefault(ident, record)
        return found, None

    async def _efetch(self, pmids: list[str]) -> tuple[dict[str, Work], str | None, set[str]]:
        """Records by PMID (batched efetch), a one-line error if a batch failed, and the PMIDs asked."""
        per = int(_CONFIG["pubmed"]["efetch_ids"])
        records: dict[str, Work] = {}
        asked: set[str] = set()
        for start in range(0, len(pmids), per):
            batch = pmids[start:start + per]
            url = pubmed.efetch_url(self.settings.eutils_base, batch, self._ncbi_identity())
            outcome = await self._get("pubmed", url, None, _XML_ACCEPT)
            if outcome.result is None:
                break
            asked.update(batch)
            problem = self._failure(outcome, "PubMed efetch")
            if problem:
                self._backoff["pubmed"] = outcome.retry_after or 0
                return records, problem, asked
            got, problem = pubmed.parse_efetch(outcome.result.body or b"")
            if problem:
                return records, problem, asked
            records.update(got)
        return records, None, asked

    # -- ClinicalTrials.gov ------------------------------------------------------------------------

    async def _trials(self, keys: list[str], prev: dict[str, Work]) -> dict[str, Work]:
        async def one(key: str) -> tuple[str, Work | None]:
            nct = split_key(key)[1]
            url = trials.study_url(self.settings.clinicaltrials_base, nct)
            outcome = await self._get("clinicaltrials", url, prev.get(key), _JSON_ACCEPT)
            return key, self._read(key, outcome, prev.get(key), "clinicaltrials", trials.parse_study,
                                   f"ClinicalTrials.gov has no record of {nct}")

        return {k: w for k, w in await asyncio.gather(*(one(k) for k in keys)) if w is not None}

    # -- requests and answers ----------------------------------------------------------------------

    async def _get(self, service: str, url: str, old: Work | None, accept: str) -> _Outcome:
        """One polite request (budget, slot, bucket); a 429/503 with a short Retry-After is waited out once."""
        for attempt in (1, 2):
            if service in self._stopped or self._budget <= 0:
                return _Outcome(None)
            self._budget -= 1
            bucket = self._buckets[service]
            validators = old is not None and old.state == "found"
            async with self._slots[service]:
                await bucket.acquire()
                if service in self._stopped:  # told to stop while we waited for our turn
                    self._budget += 1
                    return _Outcome(None)
                self.requests[service] += 1
                result = await self.fetcher.get(
                    url, etag=old.etag if validators else None,
                    last_modified=old.last_modified if validators else None,
                    allow_private=self.settings.allow_private, accept=accept)
            if service == "crossref" and (rate := header_rate(result.headers)):
                bucket.slow_to(rate * self.settings.rate_margin)
            if result.status not in (429, 503):
                return _Outcome(result)
            wait = retry_after_seconds(result.headers, utcnow())
            if attempt == 1 and wait is not None and wait <= self.settings.max_retry_wait:
                bucket.pause_until(self.clock() + wait)  # every request to the service waits, not just this one
                log.info("works: %s said HTTP %s with Retry-After %ss; waiting once", service, result.status, wait)
                continue
            self._stopped[service] = f"HTTP {result.status}" + (f" with Retry-After {wait}s" if wait is not None else "")
            return _Outcome(result, retry_after=wait)
        raise AssertionError("unreachable")

    @staticmethod
    def _failure(outcome: _Outcome, what: str) -> str | None:
        """A one-line reason when the answer is not a usable body (a 404 is the caller's to read)."""
        result = outcome.result
        assert result is not None
        if result.ok and result.body is not None:
            return None
        if result.status in (429, 503):
            hint = f" (Retry-After {outcome.retry_after}s)" if outcome.retry_after is not None else ""
            return f"{what} asked us to slow down: HTTP {result.status}{hint}; will retry later"
        return f"{what} failed: {result.error or 'empty answer'}; will retry later"

    def _read(self, key: str, outcome: _Outcome, old: Work | None, service: str,
              parse: Callable[[bytes, str], Work], missing: str) -> Work | None:
        """An answer to one key as a Work: a 304 keeps the cached record, a 404 is not_found, anything
        else that is not a usable body is an error (never not_found)."""
        result = outcome.result
        if result is None:
            return None
        if result.not_modified and old is not None:
            self._not_modified.add(key)
            return replace(old, error=None)
        if result.status == 404:
            return Work(key=key, service=service, state="not_found", error=missing)
        problem = self._failure(outcome, _NAMES[service])
        work = Work(key=key, service=service, state="error", error=problem) if problem else parse(result.body or b"", key)
        if work.state == "error":
            # An error keeps a record found earlier (its data still stand), marked with the error; either
            # way the key backs off, at least as long as a Retry-After said.
            self._backoff[key] = outcome.retry_after or 0
            return replace(old, error=work.error) if old is not None and old.state == "found" else work
        work.etag = result.headers.get("etag")
        work.last_modified = result.headers.get("last-modified")
        kind, asked = split_key(key)
        if kind == "doi" and work.doi and work.doi != asked.lower():
            log.info("works: Crossref answered %s for %s (an alias DOI); recorded the DOI it returned", work.doi, asked)
        return work

    # -- schedule ---------------------------------------------------------------------------------

    def _schedule(self, work: Work, old: Work | None, now: datetime) -> Work:
        """When to ask again: found 30 days, not found 7, errors 1 h doubling to 1 day (or the Retry-After)."""
        fresh = _CONFIG["freshness"]
        if work.state == "error" or work.key in self._backoff:
            errors = (old.errors if old else 0) + 1
            delay = min(fresh["error_first_seconds"] * 2 ** (errors - 1), fresh["error_max_seconds"])
            work.errors = errors
            work.next_check_at = iso(now + timedelta(seconds=max(delay, self._backoff.get(work.key, 0))))
            if work.state == "error":
                work.fetched_at = old.fetched_at if old else None
            return work
        days = {"found": fresh["found_days"], "not_found": fresh["not_found_days"]}.get(
            work.state, fresh["unsupported_days"])
        work.errors = 0
        work.fetched_at = iso(now)
        work.next_check_at = iso(now + timedelta(days=days))
        return work


async def resolve(keys: list[str], fetcher: Fetcher, settings: ResolverSettings, cached: Mapping[str, dict], *,
                  queries: Mapping[str, str] | None = None, now: datetime | None = None) -> list[Work]:
    """One pass of a fresh Resolver (see ``Resolver.resolve``); keep a Resolver to carry rates across passes."""
    return await Resolver(fetcher, settings).resolve(keys, cached, queries=queries, now=now)
