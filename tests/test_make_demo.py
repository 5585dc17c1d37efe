"""The README's first command on a fresh clone: `make demo` sets everything up, harvests offline, serves the site."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import feedparser
import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = {"none", "in_vitro", "animal", "human_anecdote", "human_uncontrolled", "human_rct", "meta_analysis"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None or shutil.which("make") is None,
                    reason="needs a git checkout, git and make")
def test_make_demo_from_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "HYPEWATCH_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.Popen(["make", "demo", f"DEMO_ARGS=--site-port {port}"], cwd=clone, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    try:
        deadline = time.monotonic() + 600  # creating the venv and installing dominates
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Site: http://127.0.0.1:"):
                break
        assert any(line.startswith("Site: ") for line in output), "".join(output[-40:])
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                home = get(base + "/").decode()
                break
            except OSError:
                time.sleep(0.2)
        assert "hypewatch" in home.lower() and "sample" in home.lower()
        rows = json.loads(get(base + "/hypewatch.json?sql=select+distinct+evidence_stage+from+items&_shape=arrays"))
        assert {r[0] for r in rows["rows"]} == STAGES
        feed = feedparser.parse(get(base + "/hypewatch/digest.atom"))
        assert not feed.bozo and len(feed.entries) >= 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    db = sqlite3.connect(clone / "demo.db")
    assert db.execute("select count(*) from digests").fetchone()[0] >= 1
