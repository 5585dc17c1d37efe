"""The database schema, as sqlite-utils migrations applied by open_db.

Migrations are append-only: a released migration is never edited, a change
is a new function below the others, so every existing database can follow.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("hypewatch")


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,                        -- where we fetch (follows permanent redirects)
            config_url TEXT NOT NULL,                 -- as written in sources.toml
            kind TEXT NOT NULL DEFAULT 'feed',
            publisher TEXT NOT NULL DEFAULT 'news',
            every INTEGER NOT NULL DEFAULT 3600,      -- minimum seconds between checks
            filter INTEGER NOT NULL DEFAULT 0,        -- keep only items scored relevant
            local INTEGER NOT NULL DEFAULT 0,         -- may fetch private/loopback addresses
            enabled INTEGER NOT NULL DEFAULT 1,
            disabled_reason TEXT,
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,
            next_check_at TEXT,
            last_checked_at TEXT,
            last_success_at TEXT,
            last_status TEXT,                         -- ok | not_modified | unchanged | failed
            last_http_status INTEGER,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            feed_title TEXT,
            added_at TEXT
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL REFERENCES sources(name) ON UPDATE CASCADE,
            publisher TEXT,
            url TEXT,
            canonical_url TEXT,
            title TEXT NOT NULL DEFAULT '',
            author TEXT,
            published TEXT,
            updated TEXT,
            summary TEXT NOT NULL DEFAULT '',
            summary_html TEXT,
            text TEXT NOT NULL DEFAULT '',
            doi TEXT,
            pmid TEXT,
            nct_ids TEXT NOT NULL DEFAULT '[]',
            meta TEXT NOT NULL DEFAULT '{}',          -- structured facts from APIs (publication types, trial status)
            first_seen_at TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            fulltext_status TEXT,                     -- NULL (not needed) | pending | ok | empty | blocked | error: ...
            relevant INTEGER,
            evidence_stage TEXT,
            commercial_interest TEXT,
            hype TEXT,
            hype_score INTEGER,
            treatments TEXT NOT NULL DEFAULT '[]',
            reasons TEXT NOT NULL DEFAULT '[]',
            scoring_version TEXT,
            scored_at TEXT
        );
        CREATE INDEX items_source_published ON items(source, published);
        CREATE INDEX items_published ON items(published);
        CREATE INDEX items_scoring_version ON items(scoring_version);
        CREATE INDEX items_doi ON items(doi) WHERE doi IS NOT NULL;
        CREATE INDEX items_pmid ON items(pmid) WHERE pmid IS NOT NULL;
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL REFERENCES sources(name) ON UPDATE CASCADE,
            started_at TEXT NOT NULL,
            elapsed REAL,
            status TEXT NOT NULL,                     -- ok | not_modified | unchanged | failed
            http_status INTEGER,
            bytes INTEGER,
            new_items INTEGER NOT NULL DEFAULT 0,
            updated_items INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX fetches_source_started ON fetches(source, started_at);
        """
    )
    # title and text only: text is the longest of the feed's content and summary,
    # so indexing summary too would tokenise the same words twice.
    db["items"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")


@migrations()
def m002_digests(db: Database) -> None:
    """One row per finished period (weekly or daily): the digest published at /hypewatch/digest.atom."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS digests (
            id TEXT PRIMARY KEY,                      -- stable: "weekly-2026-11-16", "daily-2026-11-18"
            period TEXT NOT NULL,                     -- weekly | daily
            period_start TEXT NOT NULL,               -- UTC ISO, inclusive (weeks start Monday 00:00)
            period_end TEXT NOT NULL,                 -- UTC ISO, exclusive
            title TEXT NOT NULL,
            html TEXT NOT NULL,                       -- sanitised HTML body
            item_count INTEGER NOT NULL DEFAULT 0,
            counts TEXT NOT NULL DEFAULT '{}',        -- JSON: per evidence_stage / commercial_interest / hype
            item_ids TEXT NOT NULL DEFAULT '[]',      -- JSON: the items it covers, in the order shown
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL                  -- moves only when the html changes
        );
        CREATE INDEX IF NOT EXISTS digests_period_start ON digests(period, period_start);
        -- digests select items by when we first saw them
        CREATE INDEX IF NOT EXISTS items_first_seen_at ON items(first_seen_at);
        """
    )


