"""Benchmark scoring.score_item on realistic 3-6 KB articles (composed from sentences written here).

Prints items/s for a single process, the median of several runs; then the whole
`hypewatch score-jsonl` command on 3,000 such articles, start-up included, in a new process
(with the compiled-regex cache warm, as after the first run, and cold). Usage:
    python bench/score.py [--items 500] [--runs 5] [--seed 1] [--jsonl-items 3000]
"""

from __future__ import annotations

import argparse
import random
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import SCORING_VERSION, score_item  # noqa: E402

TITLES = [
    "Topical gel regrows hair in bald mice, study finds",
    "Phase 2 results for a new androgen receptor blocker in male pattern hair loss",
    "Is PRP worth it? What the evidence says about platelet-rich plasma for thinning hair",
    "A cure for baldness? Scientists grow hair follicles in the lab",
    "Our clinic now offers exosome therapy for hair restoration",
    "JAK inhibitors for alopecia areata: a systematic review and meta-analysis",
    "Low-dose oral minoxidil in women: a retrospective study of 200 patients",
    "Company announces first patients dosed in hair loss trial",
]

SENTENCES = [
    "Researchers at a university medical school applied the compound to the shaved backs of mice for three weeks.",
    "The treated mice grew visibly more hair than untreated controls, according to the paper published this week.",
    "In cultured human dermal papilla cells, the molecule increased proliferation and the expression of growth factors.",
    "The authors cautioned that the work has not yet been tested in humans and that more research is needed.",
    "In a randomized, double-blind, placebo-controlled trial of 240 men, hair counts rose compared with placebo at week 24.",
    "Adverse events were mild, and the most common was scalp irritation at the application site.",
    "The company will begin a phase 3 trial next year and plans to enrol about 600 participants across Europe and the US.",
    "This breakthrough could soon make baldness a thing of the past, one investor said.",
    "Dermatologists not involved in the study said the results were promising but modest.",
    "Low-dose oral minoxidil has become a popular off-label option, although it can cause unwanted facial hair.",
    "Finasteride and dutasteride block the conversion of testosterone to DHT, the hormone that shrinks follicles.",
    "Platelet-rich plasma injections are offered by many clinics, but protocols vary and the evidence is mixed.",
    "Book a free consultation with our hair restoration specialists today and ask about our payment plans.",
    "Treatment packages start at $1,299 for three sessions, and results may vary.",
    "This press release contains forward-looking statements that involve risks and uncertainties.",
    "Shares of the biotech rose 12% on the NASDAQ after the topline data were released.",
    "A 35-year-old woman with alopecia areata regrew most of her scalp hair after eight months of treatment.",
    "I started using the laser cap last spring and my hair is noticeably thicker, it really worked for me.",
    "The systematic review pooled eleven randomized trials, but most were small and at high risk of bias.",
    "Hair follicle organoids grown from stem cells in a petri dish sprouted hair after transplantation into mice.",
    "Scientists hope the approach will eventually lead to a treatment for people with pattern hair loss.",
    "Many people lose hair with age, and the condition affects self-esteem and quality of life.",
    "The study was funded by the national research council and the authors declared no conflicts of interest.",
    "Microneedling combined with topical minoxidil improved hair density in a small open-label pilot study.",
    "The approval was based on two pivotal studies in adults with severe alopecia areata.",
    "Experts warn that miracle cures sold online are rarely backed by evidence and can be a waste of money.",
    "Stem cells derived from fat tissue were injected into the scalp in an uncontrolled case series of ten patients.",
    "Low-level laser therapy devices such as laser combs and helmets are cleared for home use.",
    "The researchers now plan to test whether the same pathway can be targeted safely in people.",
    "Ketoconazole shampoo and spironolactone are sometimes added to a regimen by dermatologists.",
]


