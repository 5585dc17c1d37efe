"""The `hypewatch` command: parses options, calls the library, turns typed errors into one-line messages.

Exit status: 0 done (per-source failures are reported, not fatal), 1 every source
failed or an operation failed, 2 usage or configuration error.

Why one long module: each command is only its options and a few lines handing them to the
library, and kept together they read like the README's table of commands, one after another.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from db import store
from harvester.sources import (
    BUNDLED_SOURCES,
    PUBLISHERS,
    Source,
    SourcesError,
    format_interval,
    load_sources,
    read_opml,
    to_toml,
    write_opml,
)

from .settings import pop_settings, setting_options

log = logging.getLogger(__name__)


class ConfigError(click.ClickException):
    """A configuration problem: exit status 2, like a usage error."""

    exit_code = 2


def common_options(func):
    """--db and --sources on every command that touches them, with their environment variables."""

    @click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="HYPEWATCH_DB",
                  default="hypewatch.db", show_default=True, show_envvar=True, help="SQLite database file.")
    @click.option("--sources", "sources_path", type=click.Path(dir_okay=False), envvar="HYPEWATCH_SOURCES",
                  default=None, show_envvar=True, help="sources.toml to use [default: the bundled list].")
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


def _load_sources(sources_path: str | None) -> list[Source]:
    try:
        return load_sources(sources_path or BUNDLED_SOURCES)
    except SourcesError as exc:
        raise ConfigError(str(exc)) from None


def _open(db_path: str):
    try:
        return store.open_db(db_path)
    except store.DatabaseError as exc:
        raise ConfigError(str(exc)) from None


def _open_synced(db_path: str, sources_path: str | None):
    sources = _load_sources(sources_path)
    db = _open(db_path)
    store.sync_sources(db, [s.as_row() for s in sources])
    return db, sources


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hypewatch")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """hypewatch: hair-loss research news, with how strong the evidence is and who profits."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr)


# -- harvest ----------------------------------------------------------------------


@cli.command()
@common_options
@click.option("--all", "all_sources", is_flag=True, help="Harvest every enabled source, due or not.")
@click.option("--source", "names", multiple=True, metavar="NAME", help="Harvest only this source (repeatable).")
@setting_options("harvest")
def harvest(db_path: str, sources_path: str | None, all_sources: bool, names: tuple[str, ...], **options) -> None:
    """One pass over due sources: fetch, parse, store, full text, score."""
    import sqlite3

    from harvester.pipeline import storage_message

    from .lock import AlreadyRunning, HarvestLock, LockUnavailable

    settings = _harvest_settings(options)
    lock = HarvestLock(db_path)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except LockUnavailable as exc:
        raise ConfigError(str(exc)) from None
    try:
        _harvest_locked(db_path, sources_path, all_sources, names, settings)
    except sqlite3.Error as exc:  # the database refused a write outside the per-source writes
        raise click.ClickException(f"{db_path}: {storage_message(exc)}") from None
    finally:
        lock.release()


def _harvest_locked(db_path: str, sources_path: str | None, all_sources: bool, names: tuple[str, ...],
                    settings: Any) -> None:
    from harvester.pipeline import harvest as run_harvest

    db, sources = _open_synced(db_path, sources_path)
    known = {s.name for s in sources}
    for name in names:
        if name not in known:
            raise ConfigError(f"no source named {name!r}; `hypewatch sources list` shows the names")
    due = store.due_sources(db, include_not_due=all_sources or bool(names), names=names or None)
    if not due:
        upcoming = [r["next_check_at"] for r in store.list_sources(db) if r["enabled"] and r["next_check_at"]]
        click.echo(f"No source is due (next check {min(upcoming) if upcoming else 'never'}); "
                   "use --all to harvest every source now.")
        return
    show_bar = sys.stderr.isatty()
    with click.progressbar(length=len(due), label="Harvesting", file=sys.stderr,
                           hidden=not show_bar, item_show_func=lambda o: o.source[:40] if o else None) as bar:
        outcomes = run_harvest(db, names=[r["name"] for r in due], settings=settings,
                               on_done=lambda o: bar.update(1, o))
    _print_summary(outcomes)
    refused = next((o.error for o in outcomes if (o.error or "").startswith("not saved: the database")), None)
    if refused:
        raise click.ClickException(f"{db_path}: {refused}")
    _rescore_outdated(db)
    if outcomes and all(o.status == "failed" for o in outcomes):
        sys.exit(1)


