"""Resolution benchmark: 1,000 new DOIs resolved from a local stand-in for Crossref and E-utilities, at the real rate limits.

Usage: python bench/resolve.py [--dois 1000] [--in-pubmed 0.6] [--missing 0.05] [--latency 0.05]
                               [--no-email] [--max-requests 5000]

Generates Crossref work records for --dois DOIs (a --missing share left out, so Crossref answers
404 for them), PubMed articles for an --in-pubmed share, serves them on 127.0.0.1 with
--latency seconds of delay per answer, and runs one resolver pass with the real services'
limits (services.toml: Crossref polite pool 10/s, 5 at a time; NCBI 3/s without a key).
Prints the total time, the requests per service, the highest number of requests a service
saw in any one second (measured on the server), and the time the limits allow.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from works_server import FakeServices, Trouble, crossref_work, pubmed_article  # noqa: E402

from harvester.works.resolver import Resolver, ResolverSettings, resolver_fetcher  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dois", type=int, default=1000)
    parser.add_argument("--in-pubmed", type=float, default=0.6)
    parser.add_argument("--missing", type=float, default=0.05)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--no-email", action="store_true", help="no contact address: Crossref's public pool")
    parser.add_argument("--max-requests", type=int, default=5000)
    args = parser.parse_args()
    rng = random.Random(13)

    fake = FakeServices()
    dois = [f"10.5555/hair.{2000 + i % 25}.{i:05d}" for i in range(args.dois)]
    pmid = 30000000
    for doi in dois:
        if rng.random() >= args.missing:
            fake.crossref_works[doi] = crossref_work(doi, f"Study {doi} of hair follicle cycling", ["Lee", "Ito"],
                                                     "Journal of Investigative Dermatology", 2020)
        if rng.random() < args.in_pubmed:
            pmid += 1
            fake.pubmed_articles[str(pmid)] = pubmed_article(
                str(pmid), f"Study {doi}", ["Lee"], "The Journal of investigative dermatology",
                "J Invest Dermatol", 2020, doi=doi, pub_types=("Journal Article", "Randomized Controlled Trial"),
                mesh=("Alopecia", "Hair Follicle"))
            fake.pubmed_dois[doi] = str(pmid)
    if args.latency:
        for prefix in ("/crossref", "/eutils"):
            fake.trouble[prefix] = [Trouble(status=0, delay=args.latency, times=10**9)]
        # a Trouble with status 0 only delays; the normal answer follows

    # The stand-in runs in its own process, so that its threads never hold our interpreter's lock
    # and its arrival times measure the resolver, not the two sharing a CPU.
    context = multiprocessing.get_context("fork")
    to_child, from_child = context.Queue(), context.Queue()
    child = context.Process(target=_serve, args=(fake, to_child, from_child), daemon=True)
    child.start()
    base = from_child.get(timeout=30)
    settings = ResolverSettings(crossref_base=f"{base}/crossref", eutils_base=f"{base}/eutils",
                                clinicaltrials_base=f"{base}/ctgov/api/v2", allow_private=True,
                                contact_email=None if args.no_email else "bench@example.org",
                                max_requests=args.max_requests)

    async def run() -> tuple[list, dict[str, int]]:
        async with resolver_fetcher(settings) as fetcher:
            resolver = Resolver(fetcher, settings)
            works = await resolver.resolve([f"doi:{d}" for d in dois], {})
            return works, resolver.requests

    started = time.perf_counter()
    works, requests = asyncio.run(run())
    elapsed = time.perf_counter() - started
    to_child.put("stop")
    fake.hits = from_child.get(timeout=60)
    child.join(timeout=10)

    states: dict[str, int] = {}
    for work in works:
        states[work.state] = states.get(work.state, 0) + 1
    with_types = sum(1 for w in works if w.pub_types)
    crossref_rate, ncbi_rate = settings.rate("crossref"), settings.rate("pubmed")
    floor = max(fake.count("crossref") / (crossref_rate / settings.rate_margin),
                fake.count("pubmed") / (ncbi_rate / settings.rate_margin))
    print(f"DOIs: {args.dois}  settled: {len(works)}  states: {states}  with PubMed types: {with_types}")
    print(f"total time: {elapsed:.1f} s")
    for service in ("crossref", "pubmed", "clinicaltrials"):
        print(f"  {service:15s} requests: {fake.count(service):5d}  (resolver counted {requests[service]})"
              f"  max in any 1 s: {fake.max_in_window(service, 1.0)}")
    print(f"limits: Crossref {crossref_rate / settings.rate_margin:g}/s, NCBI {ncbi_rate / settings.rate_margin:g}/s; "
          f"we run at {settings.rate_margin:.0%} of them")
    print(f"the limits alone allow it in {math.ceil(floor)} s at best; "
          f"at our margin {max(fake.count('crossref') / crossref_rate, fake.count('pubmed') / ncbi_rate):.0f} s")


def _serve(fake: FakeServices, commands: Any, replies: Any) -> None:
    with fake:
        replies.put(fake.base)
        commands.get()
        replies.put(list(fake.hits))


if __name__ == "__main__":
    main()
