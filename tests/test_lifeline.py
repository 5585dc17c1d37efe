"""A harvest killed with SIGKILL (as the OOM killer does) leaves no forkserver, resource tracker or worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from db import open_db, sync_sources
    from harvester.pipeline import HarvestSettings, harvest
    from tests.feeds import hair_items, rss

    class Feeds(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/slow":
                time.sleep(60)  # keeps the pass, and its workers, alive until the kill
            body = rss(hair_items(3, prefix=f"https://e.org{self.path}/"))
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feeds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db = open_db(sys.argv[1])
    sync_sources(db, [{"name": name, "url": f"http://127.0.0.1:{server.server_port}/{name}", "kind": "feed",
                       "publisher": "news", "every": 3600, "filter": False, "local": True}
                      for name in ("a", "b", "c", "slow")])
    harvest(db, include_not_due=True, on_done=lambda o: print("parsed", flush=True),
            settings=HarvestSettings(fulltext=False, parse_workers=2, pool_min_sources=1))
""")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _descendants(root: int) -> list[int]:
    parents = {int(p): int(s[1]) for p in os.listdir("/proc") if p.isdigit() and (s := _stat(int(p)))}
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        todo += children
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has exited; only its parent's reaping is left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process's children")
def test_no_process_outlives_a_killed_harvest(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path / "h.db")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline().strip() == b"parsed", "the harvest never parsed a feed in a worker"
        deadline = time.monotonic() + 10
        while len(helpers := _descendants(proc.pid)) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)  # forkserver, resource tracker, two workers
        assert len(helpers) >= 4, helpers
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 5
    while (left := [pid for pid in helpers if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # don't leave them behind for the next test, then fail
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running {time.monotonic() - deadline + 5:.1f}s after the kill: {left}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list a process's children")
def test_no_site_process_outlives_a_killed_run(tmp_path):
    """`hypewatch run` killed with SIGKILL takes its site (and the site's workers) with it."""
    import urllib.request

    port = _free_port()
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "dead"\nurl = "http://127.0.0.1:9/feed"\nevery = "1h"\nlocal = true\n',
                       encoding="utf-8")
    env = {**os.environ, "HYPEWATCH_FULLTEXT": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "hypewatch", "run", "--db", str(tmp_path / "r.db"),
                             "--sources", str(sources), "--port", str(port), "--tick", "1h"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the site never answered")
        site = _descendants(proc.pid)
        assert site, "run started no site process"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in site) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in site if _alive(pid)], "the site outlived the run that started it"
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
