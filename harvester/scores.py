"""Scores as stored on item rows: the scorer's input from a row, the label columns it gives, and rescoring.

``scoring`` is pure (item in, Score out); this module turns its answers into the columns of
``items`` and keeps stored scores current with the scorer's version.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable
from typing import Any

from db import store
from scoring import SCORING_VERSION, score_item

from .workers import process_pool

__all__ = [
    "REASONS_KEPT",
    "RESCORE_POOL_MIN",
    "RESCORE_WORKERS",
    "encoded_labels",
    "rescore",
    "score_input",
    "score_rows",
    "strongest_reasons",
]

# Rescoring uses worker processes from this many items on (starting them costs about a second).
RESCORE_POOL_MIN = 5000
RESCORE_WORKERS = 2
REASONS_KEPT = 5  # per dimension: the strongest cues, which are the ones that decided the label


def score_input(row: dict[str, Any]) -> dict[str, Any]:
    """What the scorer reads of an item row: title, text, url, publisher and API metadata."""
    meta = row.get("meta")
    if isinstance(meta, str):
        meta = json.loads(meta or "{}")
    return {"title": row.get("title") or "", "text": row.get("text") or row.get("summary") or "",
            "url": row.get("url"), "publisher": row.get("publisher"), "meta": meta or {}}


def score_rows(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label columns for each item (module level so worker processes can run it).

    Only the strongest reasons of each dimension are stored: they are what a
    reader needs to see why, and the full list was most of an item's bytes.
    """
    scored_at = store.iso(store.utcnow())
    out = []
    for item in inputs:
        labels = score_item(item).to_dict()
        labels["reasons"] = strongest_reasons(labels["reasons"])
        labels["scored_at"] = scored_at
        out.append(labels)
    return out


def encoded_labels(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``score_rows`` with the JSON columns encoded, for the pipeline's worker processes.

    A JSON string crosses the process boundary faster than nested lists and dicts,
    and the main process, which does the writes, no longer encodes them
    (``store.encode_item``, which it uses, keeps strings as they are).
    """
    return [store.encode_item(labels) for labels in score_rows(inputs)]


def strongest_reasons(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The REASONS_KEPT reasons of each dimension with the largest weights, strongest first."""
    kept: dict[str, int] = {}
    out = []
    for reason in sorted(reasons, key=lambda r: -abs(r.get("weight") or 0)):
        dimension = reason.get("dimension", "")
        if kept.get(dimension, 0) < REASONS_KEPT:
            kept[dimension] = kept.get(dimension, 0) + 1
            out.append(reason)
    return out


def rescore(db: Any, *, rescore_all: bool = False, batch: int = 500,
            on_batch: Callable[[int], None] | None = None, workers: int | None = None) -> int:
    """Score items that have no score or a score from another scorer version.

    Scoring is pure Python, one core per process: with many items to score (a new scorer
    version over a large database) batches are scored by `workers` processes (default: one
    per core, at most RESCORE_WORKERS, from RESCORE_POOL_MIN items) while this process reads
    the next batches and writes the finished ones, each in its own transaction, in order.
    """
    if workers is None:
        todo = store.count_items(db) if rescore_all else store.count_outdated_scores(db, SCORING_VERSION)
        workers = min(RESCORE_WORKERS, os.cpu_count() or 1) if todo >= RESCORE_POOL_MIN else 0
    if workers < 2:
        return _rescore_here(db, rescore_all=rescore_all, batch=batch, on_batch=on_batch)
    done = 0
    after = ""
    pending: collections.deque = collections.deque()
    with process_pool(workers) as pool:
        while True:
            while len(pending) < workers + 1 and after is not None:
                rows = store.items_to_score(db, SCORING_VERSION, rescore=rescore_all, limit=batch, after_id=after)
                if not rows:
                    after = None
                    break
                after = rows[-1]["id"]
                ids = [r["id"] for r in rows]
                pending.append((ids, pool.submit(encoded_labels, [score_input(r) for r in rows])))
            if not pending:
                return done
            ids, future = pending.popleft()
            scored = [{"id": i, **labels} for i, labels in zip(ids, future.result())]
            done += store.save_scores(db, scored)
            if on_batch:
                on_batch(len(scored))


def _rescore_here(db: Any, *, rescore_all: bool, batch: int, on_batch: Callable[[int], None] | None) -> int:
    """rescore in this process, batch after batch."""
    done = 0
    after = ""
    while True:
        rows = store.items_to_score(db, SCORING_VERSION, rescore=rescore_all, limit=batch, after_id=after)
        if not rows:
            return done
        after = rows[-1]["id"]
        scored = [{"id": r["id"], **labels} for r, labels in zip(rows, score_rows([score_input(r) for r in rows]))]
        done += store.save_scores(db, scored)
        if on_batch:
            on_batch(len(scored))