def _harvest_settings(options: dict[str, Any]):
    from harvester.pipeline import HarvestSettings

    try:
        values = pop_settings(options)
        settings = HarvestSettings.from_settings(values)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if settings.concurrency < 1 or settings.per_host < 1 or settings.fulltext_concurrency < 1:
        raise ConfigError("concurrency, per_host and fulltext_concurrency must be at least 1")
    return settings


def _print_summary(outcomes) -> None:
    width = min(48, max((len(o.source) for o in outcomes), default=10))
    click.echo(f"{'source':<{width}}  {'result':<12} {'new':>5} {'upd':>5}  note")
    for o in outcomes:
        result = {"ok": "ok", "not_modified": "not modified", "unchanged": "unchanged", "failed": "FAILED"}[o.status]
        note = o.error or o.warning or ""
        if o.filtered:
            note = f"{o.filtered} not relevant, skipped" + (f"; {note}" if note else "")
        if o.disabled:
            note = "source disabled: " + note
        click.echo(f"{o.source[:width]:<{width}}  {result:<12} {o.new:>5} {o.updated:>5}  {note}")
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("ok", "not_modified", "unchanged", "failed")}
    click.echo(f"{len(outcomes)} sources: {counts['ok']} ok, {counts['not_modified']} not modified, "
               f"{counts['unchanged']} unchanged, {counts['failed']} failed; "
               f"{sum(o.new for o in outcomes)} new items, {sum(o.updated for o in outcomes)} updated")


def _rescore_outdated(db) -> None:
    """Scores follow the scorer: items scored by another version are rescored automatically."""
    from harvester.pipeline import rescore
    from scoring import SCORING_VERSION

    if store.count_outdated_scores(db, SCORING_VERSION):
        n = rescore(db)
        click.echo(f"Rescored {n} items with scorer {SCORING_VERSION}.")


@cli.command()
@common_options
def status(db_path: str, sources_path: str | None) -> None:
    """Health of every source: last success, last error, next check."""
    db, _ = _open_synced(db_path, sources_path)
    rows = store.source_health(db)
    for r in rows:
        state = "disabled" if not r["enabled"] else (r["last_status"] or "never checked")
        click.echo(f"{r['name']}  [{state}]  items={r['items']}")
        click.echo(f"    last success: {r['last_success_at'] or 'never'}   next check: "
                   f"{r['next_check_at'] or '-'}   errors in a row: {r['error_count']}")
        if r["last_error"]:
            click.echo(f"    last error: {r['last_error']}")
        elif r["last_warning"]:
            click.echo(f"    last warning: {r['last_warning']}")
        if r["disabled_reason"]:
            click.echo(f"    disabled: {r['disabled_reason']}")
    failing = sum(1 for r in rows if r["enabled"] and r["error_count"])
    click.echo(f"{len(rows)} sources, {sum(1 for r in rows if r['enabled'])} enabled, {failing} failing; "
               f"{sum(r['items'] for r in rows)} items")


# -- sources ------------------------------------------------------------------------


@cli.group()
def sources() -> None:
    """Manage and test sources (sources.toml)."""


@sources.command("list")
@common_options
def sources_list(db_path: str, sources_path: str | None) -> None:
    """The configured sources, with their state when the database exists."""
    configured = _load_sources(sources_path)
    state = {}
    if Path(db_path).exists():
        state = {r["name"]: r for r in store.list_sources(_open(db_path))}
    for s in configured:
        st = state.get(s.name, {})
        flags = ", ".join(f for f in ("filter" if s.filter else "", "local" if s.local else "") if f)
        click.echo(f"{s.name}\n    {s.kind}/{s.publisher} every {format_interval(s.every)}"
                   f"{' (' + flags + ')' if flags else ''}  {s.url}")
        if st:
            click.echo(f"    last: {st.get('last_status') or 'never checked'}, next check {st.get('next_check_at') or '-'}")
    click.echo(f"{len(configured)} sources in {sources_path or BUNDLED_SOURCES}")