@migrations()
def m003_site_indexes(db: Database) -> None:
    """Indexes for the published site: facet counts and the label-filtered views and feeds, newest first."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS items_site_stage_published ON items(evidence_stage, published);
        CREATE INDEX IF NOT EXISTS items_site_hype_published ON items(hype, published);
        CREATE INDEX IF NOT EXISTS items_site_commercial ON items(commercial_interest);
        CREATE INDEX IF NOT EXISTS items_site_publisher ON items(publisher);
        """
    )


@migrations()
def m004_site_perf(db: Database) -> None:
    """Treatments one row per (treatment, item), kept by triggers: the site's treatments facet, filter and feeds.

    Faceting or filtering on the ``treatments`` JSON array parses every item's
    array (json_each over the wide items rows: seconds at a million items, past
    the facet time limit). ``item_treatments`` answers the same questions from a
    small covering index. Keyed by items.id, not rowid, so VACUUM cannot break it.
    """
    valid = "CASE WHEN json_valid({0}.treatments) THEN {0}.treatments ELSE '[]' END"
    db.executescript(
        f"""
        CREATE TABLE IF NOT EXISTS item_treatments (
            treatment TEXT NOT NULL,
            item_id TEXT NOT NULL,
            published TEXT,                           -- copied from items, for "newest first" per treatment
            PRIMARY KEY (treatment, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS item_treatments_item ON item_treatments(item_id);
        CREATE INDEX IF NOT EXISTS item_treatments_published ON item_treatments(treatment, published);
        INSERT OR IGNORE INTO item_treatments (treatment, item_id, published)
            SELECT j.value, items.id, items.published
            FROM items, json_each({valid.format('items')}) j WHERE j.type = 'text';
        CREATE TRIGGER IF NOT EXISTS items_treatments_ai AFTER INSERT ON items BEGIN
            INSERT OR IGNORE INTO item_treatments (treatment, item_id, published)
                SELECT j.value, new.id, new.published FROM json_each({valid.format('new')}) j WHERE j.type = 'text';
        END;
        CREATE TRIGGER IF NOT EXISTS items_treatments_ad AFTER DELETE ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
        END;
        CREATE TRIGGER IF NOT EXISTS items_treatments_au AFTER UPDATE OF id, treatments, published ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
            INSERT OR IGNORE INTO item_treatments (treatment, item_id, published)
                SELECT j.value, new.id, new.published FROM json_each({valid.format('new')}) j WHERE j.type = 'text';
        END;
        """
    )


