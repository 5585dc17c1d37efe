"""`hypewatch run`: the scheduled jobs (harvest ticks, digests, maintenance) with APScheduler 3, and the service.

All scheduling state (when each source is next due, its backoff) lives in the
database, so the jobs need no persistent job store: a restarted service asks
the database what is due and carries on where it stopped.

The service runs the scheduler in this process and the site as a supervised
child. Two processes rather than threads: Datasette (uvicorn) owns its event
loop and signal handling, the scheduler owns the writes; a crash of one is
visible to the other and the site keeps serving the last committed data while
a harvest runs. SIGTERM/SIGINT stop the scheduler first (sources in flight are
cancelled at a network wait, never inside a transaction), then the site.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from collections.abc import Callable
from typing import Any, TypeVar

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from db import store
from db.maintenance import checkpoint_wal, prune_fetches
from harvester.citing import CitingSettings, check_citations, settings_from
from harvester.pipeline import HarvestSettings, harvest, rescore, storage_message
from harvester.polling import parse_interval
from harvester.sources import Source

from .lock import HarvestLock

__all__ = ["Jobs", "ServiceConfig", "build_scheduler", "run_service", "site_command"]

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    citing: CitingSettings = field(default_factory=CitingSettings)
    citations_every: int = 900

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
                   fetch_log_days=values["fetch_log_days"], citing=settings_from(values),
                   citations_every=parse_interval(values["citations_every"]))


# -- the jobs ----------------------------------------------------------------------------------


class Jobs:
    """The four jobs. Each opens its own connection: APScheduler runs jobs in worker threads."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.stopping = threading.Event()
        db = store.open_db(config.db_path)
        store.sync_sources(db, [s.as_row() for s in config.sources])
        db.close()

    def _with_db(self, job: str, work: Callable[[Any], T], nothing: T) -> T:
        """Run ``work`` on a connection of its own; a database that refuses costs one log line, and
        the job's next run tries again."""
        try:
            db = store.open_db(self.config.db_path)
        except store.DatabaseError as exc:
            log.error("%s skipped: %s", job, exc)
            return nothing
        try:
            return work(db)
        except sqlite3.Error as exc:  # the database refused a read or write
            log.error("%s stopped: %s", job, storage_message(exc))
            return nothing
        finally:
            db.close()

    def harvest_tick(self) -> int:
        """Harvest whatever the database says is due; returns the number of sources tried."""
        if self.stopping.is_set():
            return 0
        outcomes = self._with_db("harvest tick", lambda db: harvest(
            db, settings=self.config.harvest, should_stop=self.stopping.is_set), [])
        for o in outcomes:
            log.info("harvested source=%r status=%s new=%d updated=%d%s", o.source, o.status, o.new, o.updated,
                     f" error={o.error!r}" if o.error else "")
        return len(outcomes)

    def digest(self) -> list[str]:
        """Build the digests of finished periods (nothing, with one log line, if the database refuses)."""
        from .digest import build_digests

        built = self._with_db("digest job", lambda db: build_digests(db, period=self.config.digest_period), None)
        if built is None:
            return []
        log.info("digests built=%s", built)
        return built

    def citations(self) -> int:
        """Check the citations of new items and group studies; returns the number of items checked."""
        if self.stopping.is_set() or not self.config.citing.enabled:
            return 0
        # Passes are minutes apart: each starts its services' rate limits afresh.
        return self._with_db("citations job", lambda db: check_citations(db, self.config.citing).items, 0)

    def maintenance(self) -> dict[str, int]:
        """Keep the database tidy: scores follow the scorer, the WAL stays small, the fetch log bounded."""
        done = self._with_db("maintenance", self._maintenance, None)
        if done is None:
            return {"rescored": 0, "pruned": 0}
        log.info("maintenance rescored=%d pruned_fetches=%d", done["rescored"], done["pruned"])
        return done

    def _maintenance(self, db: Any) -> dict[str, int]:
        rescored = rescore(db)
        pruned = prune_fetches(db, store.iso(store.utcnow() - timedelta(days=self.config.fetch_log_days)))
        if rescored:
            # Digests show labels: after a rescore, rebuild them so they agree with the items.
            from .digest import build_digests

            build_digests(db, period=self.config.digest_period, rebuild=True)
        checkpoint_wal(db)
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
    if config.citing.enabled:
        scheduler.add_job(jobs.citations, IntervalTrigger(seconds=config.citations_every), id="citations",
                          name="check citations, group studies", **common)
    scheduler.add_job(jobs.maintenance, IntervalTrigger(seconds=config.maintenance_every), id="maintenance",
                      name="rescore, checkpoint, prune", next_run_time=_now(), **common)
    return scheduler


def _now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


# -- the service -------------------------------------------------------------------------------


#: Set by `run` for its site process: the site then dies with it.
DIE_WITH_PARENT = "HYPEWATCH_DIE_WITH_PARENT"


def site_command(db_path: str, host: str, port: int) -> list[str]:
    return [sys.executable, "-m", "hypewatch", "serve", "--db", db_path, "--host", host, "--port", str(port)]


def run_service(config: ServiceConfig, *, serve: bool = True, host: str = "127.0.0.1", port: int = 8001,
                echo: Any = print) -> int:
    """Run until SIGTERM/SIGINT; returns the exit status."""
    lock = HarvestLock(config.db_path)
    lock.acquire()  # raises AlreadyRunning with a message that says what to do
    child: subprocess.Popen | None = None
    try:
        jobs = Jobs(config)
        scheduler = build_scheduler(jobs)
        stop_once = threading.Event()

        def stop(signum: int, _frame: Any) -> None:
            if stop_once.is_set():
                return
            stop_once.set()
            log.info("received %s: stopping (sources in flight are cancelled, nothing is half-written)",
                     signal.Signals(signum).name)
            jobs.stopping.set()
            scheduler.shutdown(wait=False)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if serve:
            # The site dies with this process however it dies (an OOM kill runs no cleanup).
            child = subprocess.Popen(site_command(config.db_path, host, port),
                                     env={**os.environ, DIE_WITH_PARENT: "1"})
            echo(f"Site: http://{host}:{port}/  (Datasette, pid {child.pid})")
        echo(f"Harvesting {len(config.sources)} sources into {config.db_path}: a tick every {config.tick}s, "
             f"digests at '{config.digest_cron}' UTC. Ctrl-C or SIGTERM stops.")
        scheduler.start()  # blocks until stop() shuts it down
        # The executor's worker threads are joined at exit: an in-flight tick
        # finishes its current writes (or was cancelled before them).
        return 0
    finally:
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        lock.release()
