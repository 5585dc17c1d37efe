"""The published data's state: a token that changes when a harvest commits, and when that was (for caches and ETags)."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from hypewatch.site import DATABASE, site_config

__all__ = ["State", "bump_generation", "data_state", "REFRESH_S"]

#: Default for the plugin setting data_refresh_s: how often the site looks at the file for a new state.
REFRESH_S = 2.0


@dataclass(frozen=True)
class State:
    """The data's state: ``file`` from the database's and WAL's sizes and mtimes, ``token`` that and the
    generation of derived data (bumped when a summary computed in the background is ready), and the
    newest mtime (UTC seconds)."""

    token: str
    modified: float
    file: str = ""


def _read(path: str | None) -> State:
    parts, newest = [], 0.0
    for name in (path, f"{path}-wal") if path else ():
        try:
            st = os.stat(name)
        except OSError:
            parts.append("-")
            continue
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        newest = max(newest, st.st_mtime)
    token = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
    return State(token, newest or time.time(), token)


def data_state(datasette) -> State:
    """The current state, looked up at most every data_refresh_s seconds (a stat of two files)."""
    memo = datasette.__dict__.setdefault("_hypewatch_state", {})
    now = time.monotonic()
    every = _refresh_s(datasette)
    if memo and now - memo["at"] < every:
        return _with_generation(datasette, memo["state"])
    try:
        path = datasette.get_database(DATABASE).path
    except KeyError:
        path = None
    memo.update(at=now, state=_read(path))
    return _with_generation(datasette, memo["state"])


def _refresh_s(datasette) -> float:
    try:
        return max(0.0, float(site_config(datasette).get("data_refresh_s", REFRESH_S)))
    except (TypeError, ValueError):
        return REFRESH_S


def _with_generation(datasette, state: State) -> State:
    generation = datasette.__dict__.get("_hypewatch_generation", 0)
    return State(f"{state.file}.{generation}", state.modified, state.file) if generation else state


def bump_generation(datasette) -> None:
    """Derived data changed without the file changing (a summary refreshed): cached answers are outdated."""
    datasette.__dict__["_hypewatch_generation"] = datasette.__dict__.get("_hypewatch_generation", 0) + 1