@migrations()
def m005_treatment_labels(db: Database) -> None:
    """item_treatments carries the labels the per-treatment views need, so they never touch the wide items rows.

    The treatment pipeline (strongest stage, items in 90 days, share with direct
    commercial interest) joined a million items rows through item_treatments:
    seconds of random reads. With relevance, stage and commercial interest copied
    here the whole pipeline is one scan of this narrow table. The table is derived
    data, so it is rebuilt from items; ``published`` falls back to first_seen_at
    like every "newest first" view of the site.
    """
    valid = "CASE WHEN json_valid({0}.treatments) THEN {0}.treatments ELSE '[]' END"

    def fill(row: str, where: str = "") -> str:
        return (f"INSERT OR IGNORE INTO item_treatments "
                f"(treatment, item_id, published, relevant, evidence_stage, commercial_interest) "
                f"SELECT j.value, {row}.id, coalesce({row}.published, {row}.first_seen_at), {row}.relevant, "
                f"{row}.evidence_stage, {row}.commercial_interest "
                f"FROM {'items, ' if row == 'items' else ''}json_each({valid.format(row)}) j WHERE j.type = 'text'{where}")

    db.executescript(
        f"""
        DROP TRIGGER IF EXISTS items_treatments_ai;
        DROP TRIGGER IF EXISTS items_treatments_ad;
        DROP TRIGGER IF EXISTS items_treatments_au;
        DROP TABLE IF EXISTS item_treatments;
        CREATE TABLE item_treatments (
            treatment TEXT NOT NULL,
            item_id TEXT NOT NULL,
            published TEXT,                           -- coalesce(published, first_seen_at) of the item
            relevant INTEGER,
            evidence_stage TEXT,
            commercial_interest TEXT,
            PRIMARY KEY (treatment, item_id)
        ) WITHOUT ROWID;
        CREATE INDEX item_treatments_item ON item_treatments(item_id);
        CREATE INDEX item_treatments_published ON item_treatments(treatment, published);
        {fill('items')};
        CREATE TRIGGER items_treatments_ai AFTER INSERT ON items BEGIN
            {fill('new')};
        END;
        CREATE TRIGGER items_treatments_ad AFTER DELETE ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
        END;
        CREATE TRIGGER items_treatments_au AFTER UPDATE OF id, treatments, published, first_seen_at, relevant,
                evidence_stage, commercial_interest ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
            {fill('new')};
        END;
        """
    )


@migrations()
def m006_site_summary_index(db: Database) -> None:
    """A covering index for the home page's counts and the charts, which aggregate every item.

    Without it each aggregate reads the wide items rows (texts, reasons): seconds at a
    million items, past the site's time limit. From this index they read ~60 bytes per item.
    """
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS items_site_summary
            ON items(published, relevant, evidence_stage, hype, commercial_interest, publisher, source);
        """
    )


@migrations()
def m007_treatment_stage_index(db: Database) -> None:
    """A covering index for the treatment pipeline (chart and canned query): counts per
    treatment and evidence stage read from it in order, with no sort (1.5 s -> 0.14 s at a
    million items, where the chart had been stopped by its 3 s limit under load)."""
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS item_treatments_stage
            ON item_treatments(treatment, evidence_stage, relevant);
        """
    )


@migrations()
def m008_claim_strength(db: Database) -> None:
    """items.claim_strength: how strongly the item says a treatment or exposure works.

    Values, weakest to strongest: no_claim, correlational, conditional_causal, direct_causal
    (the scorer's ``claim_strength``). Adding a column is instant; it is NULL until the item is
    scored by a scorer that has the label, and the scorer's version changed with it, so the
    automatic rescore of outdated items fills it in. One index, like m003's stage and hype
    indexes: the site's facet counts read it alone (a covering scan, not the wide rows), and
    ?claim_strength= lists newest first from it.
    """
    if "claim_strength" not in db["items"].columns_dict:
        db.execute("ALTER TABLE items ADD COLUMN claim_strength TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS items_site_claim_published ON items(claim_strength, published)")


@migrations()
def m009_source_warning(db: Database) -> None:
    """sources.last_warning: a recoverable problem of the last parse (a broken feed that still gave
    entries, entries dropped by the max_entries cap), NULL when the last parse had none."""
    if "last_warning" not in db["sources"].columns_dict:
        db.execute("ALTER TABLE sources ADD COLUMN last_warning TEXT")


@migrations()
def m010_items_keyset_index(db: Database) -> None:
    """An index in the items table's page order, so that ?_next= (and a streamed CSV) costs the same at any depth.

    The items table lists newest first (``sort_desc: published``); Datasette's next pages order by
    ``published desc, id`` and ask for rows after the last one's (published, id). Without an index
    in that order SQLite gathered every older row and sorted them (a second at 87,000 items, past
    the time limit); scanning this index backwards yields them in order and stops after one page.
    """
    db.execute("CREATE INDEX IF NOT EXISTS items_published_id ON items(published, id DESC)")


