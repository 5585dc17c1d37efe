"""Robustness check: parse_feed over every file of a feed corpus; any exception but FeedParseError is a bug.

Usage: python bench/parse_corpus.py [DIR ...]   (default: ../shared/corpora/feedparser)
Exit status 1 when some file raised anything other than FeedParseError.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harvester.parse import FeedParseError, parse_feed  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "feedparser"
_HEADER_LINE = re.compile(rb"^\s*Header:\s*([A-Za-z-]+):\s*(.+?)\s*$", re.MULTILINE)


def declared_headers(path: Path, body: bytes) -> dict[str, str]:
    """feedparser's http* test files declare the response headers they are served with (text/xml by default)."""
    headers = {"content-type": "text/xml"} if "http" in path.name else {}
    for name, value in _HEADER_LINE.findall(body[:4096]):
        headers[name.decode("ascii").lower()] = value.decode("latin-1")
    return headers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument("--show", type=int, default=5, help="example messages to print per outcome")
    args = parser.parse_args()

    files = sorted(p for d in args.dirs if d.is_dir() for p in d.rglob("*") if p.is_file())
    files = [p for p in files if p.suffix.lower() not in {".md", ".py", ".txt"}]
    if not files:
        print(f"no corpus files under {', '.join(map(str, args.dirs))}; nothing to do")
        return 0
    outcome: Counter[str] = Counter()
    entries = 0
    examples: dict[str, list[str]] = {"error": [], "crash": [], "empty": []}
    started = time.perf_counter()
    for path in files:
        body = path.read_bytes()
        url = f"http://127.0.0.1:8097/{path.name}"
        try:
            feed = parse_feed(body, url=url, headers=declared_headers(path, body))
        except FeedParseError as exc:
            outcome["FeedParseError"] += 1
            if len(examples["error"]) < args.show:
                examples["error"].append(f"{path}: {exc}")
        except Exception:  # noqa: BLE001 -- counting these is the point of the script
            outcome["other exception"] += 1
            examples["crash"].append(f"{path}:\n{traceback.format_exc()}")
        else:
            outcome["ok"] += 1
            entries += len(feed.entries)
            if not feed.entries:
                outcome["ok, no entries"] += 1
                if len(examples["empty"]) < args.show:
                    examples["empty"].append(f"{path}: {feed.warning}")
    elapsed = time.perf_counter() - started
    print(f"files: {len(files)} in {elapsed:.2f}s ({len(files) / elapsed:.0f} files/s), entries: {entries}")
    for key in ("ok", "ok, no entries", "FeedParseError", "other exception"):
        print(f"  {key:16} {outcome[key]}")
    for kind, lines in examples.items():
        if lines:
            print(f"\nexamples ({kind}):")
            for line in lines:
                print("  " + line)
    return 1 if outcome["other exception"] else 0


if __name__ == "__main__":
    sys.exit(main())
