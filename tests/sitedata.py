"""A small realistic database for the site tests: every label value (claim strength too), reasons, one hostile item.

Written through db.open_db and db.store (the same writes the pipeline makes),
with dates relative to now so "last 90 days" views have something in them.
Run it as a script to make a database for a browser: ``python tests/sitedata.py site.db [--demo]``.
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from db import store

#: Markers the hostile item carries; tests assert they never come out as live markup.
XSS_MARK = "hwxss"
HOSTILE_ID = "bad0bad0bad0bad0"
HOSTILE_TITLE = f"<script>alert('{XSS_MARK}-title')</script>Miracle regrowth <img src=x onerror=alert('{XSS_MARK}-img')>"
HOSTILE_SUMMARY = (f"Cure baldness now! <script>alert('{XSS_MARK}-summary')</script> "
                   f"<a href=\"javascript:alert('{XSS_MARK}-link')\">click</a> <svg onload=alert('{XSS_MARK}-svg')>")
HOSTILE_URL = f"javascript:alert('{XSS_MARK}-url')"

SOURCES = [
    {"name": "Journal of Hair Science", "url": "https://journal.example.org/rss", "kind": "feed",
     "publisher": "journal", "every": 21600},
    {"name": "Preprint Server: dermatology", "url": "https://preprints.example.org/derm.xml", "kind": "feed",
     "publisher": "preprint", "every": 21600},
    {"name": "University News", "url": "https://news.uni.example.edu/feed", "kind": "feed",
     "publisher": "press", "every": 7200},
    {"name": "Daily Health Wire", "url": "https://dailyhealth.example.com/rss", "kind": "feed",
     "publisher": "news", "every": 3600, "filter": True},
    {"name": "Follicle Clinic Blog", "url": "https://follicle-clinic.example.com/blog.rss", "kind": "feed",
     "publisher": "clinic", "every": 43200},
    {"name": "RegrowCo Investor News", "url": "https://ir.regrowco.example.com/news.atom", "kind": "feed",
     "publisher": "company", "every": 43200},
    {"name": "Hair Loss Forum", "url": "https://forum.example.net/latest.rss", "kind": "feed",
     "publisher": "forum", "every": 3600},
    {"name": "ClinicalTrials.gov: alopecia", "url": "https://clinicaltrials.gov/api/v2/studies?query.cond=alopecia",
     "kind": "clinicaltrials", "publisher": "registry", "every": 86400},
]


def _reason(dimension: str, label: Any, cue: str, snippet: str, weight: float = 1.0) -> dict[str, Any]:
    return {"dimension": dimension, "label": label, "cue": cue, "snippet": snippet, "weight": weight}


# (days ago, source, title, summary, labels..., treatments, reasons, extra fields)
ITEMS: list[dict[str, Any]] = [
    dict(days=2, source="Journal of Hair Science", title="Oral minoxidil versus topical minoxidil: a randomized, double-blind trial",
         summary="In this randomized, double-blind, placebo-controlled trial of 120 men, low-dose oral minoxidil "
                 "increased hair density at 24 weeks compared with topical minoxidil.",
         relevant=1, evidence_stage="human_rct", claim_strength="direct_causal", commercial_interest="none",
         hype="low", hype_score=8, treatments=["minoxidil"], doi="10.1000/jhs.2026.0142", pmid="39912345",
         reasons=[_reason("evidence_stage", "human_rct", "randomized, double-blind",
                          "In this randomized, double-blind, placebo-controlled trial of 120 men", 3.0),
                  _reason("claim_strength", "direct_causal", "increased hair density",
                          "low-dose oral minoxidil increased hair density at 24 weeks", 2.0),
                  _reason("hype", "low", "compared with", "increased hair density at 24 weeks compared with topical", 0.5),
                  _reason("treatments", "minoxidil", "minoxidil", "low-dose oral minoxidil increased hair density")]),
    dict(days=9, source="Journal of Hair Science", title="Finasteride and dutasteride for androgenetic alopecia: a systematic review and meta-analysis",
         summary="A systematic review and meta-analysis of 23 randomized trials found dutasteride slightly more "
                 "effective than finasteride; sexual adverse events were similar.",
         relevant=1, evidence_stage="meta_analysis", claim_strength="direct_causal", commercial_interest="none",
         hype="low", hype_score=5,
         treatments=["finasteride", "dutasteride"], doi="10.1000/jhs.2026.0099",
         reasons=[_reason("evidence_stage", "meta_analysis", "meta-analysis",
                          "A systematic review and meta-analysis of 23 randomized trials", 3.0)]),
    dict(days=20, source="Preprint Server: dermatology", title="Ritlecitinib in alopecia areata: open-label extension to 96 weeks",
         summary="In an open-label, single-arm extension, 60% of patients kept a SALT score of 20 or less; "
                 "longer treatment was associated with lower scores.",
         relevant=1, evidence_stage="human_uncontrolled", claim_strength="correlational", commercial_interest="none",
         hype="low", hype_score=12,
         treatments=["jak inhibitors", "ritlecitinib"], nct_ids=["NCT04006457"],
         reasons=[_reason("evidence_stage", "human_uncontrolled", "open-label",
                          "In an open-label, single-arm extension, 60% of patients kept", 2.0),
                  _reason("claim_strength", "correlational", "was associated with",
                          "longer treatment was associated with lower scores", 1.5)]),
    dict(days=33, source="University News", title="Cerium nanoparticles regrow hair in bald mice, researchers report",
         summary="Bald mice grew back their hair within three weeks of a cerium nanoparticle gel, a university team "
                 "reports. The team says the result could one day help people with hair loss.",
         relevant=1, evidence_stage="animal", claim_strength="conditional_causal", commercial_interest="indirect",
         hype="medium", hype_score=55,
         treatments=["cerium nanoparticles"],
         reasons=[_reason("evidence_stage", "animal", "mice", "Bald mice grew back their hair within three weeks", 2.0),
                  _reason("commercial_interest", "indirect", "university", "a university team reports", 1.0),
                  _reason("hype", "medium", "could one day help people",
                          "the result could one day help people with hair loss", 1.5)]),
    dict(days=41, source="Daily Health Wire", title="Scientists CURE baldness in mice — human trials next year",
         summary="A breakthrough gel reverses baldness, scientists say, after it regrew hair in mice. Human trials "
                 "will start next year and the cure could be on shelves by 2028.",
         relevant=1, evidence_stage="animal", claim_strength="direct_causal", commercial_interest="none", hype="high",
         hype_score=91, treatments=["cerium nanoparticles"],
         reasons=[_reason("hype", "high", "cure", "Scientists CURE baldness in mice", 3.0),
                  _reason("hype", "high", "reverses baldness", "A breakthrough gel reverses baldness, scientists say", 2.5),
                  _reason("hype", "high", "by 2028", "the cure could be on shelves by 2028", 2.0),
                  _reason("claim_strength", "direct_causal", "reverses baldness",
                          "A breakthrough gel reverses baldness, scientists say", 2.5),
                  _reason("evidence_stage", "animal", "in mice", "after it regrew hair in mice", 2.0)]),
    dict(days=55, source="Preprint Server: dermatology", title="Exosomes from dermal papilla cells prolong anagen in cultured follicles",
         summary="Exosomes from cultured dermal papilla cells prolonged anagen in human follicles in vitro.",
         relevant=1, evidence_stage="in_vitro", claim_strength="direct_causal", commercial_interest="none",
         hype="low", hype_score=15,
         treatments=["exosomes"],
         reasons=[_reason("evidence_stage", "in_vitro", "in vitro", "prolonged anagen in human follicles in vitro", 2.0)]),
    dict(days=70, source="Follicle Clinic Blog", title="PRP at our clinic: book your free consultation",
         summary="Our clinic offers platelet-rich plasma (PRP) sessions from $450. Book your free consultation today.",
         relevant=1, evidence_stage="none", claim_strength="no_claim", commercial_interest="direct", hype="medium",
         hype_score=48,
         treatments=["prp"],
         reasons=[_reason("commercial_interest", "direct", "Book your free consultation",
                          "Book your free consultation today.", 3.0),
                  _reason("commercial_interest", "direct", "$450", "sessions from $450", 2.0)]),
    dict(days=85, source="Hair Loss Forum", title="My 12-month microneedling results (photos)",
         summary="I have been microneedling weekly with minoxidil for a year; my crown filled in, see the before/after photos.",
         relevant=1, evidence_stage="human_anecdote", claim_strength="direct_causal", commercial_interest="none",
         hype="medium", hype_score=40,
         treatments=["microneedling", "minoxidil"],
         reasons=[_reason("evidence_stage", "human_anecdote", "before/after photos",
                          "my crown filled in, see the before/after photos", 2.0)]),
    dict(days=100, source="RegrowCo Investor News", title="RegrowCo announces Phase 2 trial of pyrilutamide (NASDAQ: RGRW)",
         summary="RegrowCo will begin a Phase 2 trial of pyrilutamide. This release contains forward-looking statements.",
         relevant=1, evidence_stage="none", claim_strength="no_claim", commercial_interest="direct", hype="medium",
         hype_score=45,
         treatments=["pyrilutamide"], nct_ids=["NCT05999999"],
         reasons=[_reason("commercial_interest", "direct", "forward-looking statements",
                          "This release contains forward-looking statements.", 3.0),
                  _reason("evidence_stage", "none", "will begin", "RegrowCo will begin a Phase 2 trial", 1.0)]),
    dict(days=130, source="Follicle Clinic Blog", title="Stem cell hair restoration: guaranteed regrowth",
         summary="Our stem cell therapy guarantees new hair in 30 days. Read what our patients say!",
         relevant=1, evidence_stage="human_anecdote", claim_strength="direct_causal", commercial_interest="direct",
         hype="high", hype_score=95,
         treatments=["stem cells"],
         reasons=[_reason("hype", "high", "guarantees", "Our stem cell therapy guarantees new hair in 30 days.", 3.0),
                  _reason("commercial_interest", "direct", "Our stem cell therapy", "Our stem cell therapy guarantees", 2.0)]),
    dict(days=160, source="ClinicalTrials.gov: alopecia", title="Low-level laser therapy for female pattern hair loss (NCT05123456)",
         summary="Randomized, sham-controlled trial of low-level laser therapy; results posted: hair counts increased versus sham.",
         relevant=1, evidence_stage="human_rct", claim_strength="direct_causal", commercial_interest="none",
         hype="low", hype_score=6,
         treatments=["low-level laser therapy"], nct_ids=["NCT05123456"],
         reasons=[_reason("evidence_stage", "human_rct", "Randomized, sham-controlled",
                          "Randomized, sham-controlled trial of low-level laser therapy", 3.0)]),
    dict(days=200, source="University News", title="Hair cloning: lab-grown follicles take a step forward",
         summary="Researchers grew hair follicle organoids from stem cells in the lab, a promising step for hair cloning.",
         relevant=1, evidence_stage="in_vitro", claim_strength="conditional_causal", commercial_interest="indirect",
         hype="medium", hype_score=50,
         treatments=["hair cloning", "stem cells"],
         reasons=[_reason("evidence_stage", "in_vitro", "organoids", "grew hair follicle organoids from stem cells", 2.0),
                  _reason("hype", "medium", "promising", "a promising step for hair cloning", 1.0)]),
    dict(days=260, source="Daily Health Wire", title="Clascoterone solution: what dermatologists say",
         summary="An explainer on clascoterone for hair loss; experts say more research is needed.",
         relevant=1, evidence_stage="none", claim_strength="no_claim", commercial_interest="none", hype="low",
         hype_score=10,
         treatments=["clascoterone"],
         reasons=[_reason("hype", "low", "more research is needed", "experts say more research is needed", 1.0)]),
    dict(days=320, source="Journal of Hair Science", title="Baricitinib in severe alopecia areata: pooled phase 3 results",
         summary="Pooled results of two randomized phase 3 trials: 35% reached SALT 20 or less at week 52.",
         relevant=1, evidence_stage="human_rct", claim_strength="direct_causal", commercial_interest="none",
         hype="low", hype_score=4,
         treatments=["jak inhibitors", "baricitinib"], pmid="38811111",
         reasons=[_reason("evidence_stage", "human_rct", "randomized phase 3",
                          "Pooled results of two randomized phase 3 trials", 3.0)]),
    dict(days=380, source="Hair Loss Forum", title="Hair transplant at 25? Share your experience",
         summary="Thinking about a hair transplant, any advice?", relevant=1, evidence_stage="none",
         claim_strength="no_claim", commercial_interest="none", hype="low", hype_score=2, treatments=["hair transplant"], reasons=[]),
    dict(days=15, source="Daily Health Wire", title="New heart-failure drug approved", relevant=0,
         summary="Regulators approved a new heart-failure drug after a large trial.", evidence_stage="human_rct",
         claim_strength="no_claim", commercial_interest="none", hype="low", hype_score=3, treatments=[],
         reasons=[_reason("relevant", 0, "heart-failure", "Regulators approved a new heart-failure drug", 1.0)]),
    dict(days=4, source="Hair Loss Forum", title="Unscored post awaiting the scorer",
         summary="Just joined the forum.", relevant=None, evidence_stage=None, claim_strength=None,
         commercial_interest=None, hype=None,
         hype_score=None, treatments=[], reasons=[]),
    dict(days=6, source="Hair Loss Forum", id=HOSTILE_ID, title=HOSTILE_TITLE, summary=HOSTILE_SUMMARY, url=HOSTILE_URL,
         relevant=1, evidence_stage="human_anecdote", claim_strength="direct_causal", commercial_interest="direct",
         hype="high", hype_score=99,
         treatments=["minoxidil", f"<b>{XSS_MARK}</b>"], doi="javascript:alert(1)", pmid="<script>",
         nct_ids=["NCT0<script>"],
         reasons=[_reason("hype", "high", "<script>", HOSTILE_SUMMARY, 3.0),
                  _reason("claim_strength", "direct_causal", "Cure baldness", HOSTILE_SUMMARY, 2.0),
                  _reason("evidence_stage", "human_anecdote", "onerror", HOSTILE_TITLE, 1.0)]),
]


def build_site_db(path: str | Path, *, demo: bool = False, now: datetime | None = None,
                  items: list[dict[str, Any]] | None = None) -> Path:
    """Create a fresh site database at ``path`` with SOURCES and ITEMS; a demo_info table when ``demo``."""
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    db = store.open_db(path)
    store.sync_sources(db, SOURCES, now=now - timedelta(days=400))
    by_source: dict[str, list[dict[str, Any]]] = {}
    for spec in items if items is not None else ITEMS:
        spec = dict(spec)
        published = now - timedelta(days=spec.pop("days"), hours=3)
        title = spec["title"]
        item_id = spec.pop("id", None) or hashlib.sha256(title.encode()).hexdigest()[:16]
        slug = hashlib.sha256(title.encode()).hexdigest()[:8]
        source = spec["source"]
        host = next(s["url"] for s in SOURCES if s["name"] == source).split("/")[2]
        url = spec.pop("url", f"https://{host}/articles/{slug}")
        row = {
            "id": item_id, "publisher": next(s["publisher"] for s in SOURCES if s["name"] == source),
            "url": url, "canonical_url": url, "author": None,
            "published": store.iso(published), "updated": None, "summary_html": None,
            "text": spec["summary"], "nct_ids": spec.pop("nct_ids", []), "meta": {},
            "first_seen_at": store.iso(published + timedelta(hours=1)),
            "fetched_at": store.iso(published + timedelta(hours=1)),
            "content_hash": hashlib.sha256((title + spec["summary"]).encode()).hexdigest()[:16],
            "scoring_version": None if spec.get("evidence_stage") is None else "test-1",
            "scored_at": None if spec.get("evidence_stage") is None else store.iso(published + timedelta(hours=2)),
            **spec,
        }
        by_source.setdefault(source, []).append(row)
    for src in SOURCES:
        rows = by_source.get(src["name"], [])
        failing = src["name"] == "Preprint Server: dermatology"
        store.save_harvest(
            db, src["name"],
            source_changes={
                "last_status": "failed" if failing else "ok",
                "last_checked_at": store.iso(now - timedelta(hours=1)),
                "last_success_at": store.iso(now - timedelta(days=3 if failing else 0, hours=1)),
                "next_check_at": store.iso(now + timedelta(hours=2)),
                "error_count": 3 if failing else 0,
                "last_error": "HTTP 503 from preprints.example.org; retrying with backoff" if failing else None,
                "last_http_status": 503 if failing else 200,
            },
            new_items=rows,
            fetch={"started_at": store.iso(now - timedelta(hours=1)), "elapsed": 0.4,
                   "status": "failed" if failing else "ok", "http_status": 503 if failing else 200,
                   "new_items": len(rows), "error": "HTTP 503" if failing else None},
        )
    if demo:
        db["demo_info"].insert({"id": 1, "note": "Sample data for tests: every item is invented.",
                                "created_at": store.iso(now)}, pk="id")
    db.close()
    return path


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "site.db"
    print(build_site_db(target, demo="--demo" in sys.argv[2:]))
