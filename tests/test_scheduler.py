"""The service's jobs and schedule against a local server: ticks, conditional requests, backoff, lock."""

from __future__ import annotations

import time

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from werkzeug import Response

from db import list_sources, open_db
from harvester.sources import Source
from hypewatch.lock import AlreadyRunning, HarvestLock
from hypewatch.service import Jobs, ServiceConfig, build_scheduler
from hypewatch.settings import resolve
from tests.feeds import hair_items, rss


def config(tmp_path, sources, **overrides):
    values = resolve({"fulltext": False, **overrides}, {})
    return ServiceConfig.from_settings(str(tmp_path / "svc.db"), sources, values)


def etag_handler(seen, body):
    def handler(request):
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"e1"':
            return Response(status=304)
        return Response(body, content_type="application/rss+xml", headers={"ETag": '"e1"'})
    return handler


def test_two_ticks_second_is_conditional_and_backoff_is_respected(httpserver, tmp_path):
    seen = []
    httpserver.expect_request("/feed").respond_with_handler(etag_handler(seen, rss(hair_items(2))))
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    jobs = Jobs(config(tmp_path, [Source("feed", httpserver.url_for("/feed"), local=True, every=1),
                                  Source("down", httpserver.url_for("/down"), local=True, every=5)]))
    assert jobs.harvest_tick() == 2
    time.sleep(1.1)                       # feed is due again (every = 1 s); down is backing off (10 s)
    assert jobs.harvest_tick() == 1
    assert len(seen) == 2 and seen[1]["If-None-Match"] == '"e1"'
    down_requests = [r for r, _ in httpserver.log if r.path == "/down"]
    assert len(down_requests) == 1       # not fetched early while in backoff
    rows = {r["name"]: r for r in list_sources(open_db(tmp_path / "svc.db"))}
    assert rows["feed"]["last_status"] == "not_modified" and rows["down"]["error_count"] == 1


def test_maintenance_rescores_prunes_and_checkpoints(httpserver, tmp_path):
    httpserver.expect_request("/feed").respond_with_data(rss(hair_items(3)), content_type="application/rss+xml")
    jobs = Jobs(config(tmp_path, [Source("feed", httpserver.url_for("/feed"), local=True)], fetch_log_days=1))
    jobs.harvest_tick()
    db = open_db(tmp_path / "svc.db")
    with db.atomic():
        db.execute("update items set scoring_version = 'old'")
        db.execute("insert into fetches (source, started_at, status) values ('feed', '2001-01-01T00:00:00Z', 'ok')")
    assert jobs.maintenance() == {"rescored": 3, "pruned": 1}
    assert db.execute("select count(*) from items where scoring_version = 'old'").fetchone()[0] == 0


def test_real_scheduler_ticks(httpserver, tmp_path):
    seen = []
    httpserver.expect_request("/feed").respond_with_handler(etag_handler(seen, rss(hair_items(1))))
    jobs = Jobs(config(tmp_path, [Source("feed", httpserver.url_for("/feed"), local=True, every=1)], tick="1s"))
    scheduler = build_scheduler(jobs, BackgroundScheduler(timezone="UTC"))
    assert {j.id for j in scheduler.get_jobs()} == {"harvest", "digest", "citations", "maintenance"}
    assert all(j.max_instances == 1 and j.coalesce for j in scheduler.get_jobs())
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        jobs.stopping.set()
        scheduler.shutdown(wait=True)
    assert len(seen) >= 2 and seen[1].get("If-None-Match") == '"e1"'


def test_lock_refuses_a_second_harvester(tmp_path):
    db = tmp_path / "x.db"
    with HarvestLock(db):
        with pytest.raises(AlreadyRunning, match="already running on this database"):
            HarvestLock(db).acquire()
    with HarvestLock(db):  # released: can be taken again
        pass


def test_bad_schedule_settings_are_explained(tmp_path):
    with pytest.raises(ValueError, match="digest_cron"):
        config(tmp_path, [], digest_cron="every tuesday")
    with pytest.raises(ValueError, match="digest_period"):
        config(tmp_path, [], digest_period="monthly")


def test_jobs_on_a_database_that_refuses_writes_log_one_line(tmp_path, monkeypatch, caplog):
    import logging
    import sqlite3

    from hypewatch import service

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    jobs = Jobs(config(tmp_path, [Source("feed", "https://example.org/feed")]))
    monkeypatch.setattr(service, "rescore", full)
    monkeypatch.setattr("hypewatch.digest.build_digests", full)
    monkeypatch.setattr(service, "harvest", full)
    with caplog.at_level(logging.ERROR):
        assert jobs.maintenance() == {"rescored": 0, "pruned": 0}
        assert jobs.digest() == []
        assert jobs.harvest_tick() == 0
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 3 and not any(r.exc_info for r in errors)
    assert all("free disk space" in r.getMessage() for r in errors)


def test_the_citations_job_checks_new_items_through_the_configured_services(httpserver, tmp_path):
    from tests.works_server import FakeServices, crossref_work

    doi = "10.5555/svc.2026.0001"
    items = hair_items(1)
    items[0]["summary"] = f"Minoxidil regrew hair in a trial (doi: {doi})."
    httpserver.expect_request("/feed").respond_with_data(rss(items), content_type="application/rss+xml")
    with FakeServices() as fake:
        fake.crossref_works[doi] = crossref_work(doi, "Minoxidil and hair regrowth", ["Okafor"], "J Hair Res", 2026)
        jobs = Jobs(config(tmp_path, [Source("feed", httpserver.url_for("/feed"), local=True)],
                           crossref_url=fake.crossref, eutils_url=fake.eutils, clinicaltrials_url=fake.clinicaltrials))
        jobs.harvest_tick()
        assert jobs.citations() == 1
        assert fake.count("crossref") >= 1
    db = open_db(str(tmp_path / "svc.db"))
    assert [r["verdict"] for r in db.query("select verdict from citations")] == ["ok"]
    off = Jobs(config(tmp_path, [], citations=False))
    assert off.citations() == 0 and "citations" not in {j.id for j in build_scheduler(
        off, BackgroundScheduler(timezone="UTC")).get_jobs()}
