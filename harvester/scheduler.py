"""The service's schedule: harvest ticks, digests and maintenance, with APScheduler 3.

All scheduling state (when each source is next due, its backoff) lives in the
database, so the jobs need no persistent job store: a restarted service asks
the database what is due and carries on where it stopped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from db import store

from .pipeline import HarvestSettings, harvest, rescore
from .polling import parse_interval
from .sources import Source

log = logging.getLogger(__name__)


class AlreadyRunning(Exception):
    """Another harvester holds the database's lock."""


class HarvestLock:
    """An exclusive lock file beside the database: one harvester per database.

    flock is released by the kernel when the process dies, so a crash never
    leaves a stale lock behind.
    """

    def __init__(self, db_path: str | Path):
        self.path = Path(f"{db_path}.harvest.lock")
        self._fh = None

    def acquire(self) -> None:
        fh = open(self.path, "a+", encoding="utf-8")
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


@dataclass
class ServiceConfig:
    db_path: str
    sources: list[Source]
    harvest: HarvestSettings
    tick: int = 60
    digest_period: str = "weekly"
    digest_cron: str = "15 6 * * mon"
    maintenance_every: int = 3600
    fetch_log_days: int = 90

    @classmethod
    def from_settings(cls, db_path: str, sources: list[Source], values: dict[str, Any]) -> "ServiceConfig":
        if values["digest_period"] not in ("weekly", "daily"):
            raise ValueError(f"digest_period {values['digest_period']!r}: use weekly or daily")
        try:
            CronTrigger.from_crontab(values["digest_cron"], timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"digest_cron {values['digest_cron']!r}: {exc}") from None
        return cls(db_path=db_path, sources=sources, harvest=HarvestSettings.from_settings(values),
                   tick=parse_interval(values["tick"]), digest_period=values["digest_period"],
                   digest_cron=values["digest_cron"], maintenance_every=parse_interval(values["maintenance_every"]),
                   fetch_log_days=values["fetch_log_days"])


class Jobs:
    """The three jobs. Each opens its own connection: APScheduler runs jobs in worker threads."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.stopping = threading.Event()
        db = store.open_db(config.db_path)
        store.sync_sources(db, [s.as_row() for s in config.sources])
        db.close()

    def harvest_tick(self) -> int:
        """Harvest whatever the database says is due; returns the number of sources tried."""
        if self.stopping.is_set():
            return 0
        db = store.open_db(self.config.db_path)
        try:
            outcomes = harvest(db, settings=self.config.harvest, should_stop=self.stopping.is_set)
        finally:
            db.close()
        for o in outcomes:
            log.info("harvested source=%r status=%s new=%d updated=%d%s", o.source, o.status, o.new, o.updated,
                     f" error={o.error!r}" if o.error else "")
        return len(outcomes)

    def digest(self) -> list[str]:
        from .digest import build_digests

        db = store.open_db(self.config.db_path)
        try:
            built = build_digests(db, period=self.config.digest_period)
        finally:
            db.close()
        log.info("digests built=%s", built)
        return built

    def maintenance(self) -> dict[str, int]:
        """Keep the database tidy: scores follow the scorer, the WAL stays small, the fetch log bounded."""
        db = store.open_db(self.config.db_path)
        try:
            rescored = rescore(db)
            cutoff = store.iso(store.utcnow() - timedelta(days=self.config.fetch_log_days))
            with db.atomic():
                pruned = db.execute("DELETE FROM fetches WHERE started_at < ?", [cutoff]).rowcount
            if rescored:
                # Digests show labels: after a rescore, rebuild them so they agree with the items.
                from .digest import build_digests

                build_digests(db, period=self.config.digest_period, rebuild=True)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        log.info("maintenance rescored=%d pruned_fetches=%d", rescored, pruned)
        return {"rescored": rescored, "pruned": pruned}


def build_scheduler(jobs: Jobs, scheduler: Any = None) -> Any:
    """Register the jobs on a scheduler (BlockingScheduler unless one is given, e.g. for tests)."""
    config = jobs.config
    scheduler = scheduler or BlockingScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(jobs.harvest_tick, IntervalTrigger(seconds=config.tick), id="harvest",
                      name="harvest due sources", next_run_time=_now(), **common)
    scheduler.add_job(jobs.digest, CronTrigger.from_crontab(config.digest_cron, timezone="UTC"), id="digest",
                      name="build digests", **common)
    scheduler.add_job(jobs.maintenance, IntervalTrigger(seconds=config.maintenance_every), id="maintenance",
                      name="rescore, checkpoint, prune", next_run_time=_now(), **common)
    return scheduler


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