@migrations()
def m011_citations_and_studies(db: Database) -> None:
    """What items cite, the cited works as the services tell them, and the studies items tell.

    ``works`` is a cache of Crossref, PubMed and ClinicalTrials.gov records with their fetch state
    (so a second pass asks nothing for works already resolved and fresh); ``citations`` holds one
    row per reference an item makes, with its verdict and reasons; ``studies`` and ``study_items``
    group every telling of one study with how it was linked and its gap to the paper. Items gain
    their worst citation verdict, their study and their gap, indexed for the site's facets.
    """
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS works (
            key TEXT PRIMARY KEY,
            service TEXT NOT NULL,
            state TEXT NOT NULL,
            error TEXT,
            fetched_at TEXT,
            next_check_at TEXT,
            errors INTEGER NOT NULL DEFAULT 0,
            etag TEXT,
            last_modified TEXT,
            doi TEXT,
            pmid TEXT,
            pmcid TEXT,
            nct TEXT,
            title TEXT,
            authors TEXT,
            journal TEXT,
            journal_abbrev TEXT,
            year INTEGER,
            published TEXT,
            work_type TEXT,
            preprint INTEGER,
            abstract TEXT,
            pub_types TEXT,
            mesh TEXT,
            keywords TEXT,
            design TEXT,
            design_source TEXT,
            claim_strength TEXT,
            retraction TEXT,
            notices TEXT,
            trial TEXT,
            url TEXT,
            candidates TEXT
        );
        CREATE INDEX IF NOT EXISTS works_next_check ON works(next_check_at);
        CREATE INDEX IF NOT EXISTS works_doi ON works(doi);
        CREATE INDEX IF NOT EXISTS works_pmid ON works(pmid);
        CREATE TABLE IF NOT EXISTS citations (
            id TEXT PRIMARY KEY,
            item_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            kind TEXT NOT NULL,
            value TEXT NOT NULL,
            context TEXT,
            claimed TEXT,
            work_key TEXT,
            verdict TEXT,
            flags TEXT,
            reasons TEXT,
            design TEXT,
            on_topic INTEGER,
            checked_at TEXT,
            check_version TEXT
        );
        CREATE INDEX IF NOT EXISTS citations_item ON citations(item_id, position);
        CREATE INDEX IF NOT EXISTS citations_verdict ON citations(verdict);
        CREATE INDEX IF NOT EXISTS citations_work ON citations(work_key);
        CREATE TABLE IF NOT EXISTS studies (
            id TEXT PRIMARY KEY,
            title TEXT,
            paper_key TEXT,
            trial_key TEXT,
            paper_item TEXT,
            design TEXT,
            claim_strength TEXT,
            retraction TEXT,
            first_seen TEXT,
            last_seen TEXT,
            tellings INTEGER NOT NULL DEFAULT 0,
            worst_gap TEXT
        );
        CREATE INDEX IF NOT EXISTS studies_last_seen ON studies(last_seen);
        CREATE TABLE IF NOT EXISTS study_items (
            study_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            link TEXT NOT NULL,
            link_reason TEXT,
            role TEXT,
            published TEXT,
            evidence_stage TEXT,
            claim_strength TEXT,
            hype TEXT,
            gap TEXT,
            gap_reason TEXT,
            PRIMARY KEY (study_id, item_id)
        );
        CREATE INDEX IF NOT EXISTS study_items_item ON study_items(item_id);
        """
    )
    columns = db["items"].columns_dict
    for column in ("citation_check", "study_id", "coverage_gap"):
        if column not in columns:
            db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS items_citation_check ON items(citation_check, published)")
    db.execute("CREATE INDEX IF NOT EXISTS items_study ON items(study_id)")
    db.execute("CREATE INDEX IF NOT EXISTS items_coverage_gap ON items(coverage_gap, published)")


@migrations()
def m012_citations_checked(db: Database) -> None:
    """Which check version last looked at an item's citations, so an item that cites nothing is
    not looked at again on every pass (its citation_check stays NULL, as the design says)."""
    if "citations_checked" not in db["items"].columns_dict:
        db.execute("ALTER TABLE items ADD COLUMN citations_checked TEXT")
    db.execute("CREATE INDEX IF NOT EXISTS items_citations_checked ON items(citations_checked, published)")


@migrations()
def m013_site_summary_with_claims_and_checks(db: Database) -> None:
    """items_site_summary (m006) also covers claim_strength, citation_check and coverage_gap.

    The items page facets on them; without them in the covering index, a facet on a filtered view
    (evidence_stage=animal&hype=high) read the wide row of every match: 0.35-0.41 s each at a million
    items, past the facet time limit under load, where the indexed facets take 0.07 s.
    """
    db.executescript(
        """
        DROP INDEX IF EXISTS items_site_summary;
        CREATE INDEX items_site_summary
            ON items(published, relevant, evidence_stage, hype, commercial_interest, publisher, source,
                     claim_strength, citation_check, coverage_gap);
        """
    )


@migrations()
def m014_treatment_facet_columns(db: Database) -> None:
    """item_treatments also carries hype, claim strength, publisher, source and the citation and gap
    verdicts: every label the items page facets on, so a treatment's facets count this narrow table.

    At a million items a common treatment (a quarter of them) had each of its nine facets read
    250,000 wide item rows through the id list: 0.4 s each, stopped by the facet time limit, so the
    page showed none. Rebuilt from items like m005 (derived data), with triggers that follow every
    column copied here.
    """
    copied = ("relevant", "evidence_stage", "commercial_interest", "hype", "claim_strength", "publisher", "source",
              "citation_check", "coverage_gap")
    valid = "CASE WHEN json_valid({0}.treatments) THEN {0}.treatments ELSE '[]' END"

    def fill(row: str) -> str:
        return (f"INSERT OR IGNORE INTO item_treatments (treatment, item_id, published, {', '.join(copied)}) "
                f"SELECT j.value, {row}.id, coalesce({row}.published, {row}.first_seen_at), "
                f"{', '.join(f'{row}.{c}' for c in copied)} "
                f"FROM {'items, ' if row == 'items' else ''}json_each({valid.format(row)}) j WHERE j.type = 'text'")

    db.executescript(
        f"""
        DROP TRIGGER IF EXISTS items_treatments_ai;
        DROP TRIGGER IF EXISTS items_treatments_ad;
        DROP TRIGGER IF EXISTS items_treatments_au;
        DROP TABLE IF EXISTS item_treatments;
        CREATE TABLE item_treatments (
            treatment TEXT NOT NULL,
            item_id TEXT NOT NULL,
            published TEXT,                           -- coalesce(published, first_seen_at) of the item
            relevant INTEGER,
            evidence_stage TEXT,
            commercial_interest TEXT,
            hype TEXT,
            claim_strength TEXT,
            publisher TEXT,
            source TEXT,
            citation_check TEXT,
            coverage_gap TEXT,
            PRIMARY KEY (treatment, item_id)
        ) WITHOUT ROWID;
        {fill('items')};
        CREATE INDEX item_treatments_item ON item_treatments(item_id);
        CREATE INDEX item_treatments_published ON item_treatments(treatment, published);
        CREATE INDEX item_treatments_stage ON item_treatments(treatment, evidence_stage, relevant);
        CREATE TRIGGER items_treatments_ai AFTER INSERT ON items BEGIN
            {fill('new')};
        END;
        CREATE TRIGGER items_treatments_ad AFTER DELETE ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
        END;
        CREATE TRIGGER items_treatments_au AFTER UPDATE OF id, treatments, published, first_seen_at,
                {', '.join(copied)} ON items BEGIN
            DELETE FROM item_treatments WHERE item_id = old.id;
            {fill('new')};
        END;
        """
    )
