"""The resolver against a local Crossref / E-utilities / ClinicalTrials.gov on 127.0.0.1: what it asks,
what it records, how it backs off, and that it keeps the services' rate limits."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest
from works_server import FakeServices, Trouble, crossref_search, crossref_work, pubmed_article, study

from db import works as works_db
from harvester.fetch import FetchLimits
from harvester.works import work_to_row
from harvester.works import resolver as resolver_mod
from harvester.works.model import query_key
from harvester.works.ratelimit import TokenBucket, header_rate
from harvester.works.resolver import Resolver, ResolverSettings, resolver_fetcher

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HAIR = "10.1111/jocd.12813"
BONE = "10.5555/bone.2020.7"


@pytest.fixture
def fake():
    with FakeServices() as services:
        services.crossref_works[HAIR] = crossref_work(HAIR, "Minoxidil and hair density", ["Paul", "Krasnopolsky"],
                                                      "Journal of Cosmetic Dermatology", 2019)
        services.crossref_works[BONE] = crossref_work(BONE, "Exosomes in bone regeneration", ["Wu"], "Bone Res", 2020)
        services.pubmed_articles["31000001"] = pubmed_article(
            "31000001", "Minoxidil and hair density", ["Paul"], "Journal of cosmetic dermatology", "J Cosmet Dermatol",
            2019, doi=HAIR, pmcid="PMC6500001", pub_types=("Journal Article", "Randomized Controlled Trial"),
            mesh=("Alopecia", "Minoxidil"), abstract="Minoxidil increased hair density.")
        services.pubmed_dois[HAIR] = "31000001"
        services.pubmed_pmcids["PMC6500001"] = "31000001"
        services.studies["NCT01234567"] = study("NCT01234567", "Baricitinib in alopecia areata")
        yield services


def settings_for(fake: FakeServices, **overrides) -> ResolverSettings:
    values = dict(crossref_base=fake.crossref, eutils_base=fake.eutils, clinicaltrials_base=fake.clinicaltrials,
                  contact_email="team@example.org", allow_private=True)
    values.update(overrides)
    return ResolverSettings(**values)


def run(fake: FakeServices, keys, cached=None, *, queries=None, now=NOW, limits=None, resolver=None, **overrides):
    settings = settings_for(fake, **overrides)

    async def main():
        async with resolver_fetcher(settings, **({"limits": limits} if limits else {})) as fetcher:
            r = resolver or Resolver(fetcher, settings)
            r.fetcher = fetcher
            return {w.key: w for w in await r.resolve(keys, cached or {}, queries=queries, now=now)}

    return asyncio.run(main())


def as_cache(works) -> dict[str, dict]:
    return {w.key: work_to_row(w) for w in works.values()}


def test_a_pass_over_every_kind_of_key(fake):
    fake.crossref_works["10.5555/real"] = crossref_work("10.5555/Real", "Aliased", ["Li"], "J", 2020)
    fake.crossref_alias["10.5555/alias"] = "10.5555/real"
    fake.crossref_search.append(("tawfik", crossref_search([(fake.crossref_works[HAIR], 97.0)])))
    citation = "Tawfik MA et al. Stem Cells Transl Med. 2018"
    vague = "A 2019 study in a journal"
    keys = [f"doi:{HAIR}", f"doi:{BONE}", "doi:10.5555/alias", "doi:10.9999/invented", "doi:10.1/bad",
            "pmid:31000001", "pmid:39999999", "pmcid:PMC6500001", "nct:NCT01234567", "nct:NCT09999999",
            "isrctn:ISRCTN12345678", query_key(citation), query_key(vague)]
    works = run(fake, keys, queries={query_key(citation): citation, query_key(vague): vague})
    assert set(works) == set(keys)

    hair = works[f"doi:{HAIR}"]
    assert (hair.state, hair.service, hair.pmid) == ("found", "crossref", "31000001")
    assert hair.pub_types == ["Journal Article", "Randomized Controlled Trial"] and hair.mesh == ["Alopecia", "Minoxidil"]
    assert hair.abstract == "Minoxidil increased hair density."  # Crossref had none
    assert works[f"doi:{BONE}"].state == "found" and works[f"doi:{BONE}"].pmid is None
    assert works["doi:10.5555/alias"].doi == "10.5555/real"  # the DOI Crossref answered with
    invented = works["doi:10.9999/invented"]
    assert invented.state == "not_found" and "neither Crossref nor PubMed" in invented.error
    assert works["doi:10.1/bad"].state == "not_found" and "malformed doi" in works["doi:10.1/bad"].error
    assert works["pmid:31000001"].state == "found" and works["pmid:31000001"].doi == HAIR
    assert works["pmid:39999999"].state == "not_found"
    assert works["pmcid:PMC6500001"].pmid == "31000001"
    assert works["nct:NCT01234567"].trial["has_results"] is True
    assert works["nct:NCT09999999"].state == "not_found"
    assert works["isrctn:ISRCTN12345678"].state == "unsupported"
    found = works[query_key(citation)]
    assert found.state == "found" and found.candidates[0]["key"] == f"doi:{HAIR}" and found.candidates[0]["score"] == 97.0
    assert works[query_key(vague)].state == "not_found"
    for work in works.values():
        assert work.next_check_at and work.errors == 0
    assert works[f"doi:{HAIR}"].next_check_at == "2025-03-31T12:00:00Z"
    assert works["pmid:39999999"].next_check_at == "2025-03-08T12:00:00Z"

    # etiquette: mailto on Crossref (User-Agent and parameter), tool and email on every E-utilities request
    crossref_hits = [h for h in fake.hits if h.service == "crossref"]
    assert all("mailto:team@example.org" in h.headers["user-agent"] for h in crossref_hits)
    assert all(h.query.get("mailto") == ["team@example.org"] for h in crossref_hits)
    ncbi = [h for h in fake.hits if h.service == "pubmed"]
    assert ncbi and all(h.query.get("tool") == ["hypewatch"] and h.query.get("email") == ["team@example.org"] for h in ncbi)
    # no request for the malformed DOI or the unqueried registry
    assert not any("10.1/bad" in h.path or "ISRCTN" in h.path for h in fake.hits)
    # DOIs were looked up in PubMed together, not one request each
    assert sum(1 for h in ncbi if h.path.endswith("esearch.fcgi")) == 2  # the DOIs, the PMCID


def test_a_second_pass_over_fresh_works_asks_nothing(fake, database):
    keys = [f"doi:{HAIR}", f"doi:{BONE}", "doi:10.9999/invented", "pmid:31000001", "nct:NCT01234567",
            "nct:NCT09999999", "isrctn:ISRCTN12345678"]
    first = run(fake, keys)
    works_db.save_works(database, [work_to_row(w) for w in first.values()])
    asked = fake.count()
    assert asked > 0
    later = NOW + timedelta(days=3)
    assert works_db.works_needing_fetch(database, keys, later) == []
    second = run(fake, keys, works_db.cached_works(database, keys), now=later)
    assert second == {} and fake.count() == asked
    # past the not-found week only the missing ones are asked again
    due = works_db.works_needing_fetch(database, keys, NOW + timedelta(days=8))
    assert set(due) == {"doi:10.9999/invented", "nct:NCT09999999"}


def test_a_304_keeps_the_record_and_moves_the_check(fake):
    fake.etags[f"/crossref/works/{HAIR}"] = '"v1"'
    first = run(fake, [f"doi:{HAIR}"])
    assert first[f"doi:{HAIR}"].etag == '"v1"'
    before = fake.count()
    later = NOW + timedelta(days=31)
    second = run(fake, [f"doi:{HAIR}"], as_cache(first), now=later)
    work = second[f"doi:{HAIR}"]
    assert fake.hits[-1].headers.get("if-none-match") == '"v1"'
    assert fake.count() == before + 1  # one conditional GET, no PubMed lookup
    assert work.state == "found" and work.pub_types == ["Journal Article", "Randomized Controlled Trial"]
    assert work.next_check_at == "2025-05-01T12:00:00Z"


def test_server_errors_are_errors_with_backoff_never_not_found(fake):
    fake.trouble[f"/crossref/works/{BONE}"] = [Trouble(status=500, times=5)]
    fake.trouble["/ctgov"] = [Trouble(status=200, body=b'{"protocolSection": {"identificationModule": {"nc', times=5)]
    works = run(fake, [f"doi:{BONE}", "nct:NCT01234567", f"doi:{HAIR}"])
    bone, trial = works[f"doi:{BONE}"], works["nct:NCT01234567"]
    assert bone.state == "error" and "HTTP 500" in bone.error and "\n" not in bone.error
    assert trial.state == "error" and "unreadable JSON" in trial.error
    assert (bone.errors, bone.next_check_at) == (1, "2025-03-01T13:00:00Z")
    assert works[f"doi:{HAIR}"].state == "found"
    again = run(fake, [f"doi:{BONE}"], as_cache(works), now=NOW + timedelta(hours=1, minutes=1))
    assert again[f"doi:{BONE}"].errors == 2
    assert again[f"doi:{BONE}"].next_check_at == "2025-03-01T15:01:00Z"  # 2 hours
    many = dict(again)
    many[f"doi:{BONE}"].errors = 9
    capped = run(fake, [f"doi:{BONE}"], as_cache(many), now=NOW + timedelta(days=2))
    assert capped[f"doi:{BONE}"].next_check_at == "2025-03-04T12:00:00Z"  # doubling stops at a day


def test_an_error_keeps_what_was_found_before(fake):
    first = run(fake, [f"doi:{HAIR}"])
    fake.trouble[f"/crossref/works/{HAIR}"] = [Trouble(status=502)]
    later = NOW + timedelta(days=31)
    work = run(fake, [f"doi:{HAIR}"], as_cache(first), now=later)[f"doi:{HAIR}"]
    assert work.state == "found" and work.title == "Minoxidil and hair density" and "HTTP 502" in work.error
    assert work.errors == 1 and work.next_check_at == "2025-04-01T13:00:00Z"


def test_a_short_retry_after_is_waited_out(fake):
    fake.trouble[f"/crossref/works/{HAIR}"] = [Trouble(status=429, headers={"Retry-After": "1"}, body=b"slow down")]
    work = run(fake, [f"doi:{HAIR}"])[f"doi:{HAIR}"]
    assert work.state == "found"
    stamps = [h.at for h in fake.hits if h.path == f"/crossref/works/{HAIR}"]
    assert len(stamps) == 2 and stamps[1] - stamps[0] >= 0.9


def test_a_long_retry_after_stops_the_service_for_the_pass(fake):
    fake.trouble["/crossref/works/"] = [Trouble(status=503, headers={"Retry-After": "7200"}, body=b"busy")]
    works = run(fake, [f"doi:{HAIR}", f"doi:{BONE}", "doi:10.5555/three", "nct:NCT01234567"])
    errors = [w for w in works.values() if w.state == "error"]
    assert len(errors) == 1 and "Retry-After 7200" in errors[0].error
    assert errors[0].next_check_at == "2025-03-01T14:00:00Z"
    # the requests queued behind it were not sent, and stay due (not returned)
    assert fake.count("crossref") == 1
    assert [k for k in works if k.startswith("doi:")] == [errors[0].key]
    assert works["nct:NCT01234567"].state == "found"  # other services carry on


def test_a_slow_answer_times_out_as_an_error(fake):
    fake.trouble["/ctgov"] = [Trouble(status=0, delay=3.0)]
    limits = FetchLimits(connect_timeout=2, read_timeout=1.0, deadline=1.0)
    works = run(fake, ["nct:NCT01234567", f"doi:{BONE}"], limits=limits)
    assert works["nct:NCT01234567"].state == "error" and "will retry" in works["nct:NCT01234567"].error
    assert works[f"doi:{BONE}"].state == "found"


def test_pubmed_failure_leaves_crossref_records_and_no_false_not_found(fake):
    fake.trouble["/eutils"] = [Trouble(status=500, times=5)]
    works = run(fake, [f"doi:{HAIR}", "doi:10.9999/invented", "pmid:31000001"])
    assert works[f"doi:{HAIR}"].state == "found" and works[f"doi:{HAIR}"].pub_types == []
    assert works["doi:10.9999/invented"].state == "error"  # Crossref said no, PubMed could not be asked
    assert works["pmid:31000001"].state == "error"


def test_private_addresses_are_refused_unless_allowed(fake):
    works = run(fake, [f"doi:{HAIR}"], allow_private=False)
    assert works[f"doi:{HAIR}"].state == "error" and "refusing" in works[f"doi:{HAIR}"].error
    assert fake.count() == 0


def test_the_pass_is_bounded_and_can_be_switched_off(fake):
    keys = [f"doi:10.5555/n{i}" for i in range(8)]
    works = run(fake, keys, max_requests=3)
    assert fake.count() == 3 and len(works) <= 3
    assert run(fake, keys, enabled=False) == {} and fake.count() == 3


def test_crossref_rate_headers_lower_our_rate(fake):
    fake.rate_headers = {"X-Rate-Limit-Limit": "2", "X-Rate-Limit-Interval": "1s"}
    settings = settings_for(fake)
    resolver = Resolver(None, settings)  # type: ignore[arg-type]
    assert resolver.rate("crossref") == pytest.approx(10 * settings.rate_margin)
    run(fake, [f"doi:{BONE}"], resolver=resolver)
    assert resolver.rate("crossref") == pytest.approx(2 * settings.rate_margin)


def test_ncbi_gets_at_most_three_requests_a_second(fake, monkeypatch):
    """Measured on the server: every DOI gets its own esearch here, so PubMed sees a burst of requests."""
    monkeypatch.setitem(resolver_mod._CONFIG["pubmed"], "esearch_terms", 1)
    keys = [f"doi:10.5555/x{i}" for i in range(8)]
    for i in range(8):
        fake.crossref_works[f"10.5555/x{i}"] = crossref_work(f"10.5555/x{i}", f"Paper {i}", ["Li"], "J", 2020)
    run(fake, keys)
    assert fake.count("pubmed") == 8
    assert fake.max_in_window("pubmed", 1.0) <= 3


# -- the bucket itself, on a fake clock --------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def _max_in_window(stamps: list[float], window: float = 1.0) -> int:
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [3.0, 2.7, 10.0, 50 / 60])
def test_bucket_never_exceeds_its_rate(rate):
    clock = FakeClock()
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)

    async def take(n: int) -> list[float]:
        stamps = []
        for i in range(n):
            clock.now += 0.013 * (i % 3)  # callers arrive at uneven moments
            await bucket.acquire()
            stamps.append(clock.now)
        return stamps

    stamps = asyncio.run(take(200))
    assert all(b - a >= 1 / rate - 1e-9 for a, b in zip(stamps, stamps[1:]))
    assert _max_in_window(stamps) <= math.ceil(rate - 1e-9)


def test_late_wakeups_do_not_bunch_requests():
    """A loop that oversleeps (a busy machine) must not let several waiting requests out at once."""
    clock = FakeClock()

    async def lazy_sleep(seconds: float) -> None:
        clock.now += seconds + 0.5

    bucket = TokenBucket(3.0, clock=clock, sleep=lazy_sleep)

    async def main() -> list[float]:
        stamps: list[float] = []

        async def one() -> None:
            await bucket.acquire()
            stamps.append(clock.now)

        await asyncio.gather(*(one() for _ in range(10)))
        return stamps

    stamps = asyncio.run(main())
    assert all(b - a >= 1 / 3 - 1e-9 for a, b in zip(stamps, stamps[1:]))


def test_bucket_waits_with_the_injected_sleep_and_honours_a_pause():
    clock = FakeClock()
    bucket = TokenBucket(3.0, clock=clock, sleep=clock.sleep)

    async def take(n: int) -> list[float]:
        out: list[float] = []
        for _ in range(n):
            await bucket.acquire()
            out.append(clock.now)
        return out

    stamps = asyncio.run(take(4))
    assert stamps == pytest.approx([100.0, 100 + 1 / 3, 100 + 2 / 3, 101.0])
    bucket.pause_until(clock.now + 60)
    assert asyncio.run(take(1)) == pytest.approx([161.0])
    bucket.slow_to(1.0)
    bucket.slow_to(99.0)  # never raised
    assert bucket.rate == 1.0


@pytest.mark.parametrize(("headers", "rate"), [
    ({"X-Rate-Limit-Limit": "50", "X-Rate-Limit-Interval": "1s"}, 50.0),
    ({"x-rate-limit-limit": "3000", "x-rate-limit-interval": "60s"}, 50.0),
    ({"X-Rate-Limit-Limit": "10"}, None), ({"X-Rate-Limit-Limit": "x", "X-Rate-Limit-Interval": "1s"}, None),
    ({"X-Rate-Limit-Limit": "5", "X-Rate-Limit-Interval": "soon"}, None),
])
def test_header_rate(headers, rate):
    assert header_rate(headers) == rate
