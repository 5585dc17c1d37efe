"""The harvest lock: one harvester per database, for `hypewatch harvest` and `hypewatch run` alike."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

__all__ = ["AlreadyRunning", "HarvestLock", "LockUnavailable"]


class AlreadyRunning(Exception):
    """Another harvester holds the database's lock."""


class LockUnavailable(Exception):
    """The lock file cannot be created: the database's directory is missing or not writable."""


class HarvestLock:
    """An exclusive lock file beside the database: one harvester per database.

    flock is released by the kernel when the process dies, so a crash never
    leaves a stale lock behind.
    """

    def __init__(self, db_path: str | Path):
        self.path = Path(f"{db_path}.harvest.lock")
        self._fh = None

    def acquire(self) -> None:
        try:
            fh = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise LockUnavailable(f"{self.path}: cannot create the harvest lock ({exc.strerror or exc}); "
                                  f"make the database's directory writable, or pass --db with a writable path") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise AlreadyRunning(f"another hypewatch harvester (pid {holder}) is already running on this database; "
                                 f"stop it first, or use another --db") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "HarvestLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