@sources.command("check")
@common_options
@click.option("--source", "names", multiple=True, metavar="NAME", help="Check only this source (repeatable).")
def sources_check(db_path: str, sources_path: str | None, names: tuple[str, ...]) -> None:
    """Fetch and parse each source once, store nothing, report what came back."""
    from .check import check_sources

    configured = _load_sources(sources_path)
    if names:
        unknown = set(names) - {s.name for s in configured}
        if unknown:
            raise ConfigError(f"no source named {sorted(unknown)[0]!r}; `hypewatch sources list` shows the names")
        configured = [s for s in configured if s.name in names]
    results = check_sources(configured)
    for r in results:
        mark = "ok  " if r["ok"] else "FAIL"
        click.echo(f"{mark} {r['name']}: {r['message']}")
    failed = sum(1 for r in results if not r["ok"])
    click.echo(f"{len(results) - failed} of {len(results)} sources ok")
    if results and failed == len(results):
        sys.exit(1)


@sources.command("import-opml")
@common_options
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--publisher", type=click.Choice(list(PUBLISHERS)),
              default="blog", show_default=True, help="Publisher kind for the imported feeds.")
@click.option("--every", default="6h", show_default=True, help="Check interval for the imported feeds.")
@click.option("--dry-run", is_flag=True, help="Print the [[source]] blocks instead of appending them.")
def sources_import_opml(db_path: str, sources_path: str | None, opml_file: str, publisher: str,
                        every: str, dry_run: bool) -> None:
    """Append the feeds of an OPML file to sources.toml (skipping ones already there)."""
    from harvester.polling import parse_interval

    try:
        seconds = parse_interval(every)
    except ValueError as exc:
        raise ConfigError(f"--every {every!r}: {exc}") from None
    target = Path(sources_path or BUNDLED_SOURCES)
    existing = _load_sources(str(target)) if target.exists() else []
    try:
        found = read_opml(opml_file, publisher=publisher, every=seconds)
    except SourcesError as exc:
        raise ConfigError(str(exc)) from None
    names = {s.name for s in existing}
    urls = {s.url for s in existing}
    fresh: list[Source] = []
    for s in found:
        if s.url in urls:
            continue
        base, n = s.name, 2
        while s.name in names:
            s.name = f"{base} ({n})"
            n += 1
        names.add(s.name)
        urls.add(s.url)
        fresh.append(s)
    block = to_toml(fresh)
    if dry_run:
        click.echo(block, nl=False)
    elif fresh:
        with target.open("a", encoding="utf-8") as fh:
            fh.write("\n" + block)
        _load_sources(str(target))  # the file must still be valid
    click.echo(f"{len(fresh)} new feeds{' (dry run)' if dry_run else ' added to ' + str(target)}, "
               f"{len(found) - len(fresh)} already present", err=dry_run)


@sources.command("export-opml")
@common_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default="-",
              help="Write to this file instead of standard output.")
def sources_export_opml(db_path: str, sources_path: str | None, output: str) -> None:
    """Write the feed sources as an OPML subscription list."""
    text = write_opml(_load_sources(sources_path))
    with click.open_file(output, "w", encoding="utf-8") as fh:
        fh.write(text)


# -- scoring --------------------------------------------------------------------------


@cli.command()
@common_options
@click.option("--rescore", is_flag=True, help="Rescore every item, not only unscored or outdated ones.")
def score(db_path: str, sources_path: str | None, rescore: bool) -> None:
    """Score unscored items (and items scored by an older scorer version)."""
    from harvester.pipeline import rescore as run_rescore
    from scoring import SCORING_VERSION

    db = _open(db_path)
    n = run_rescore(db, rescore_all=rescore)
    click.echo(f"Scored {n} items with scorer {SCORING_VERSION}.")


@cli.command("score-jsonl")
def score_jsonl() -> None:
    """Read items as JSON lines on stdin, write scores as JSON lines on stdout."""
    from scoring.jsonl import score_lines

    out = click.get_text_stream("stdout")
    for line in score_lines(click.get_text_stream("stdin")):
        out.write(line + "\n")
        out.flush()


