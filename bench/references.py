"""Throughput of harvester.references.find_references on 3-6 KB item texts (items a second), and its worst hostile input."""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harvester.references import find_references  # noqa: E402
from test_references import CLINIC_PAGE, EXOSOME_PAGE  # noqa: E402

PROSE = (
    "Hair loss affects many people and the research moves quickly. Clinics describe new options every month, "
    "and readers want to know which claims hold up. "
) * 8


def texts() -> list[str]:
    """Item texts of 3-6 KB: reference lists with DOIs, lists without, prose with mentions, prose with none."""
    return [
        CLINIC_PAGE * 3,
        EXOSOME_PAGE * 4,
        (CLINIC_PAGE + EXOSOME_PAGE) * 2,
        PROSE * 2 + "A 2019 study published in the Journal of Cosmetic Dermatology found it works. " + PROSE,
        PROSE * 3,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per repeat")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = texts()
    sizes = [len(t) for t in items]
    rates = []
    for _ in range(args.repeat):
        # CPU time of this process: a shared, loaded machine does not halve the figure.
        n, start = 0, time.process_time()
        while time.process_time() - start < args.seconds:
            for t in items:
                find_references("A title", t)
                n += 1
        rates.append(n / (time.process_time() - start))
    print(f"texts: {len(items)}, {min(sizes)}-{max(sizes)} chars; references each: "
          f"{[len(find_references('A title', t)) for t in items]}")
    print(f"find_references: median {statistics.median(rates):,.0f} items/s (CPU time) over {args.repeat} x {args.seconds:g} s "
          f"({1000 / statistics.median(rates):.2f} ms an item)")
    worst = 0.0
    for unit in (".", "!", "A. ", "Aa et al. ", "Smith J, ", "\n1. A", "published in Journal of ", "10.1234/a"):
        text = unit * (200_000 // len(unit))
        start = time.perf_counter()
        find_references(text, text, text)
        worst = max(worst, time.perf_counter() - start)
    print(f"worst hostile input (3 x 200 KB fields): {worst:.2f} s")


if __name__ == "__main__":
    main()
