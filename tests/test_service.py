"""`hypewatch run` as a real process: SIGTERM mid-harvest leaves the database consistent; one harvester per db."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from werkzeug import Response

from tests.feeds import hair_items, rss

ROOT = Path(__file__).parent.parent


def start_run(db, sources, *extra):
    env = {**os.environ, "HYPEWATCH_FULLTEXT": "false"}
    return subprocess.Popen([sys.executable, "-m", "hypewatch", "-v", "run", "--no-serve", "--db", str(db),
                             "--sources", str(sources), "--tick", "1s", *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sigterm_mid_harvest_then_next_run_completes(httpserver, tmp_path):
    slow_started = []

    def slow(request):
        slow_started.append(request.path)
        time.sleep(4)
        return Response(rss(hair_items(3, prefix=f"https://e.org{request.path}/")), content_type="application/rss+xml")

    for i in range(4):
        httpserver.expect_request(f"/slow{i}").respond_with_handler(slow)
    httpserver.expect_request("/fast").respond_with_data(rss(hair_items(2)), content_type="application/rss+xml")
    sources = tmp_path / "sources.toml"
    sources.write_text("".join(f'[[source]]\nname = "{p}"\nurl = "{httpserver.url_for("/" + p)}"\nevery = "1h"\nlocal = true\n\n'
                               for p in ("fast", "slow0", "slow1", "slow2", "slow3")), encoding="utf-8")
    db = tmp_path / "svc.db"
    proc = start_run(db, sources)
    try:
        assert wait_for(lambda: len(slow_started) >= 2), "the harvest never reached the slow feeds"
        second = start_run(db, sources)
        out, err = second.communicate(timeout=30)
        assert second.returncode == 1 and "already running on this database" in err

        def fast_committed() -> bool:
            try:
                with sqlite3.connect(db, timeout=1) as check:
                    return check.execute("select count(*) from items where source = 'fast'").fetchone()[0] == 2
            except sqlite3.Error:
                return False

        # On a loaded machine the fast source's commit can trail the slow fetches: wait for it
        # (the slow ones sleep 4 s each, so they are still in flight).
        assert wait_for(fast_committed, timeout=3), "the fast source was not committed while the slow ones ran"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    conn = sqlite3.connect(db)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    per_source = dict(conn.execute("select source, count(*) from items group by source").fetchall())
    assert per_source.get("fast") == 2
    assert all(n == 3 for n in per_source.values() if n != 2)  # a source is all or nothing
    unfinished = [r[0] for r in conn.execute("select name from sources where last_status is null")]
    conn.close()
    assert unfinished, "SIGTERM came after every slow source finished: the test proved nothing"
    # the next run picks up the sources that were cancelled
    proc = start_run(db, sources)
    try:
        assert wait_for(lambda: sqlite3.connect(db).execute(
            "select count(*) from sources where last_status = 'ok'").fetchone()[0] == 5, timeout=40)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    conn = sqlite3.connect(db)
    assert conn.execute("select count(*) from items").fetchone()[0] == 2 + 4 * 3