@cli.command("eval")
@click.argument("labelled_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--use-publisher", is_flag=True, help="Give the scorer each item's source_kind as its publisher.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(labelled_file: str, use_publisher: bool, as_json: bool) -> None:
    """Score a labelled JSONL file and print accuracy, macro-F1 and confusion per dimension."""
    from scoring.evaluate import evaluate_file, format_report

    try:
        report = evaluate_file(labelled_file, use_publisher=use_publisher)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


# -- demo ------------------------------------------------------------------------------


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), default="demo.db", show_default=True,
              help="Demo database file, deleted and rebuilt on every run (HYPEWATCH_DB is ignored on purpose, "
                   "and a file that is not a demo database is never overwritten).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port of the sample-feed server on 127.0.0.1 (0: any free port).")
@click.option("--site-port", type=click.IntRange(1, 65535), default=8001, show_default=True,
              help="Port of the site on 127.0.0.1.")
@click.option("--no-serve", is_flag=True, help="Stop after harvesting and building the digest; do not serve the site.")
def demo(db_path: str, port: int, site_port: int, no_serve: bool) -> None:
    """Offline demo: serve bundled sample feeds on 127.0.0.1 and harvest them into a fresh demo database."""
    from .demo import DemoError, run_demo
    from .digest import build_digests

    try:
        run = run_demo(db_path, port=port, echo=click.echo)
    except DemoError as exc:
        raise ConfigError(str(exc)) from None
    if not run.ok:
        sys.exit(1)
    # Every sample item arrived just now, so no period has finished: build the
    # week under way as a preview so the digest feed has an entry to show.
    db = _open(str(run.db_path))
    built = build_digests(db, include_current=True)
    db.close()
    click.echo(f"Digest: built {', '.join(built) or 'nothing'} (the current week, as a preview).")
    if no_serve:
        return
    from .serve import ServeError, serve as serve_site

    click.echo(f"Site: http://127.0.0.1:{site_port}/  (sample data, labelled as such on every page; Ctrl-C stops)")
    try:
        serve_site(str(run.db_path), host="127.0.0.1", port=site_port)
    except ServeError as exc:
        raise ConfigError(str(exc)) from None


# -- digest ----------------------------------------------------------------------------


@cli.command()
@common_options
@click.option("--period", type=click.Choice(["weekly", "daily"]), default="weekly", show_default=True,
              help="Weeks (Monday 00:00 UTC to Monday) or days (UTC).")
@click.option("--rebuild", is_flag=True,
              help="Rebuild every finished period since the oldest item (e.g. after a rescore), "
                   "not only those with items no digest lists yet.")
@click.option("--include-current", is_flag=True,
              help="Also build the period still under way (a preview, rebuilt until it ends; the demo uses it).")
def digest(db_path: str, sources_path: str | None, period: str, rebuild: bool, include_current: bool) -> None:
    """Build the digest entries for finished periods (published at /hypewatch/digest.atom)."""
    import sqlite3

    from .digest import build_digest_entries

    db = _open(db_path)
    try:
        results = build_digest_entries(db, period=period, rebuild=rebuild, include_current=include_current)
    except sqlite3.Error as exc:
        raise click.ClickException(f"{db_path}: building the {period} digests failed ({exc}); "
                                   "check the file is writable and not corrupt (`PRAGMA integrity_check`)") from None
    built = [r for r in results if r.status != "removed"]
    removed = [r for r in results if r.status == "removed"]
    if built:
        def describe(r) -> str:
            note = "" if r.status == "new" else f", {r.status}"
            return f"{r.id} ({r.item_count} item{'' if r.item_count == 1 else 's'}{note})"

        click.echo(f"built {len(built)} digest{'' if len(built) == 1 else 's'}: "
                   + ", ".join(describe(r) for r in built))
    else:
        click.echo(f"No {period} digest to build: no {'' if include_current else 'finished '}period has items "
                   "that no digest lists yet"
                   + ("" if rebuild else " (use --rebuild to rebuild them all)") + ".")
    if removed:
        click.echo(f"removed {len(removed)} (no relevant item left): " + ", ".join(r.id for r in removed))