# Connective prose that carries few or no cues, as real articles do between their claims.
NEUTRAL = [
    "The findings were described in a paper that appeared online on Tuesday.",
    "She has worked on the biology of skin for more than fifteen years and leads a team of eleven.",
    "The team spent two years refining the method before the experiments described here began.",
    "Funding came from several public agencies and a private foundation.",
    "The paper runs to twelve pages and includes a supplementary appendix with the raw measurements.",
    "He said that the work started almost by accident, when a colleague noticed an unexpected pattern in old data.",
    "Questions remain about how long any effect would last and what it would cost.",
    "The authors thanked the technicians who maintained the equipment over the course of the project.",
    "Several groups around the world are working on related questions, using different approaches.",
    "A spokesperson for the journal said the paper had gone through the usual peer review.",
    "The lab is located on the third floor of a new building on the north side of the campus.",
    "Readers can find the full text of the paper on the publisher's website.",
    "The next steps will depend on funding and on the results of ongoing work in other groups.",
    "In an interview, the lead author described the moment the first results came in.",
    "The condition is common, and surveys suggest that many people feel self-conscious about it.",
    "For now, the recommendations of professional societies remain unchanged.",
]


def make_article(rng: random.Random, lo: int = 3000, hi: int = 6000) -> dict:
    target = rng.randint(lo, hi)
    parts: list[str] = []
    size = 0
    while size < target:
        paragraph = " ".join(
            rng.choice(SENTENCES) if rng.random() < 0.55 else rng.choice(NEUTRAL) for _ in range(rng.randint(2, 5))
        )
        parts.append(paragraph)
        size += len(paragraph) + 2
    return {"title": rng.choice(TITLES), "text": "\n\n".join(parts)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jsonl-items", type=int, default=3000)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    items = [make_article(rng) for _ in range(args.items)]
    sizes = sorted(len(i["title"]) + len(i["text"]) for i in items)
    for item in items[:20]:  # warm up
        score_item(item)
    rates = []
    cpu_rates = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for item in items:
            score_item(item)
        cpu_rates.append(len(items) / max(time.process_time() - c0, 1e-9))
        rates.append(len(items) / (time.perf_counter() - t0))
    t0 = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    reference = time.perf_counter() - t0
    print(f"scoring_version {SCORING_VERSION}")
    print(f"machine reference: a 10M-iteration Python loop takes {reference:.2f} s here (about 0.3-0.5 s on an idle modern core)")
    print(f"items {len(items)}  size median {statistics.median(sizes) / 1024:.1f} KB (min {sizes[0] / 1024:.1f}, max {sizes[-1] / 1024:.1f})")
    print(f"runs {args.runs}  items/s median {statistics.median(rates):,.0f}  (min {min(rates):,.0f}, max {max(rates):,.0f})")
    print(f"items per CPU-second median {statistics.median(cpu_rates):,.0f}  (wall-clock figures drop when other processes share the cores)")
    print(f"per item {1000 / statistics.median(rates):.2f} ms  target >= 1,000 items/s: {'ok' if statistics.median(rates) >= 1000 else 'BELOW TARGET'}")
    if args.jsonl_items:
        jsonl_figures(args, rng)
    return 0


def jsonl_figures(args, rng: random.Random) -> None:
    """The score-jsonl command end to end, start-up included, as a user runs it."""
    exe = Path(sys.executable).with_name("hypewatch")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.jsonl"
        with path.open("w") as fh:
            for n in range(args.jsonl_items):
                fh.write(json.dumps({"id": n, **make_article(rng)}) + "\n")
        for label, env in (("warm regex cache", {}), ("cold regex cache", {"HYPEWATCH_CACHE_DIR": str(Path(tmp) / "cold")})):
            times = []
            for run in range(args.runs if label.startswith("warm") else 1):
                if label.startswith("cold"):
                    (Path(tmp) / "cold").mkdir(exist_ok=True)
                with path.open("rb") as src:
                    t0 = time.perf_counter()
                    subprocess.run([str(exe), "score-jsonl"], stdin=src, stdout=subprocess.DEVNULL, check=True,
                                   env={**os.environ, **env})
                    times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            rate = args.jsonl_items / t
            print(f"score-jsonl {args.jsonl_items} items, start-up included ({label}): {t:.2f} s = {rate:,.0f} items/s"
                  f"  target >= 1,000 items/s: {'ok' if rate >= 1000 else 'BELOW TARGET'}")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import scoring"], check=True)
    print(f"python -c 'import scoring': {time.perf_counter() - t0:.2f} s (interpreter start included)")


if __name__ == "__main__":
    raise SystemExit(main())
