"""Deployment files: checked statically here; the image is built only where a Docker engine runs."""

from __future__ import annotations

import configparser
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hypewatch.cli import cli

DEPLOY = Path(__file__).parent.parent / "deploy"


def test_dockerfile_is_slim_non_root_with_healthcheck_and_volume():
    text = (DEPLOY / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and user_lines[-1] != "USER root"
    assert "HEALTHCHECK" in text and 'VOLUME ["/data"]' in text
    for path in ("hypewatch", "harvester", "scoring", "db", "deploy/datasette"):
        assert f"COPY {path} " in text
    assert "pip install" in text  # the site's Datasette plugins are entry points of the installed distribution


def test_compose_shares_one_volume_between_harvester_and_site():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"harvester", "site", "proxy"}
    assert "--no-serve" in services["harvester"]["command"]
    assert services["site"]["command"][:2] == ["hypewatch", "serve"]
    volumes = {s: services[s]["volumes"][0].split(":")[0] for s in ("harvester", "site")}
    assert volumes["harvester"] == volumes["site"] in compose["volumes"]


def test_compose_puts_the_proxy_in_front_of_the_site():
    """Only the proxy publishes a port; it mounts the nginx configuration and forwards to the site."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    assert "ports" not in services["site"] and "8001" in [str(p) for p in services["site"]["expose"]]
    assert "--workers" in services["site"]["command"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:") and proxy["depends_on"] == ["site"]
    assert proxy["ports"] == ["80:80"]
    mounts = {v.split(":")[0]: v.split(":")[1] for v in proxy["volumes"]}
    assert mounts["./nginx/hypewatch.conf"] == "/etc/nginx/conf.d/default.conf"
    assert (DEPLOY / "nginx" / "hypewatch.conf").is_file()


NGINX_CONF = DEPLOY / "nginx" / "hypewatch.conf"


def test_proxy_config_has_its_own_limits_and_a_revalidating_cache():
    text = NGINX_CONF.read_text()
    for directive in ("limit_req_zone", "limit_conn", "client_max_body_size", "large_client_header_buffers",
                      "proxy_read_timeout", "proxy_cache_path", "proxy_cache_revalidate on", "proxy_cache_lock on",
                      "proxy_cache_use_stale", "server_tokens off", "proxy_pass http://hypewatch_site",
                      "server site:8001", "proxy_no_cache $cookie_ds_actor"):
        assert directive in text, directive
    assert "return 405" in text and "GET|HEAD" in text  # TRACE and the rest stop at the proxy
    assert "proxy_buffering off" in text  # CSV streams pass through as the site writes them


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here; the file is checked statically above")
def test_proxy_config_passes_nginx_t(tmp_path):
    conf = NGINX_CONF.read_text().replace("server site:8001", "server 127.0.0.1:8001").replace(
        "/var/cache/nginx/hypewatch", str(tmp_path / "cache"))
    (tmp_path / "site.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n access_log off;\n client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
        f" include {tmp_path}/site.conf;\n}}\n")
    done = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("unit", ["hypewatch-harvester.service", "hypewatch-site.service"])
def test_systemd_units(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["User"] == "hypewatch" and service["ExecStart"].startswith("/opt/hypewatch/.venv/bin/hypewatch ")
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode,
                    reason="no Docker engine on this machine; the files are checked statically above")
def test_image_builds():
    subprocess.run(["docker", "build", "-f", "deploy/Dockerfile", "-t", "hypewatch-test", "."],
                   cwd=DEPLOY.parent, check=True, timeout=900)


def test_snapshot_is_consistent_and_never_overwrites(tmp_path):
    from db import open_db, save_harvest, sync_sources

    db = open_db(tmp_path / "live.db")
    sync_sources(db, [{"name": "A", "url": "https://e.org/f", "kind": "feed", "publisher": "news", "every": 60}])
    save_harvest(db, "A", source_changes={}, new_items=[{"id": "i1", "source": "A", "title": "t", "first_seen_at": "x",
                                                         "fetched_at": "x", "content_hash": "h"}],
                 fetch={"started_at": "x", "status": "ok"})
    runner = CliRunner()
    out = tmp_path / "snap.db"
    res = runner.invoke(cli, ["snapshot", "--db", str(tmp_path / "live.db"), str(out)])
    assert res.exit_code == 0 and "1 items" in res.output
    conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
    assert conn.execute("select count(*) from items_fts where items_fts match 't'").fetchone()[0] == 1
    res = runner.invoke(cli, ["snapshot", "--db", str(tmp_path / "live.db"), str(out)])
    assert res.exit_code == 1 and "exists" in res.output