# -- serve -------------------------------------------------------------------------------


@cli.command()
@click.option("--db", "db_path", type=click.Path(dir_okay=False), envvar="HYPEWATCH_DB",
              default="hypewatch.db", show_default=True, show_envvar=True, help="SQLite database file.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for all).")
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(1, 64), envvar="HYPEWATCH_SITE_WORKERS", default=1, show_default=True,
              show_envvar=True, help="Server processes (one per CPU core serves the most requests).")
@click.option("--forwarded-allow-ips", envvar="HYPEWATCH_FORWARDED_ALLOW_IPS", default="127.0.0.1", show_default=True,
              show_envvar=True, help="Proxies trusted to name the client in X-Forwarded-For (comma-separated, or *), "
                                     "so per-client limits count visitors, not the proxy.")
def serve(db_path: str, host: str, port: int, workers: int, forwarded_allow_ips: str) -> None:
    """Serve the site (Datasette with deploy/datasette) on the database, published as `hypewatch`."""
    from .serve import ServeError, serve as serve_site

    _open(db_path).close()  # create or migrate it first, so the site sees the current schema
    try:
        serve_site(db_path, host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips)
    except ServeError as exc:
        raise ConfigError(str(exc)) from None


# -- cite --------------------------------------------------------------------------------


@cli.command()
@common_options
@setting_options("cite")
def cite(db_path: str, sources_path: str | None, **options) -> None:
    """Check what items cite and group the studies they tell: one pass of the citations job."""
    import sqlite3

    from harvester.citing import check_citations, settings_from
    from harvester.pipeline import storage_message

    settings = settings_from(pop_settings(options))
    db = _open(db_path)
    try:
        outcome = check_citations(db, settings)
    except sqlite3.Error as exc:
        raise click.ClickException(f"{db_path}: {storage_message(exc)}") from None
    finally:
        db.close()
    if outcome.skipped:
        click.echo(outcome.skipped)
        return
    asked = ", ".join(f"{name} {n}" for name, n in sorted(outcome.requests.items()) if n) or "none"
    click.echo(f"{outcome.items} items checked: {outcome.citations} citations, {outcome.flagged} flagged "
               f"(not found, mismatched, off topic or retracted), {outcome.unchecked} waiting for their work.")
    click.echo(f"{outcome.works_resolved} works looked up (requests: {asked}); {outcome.studies} studies.")


@cli.command()
@common_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the site listens on.")
@click.option("--port", type=int, default=8001, show_default=True, help="Port the site listens on.")
@click.option("--no-serve", is_flag=True, help="Only harvest on schedule; do not start the site.")
@setting_options("run")
def run(db_path: str, sources_path: str | None, host: str, port: int, no_serve: bool, **options) -> None:
    """The service: harvest on schedule, build digests, serve the site; until SIGTERM or Ctrl-C."""
    from .lock import AlreadyRunning, LockUnavailable
    from .service import ServiceConfig, run_service

    sources_list = _load_sources(sources_path)
    _open(db_path).close()
    try:
        config = ServiceConfig.from_settings(db_path, sources_list, pop_settings(options))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        sys.exit(run_service(config, serve=not no_serve, host=host, port=port, echo=click.echo))
    except AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except LockUnavailable as exc:
        raise ConfigError(str(exc)) from None


@cli.command()
@common_options
@click.argument("out_path", type=click.Path(dir_okay=False))
def snapshot(db_path: str, sources_path: str | None, out_path: str) -> None:
    """Write a consistent read-only copy of the database, for site replicas (`datasette -i`)."""
    import time

    if not Path(db_path).exists():
        raise ConfigError(f"{db_path}: no such database; run `hypewatch harvest` first or pass --db")
    db = _open(db_path)
    start = time.monotonic()
    try:
        info = store.snapshot(db, out_path)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Wrote {info['path']}: {info['items']} items, {info['bytes'] / 2**20:.1f} MiB "
               f"in {time.monotonic() - start:.1f}s")


def main() -> Any:
    return cli(prog_name="hypewatch")
