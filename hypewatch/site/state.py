"""The published data's state: a token that changes when a harvest commits, and when that was (for caches and ETags)."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from hypewatch.site import DATABASE, site_config

__all__ = ["State", "data_state", "REFRESH_S"]

#: Default for the plugin setting data_refresh_s: how often the site looks at the file for a new state.
REFRESH_S = 2.0


@dataclass(frozen=True)
class State:
    """The database file's and its WAL's sizes and mtimes, as a short token, and the newest mtime (UTC seconds)."""

    token: str
    modified: float


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
    return State(hashlib.sha1("|".join(parts).encode()).hexdigest()[:16], newest or time.time())


def data_state(datasette) -> State:
    """The current state, looked up at most every data_refresh_s seconds (a stat of two files)."""
    memo = datasette.__dict__.setdefault("_hypewatch_state", {})
    now = time.monotonic()
    if memo and now - memo["at"] < memo["every"]:
        return memo["state"]
    try:
        path = datasette.get_database(DATABASE).path
    except KeyError:
        path = None
    try:
        every = float(site_config(datasette).get("data_refresh_s", REFRESH_S))
    except (TypeError, ValueError):
        every = REFRESH_S
    memo.update(at=now, every=max(0.0, every), state=_read(path))
    return memo["state"]
