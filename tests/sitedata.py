"""A small realistic database for the site tests: every label value (claim strength too), reasons, one hostile item,
citations with every flagged verdict and two studies told several ways.

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


# -- citations checked and studies followed (m011), as the citing job and the study grouping write them ------

def item_id(title: str) -> str:
    """The id build_site_db gives an item without an explicit one."""
    return hashlib.sha256(title.encode()).hexdigest()[:16]


CLINIC_TITLE = "Stem cell hair restoration: guaranteed regrowth"
RCT_TITLE = "Oral minoxidil versus topical minoxidil: a randomized, double-blind trial"
MOUSE_RELEASE_TITLE = "Cerium nanoparticles regrow hair in bald mice, researchers report"
MOUSE_NEWS_TITLE = "Scientists CURE baldness in mice — human trials next year"
PREPRINT_TITLE = "Ritlecitinib in alopecia areata: open-label extension to 96 weeks"
CERIUM_STUDY = "study-cerium-0001"
RITLECITINIB_STUDY = "study-ritle-0002"
HOSTILE_REASON = f"<script>alert('{XSS_MARK}-reason')</script> the DOI <img src=x onerror=alert('{XSS_MARK}-r')>"


def _work(key: str, **fields: Any) -> dict[str, Any]:
    row = {"key": key, "service": "crossref", "state": "found", "error": None, "errors": 0,
           "fetched_at": "2026-01-05T10:00:00Z", "next_check_at": "2026-04-05T10:00:00Z", "doi": None, "pmid": None,
           "pmcid": None, "nct": None, "title": None, "authors": [], "journal": None, "journal_abbrev": None,
           "year": None, "published": None, "work_type": "journal-article", "preprint": 0, "abstract": None,
           "pub_types": [], "mesh": [], "keywords": [], "design": None, "design_source": None, "claim_strength": None,
           "retraction": None, "notices": [], "trial": None, "url": None, "candidates": []}
    row.update(fields)
    return row


WORKS = [
    _work("doi:10.5555/sctm.2018.0101", doi="10.5555/sctm.2018.0101", pmid="29512345",
          title="Autologous adipose-derived stem cells for alopecia: a case series of four patients",
          authors=["Tawfik", "Osman"], journal="Stem Cells Translational Medicine", journal_abbrev="Stem Cells Transl Med",
          year=2018, pub_types=["Journal Article", "Case Reports"], design="human_anecdote",
          design_source="publication types", service="pubmed"),
    _work("doi:10.5555/bone.2019.0042", doi="10.5555/bone.2019.0042",
          title="Exosomes from adipose stem cells promote bone regeneration in rats", authors=["Zhang", "Li", "Wang"],
          journal="Journal of Bone and Mineral Research", year=2019, design="animal",
          design_source="scorer on the abstract", keywords=["Bone regeneration", "Osteogenesis"]),
    _work("query:5b1d6c0e0f4a8b2c9d7e1f3a5b6c7d8e9f0a1b2c", service="crossref", state="found", candidates=[]),
    _work("doi:10.5555/retr.2017.0003", doi="10.5555/retr.2017.0003",
          title="Platelet-rich plasma regrows hair in 97% of patients", authors=["Rossi"],
          journal="International Journal of Trichology Research", year=2017, retraction="retracted",
          notices=[{"kind": "retraction", "doi": "10.5555/retr.2021.0001", "date": "2021-03-02",
                    "source": "retraction-watch", "label": "Retraction"}]),
    _work("pmid:39912345", service="pubmed", pmid="39912345", doi="10.1000/jhs.2026.0142",
          title="Oral minoxidil versus topical minoxidil: a randomized, double-blind trial",
          authors=["Garcia", "Novak"], journal="Journal of Hair Science", journal_abbrev="J Hair Sci", year=2026,
          pub_types=["Journal Article", "Randomized Controlled Trial"], design="human_rct",
          design_source="publication types", mesh=["Alopecia", "Minoxidil"]),
    _work(f"doi:10.5555/xss.{XSS_MARK}", doi=f"10.5555/xss.{XSS_MARK}",
          title=f"<script>alert('{XSS_MARK}-work')</script>Hair <b>paper</b>", authors=[f"<i>{XSS_MARK}</i>"],
          journal="J <svg onload=alert(1)>", year=2020),
    _work("doi:10.1000/nano.2026.0007", doi="10.1000/nano.2026.0007", pmid="39800007",
          title="Cerium oxide nanoparticles restore hair growth in a mouse model of alopecia",
          authors=["Okafor", "Lindqvist", "Mehta"], journal="Nano Today", year=2026, design="animal",
          claim_strength="conditional_causal", design_source="scorer on the abstract",
          notices=[{"kind": "correction", "doi": "10.1000/nano.2026.0107", "date": "2026-02-01", "source": "crossref",
                    "label": "Correction: figure 2"}], retraction="corrected"),
    _work("doi:10.1000/pre.2026.0420", doi="10.1000/pre.2026.0420", work_type="posted-content", preprint=1,
          title="Ritlecitinib in alopecia areata: open-label extension to 96 weeks", authors=["Kim", "Ahmed"],
          journal="medRxiv", year=2026, design="human_uncontrolled", claim_strength="correlational",
          design_source="scorer on the abstract"),
    _work("nct:NCT04006457", service="clinicaltrials", nct="NCT04006457", work_type="trial",
          title="Long-term ritlecitinib in alopecia areata", design="human_uncontrolled",
          design_source="trial record",
          trial={"phase": ["PHASE3"], "status": "COMPLETED", "enrollment": 1052, "has_results": True,
                 "conditions": ["Alopecia Areata"], "interventions": ["Ritlecitinib"]}),
]


def _citation(item: str, position: int, kind: str, value: str, context: str, verdict: str, reasons: list[str],
              work_key: str | None, claimed: dict[str, Any] | None = None, design: str | None = None,
              on_topic: int | None = 1, flags: list[str] | None = None) -> dict[str, Any]:
    return {"id": hashlib.sha256(f"{item}|{position}|{value}".encode()).hexdigest()[:16], "item_id": item,
            "position": position, "kind": kind, "value": value, "context": context, "claimed": claimed or {},
            "work_key": work_key, "verdict": verdict, "flags": flags if flags is not None else
            ([verdict] if verdict not in ("ok", "unverified", "unchecked") else []),
            "reasons": reasons, "design": design, "on_topic": on_topic, "checked_at": None, "check_version": "check-1"}


def add_citations_and_studies(db, now: datetime) -> None:
    """Citations with every verdict a reader is warned about, and two studies told several ways (one hostile)."""
    clinic, rct, hostile = item_id(CLINIC_TITLE), item_id(RCT_TITLE), HOSTILE_ID
    release, news, preprint = item_id(MOUSE_RELEASE_TITLE), item_id(MOUSE_NEWS_TITLE), item_id(PREPRINT_TITLE)
    stamp = store.iso(now - timedelta(hours=2))
    citations = [
        _citation(clinic, 0, "doi", "10.5555/sctm.2018.0101",
                  "A systematic review and meta-analysis of randomized controlled trials (Tawfik MA et al. Stem Cells "
                  "Transl Med. 2018, doi:10.5555/sctm.2018.0101) confirms regrowth.", "mismatch",
                  ["The text calls it a meta-analysis of randomized controlled trials; PubMed lists it as Case Reports."],
                  "doi:10.5555/sctm.2018.0101", claimed={"authors": ["Tawfik"], "journal": "Stem Cells Transl Med",
                                                         "year": 2018, "design": "meta_analysis",
                                                         "design_words": "meta-analysis of randomized controlled trials"},
                  design="human_anecdote"),
        _citation(clinic, 1, "doi", "10.5555/bone.2019.0042",
                  "Exosomes are proven to regrow hair (doi:10.5555/bone.2019.0042).", "off_topic",
                  ["Cited for hair growth; its title, abstract and keywords are about bone regeneration and never "
                   "mention hair, alopecia or exosomes for hair."], "doi:10.5555/bone.2019.0042", design="animal",
                  on_topic=0),
        _citation(clinic, 2, "citation", "Smith J, Lee K. Stem cell therapy for hair loss. J Cosmet Dermatol. 2020;19:123-9.",
                  "Smith J, Lee K. Stem cell therapy for hair loss. J Cosmet Dermatol. 2020;19:123-9.", "not_found",
                  ["No credible match in Crossref or PubMed for a citation naming Smith and Lee, J Cosmet Dermatol, "
                   "2020, 'Stem cell therapy for hair loss' (possibly invented)."],
                  "query:5b1d6c0e0f4a8b2c9d7e1f3a5b6c7d8e9f0a1b2c",
                  claimed={"authors": ["Smith", "Lee"], "journal": "J Cosmet Dermatol", "year": 2020}),
        _citation(clinic, 3, "doi", "10.5555/retr.2017.0003", "97% of patients regrew hair (doi:10.5555/retr.2017.0003).",
                  "retracted", ["Crossref carries a retraction notice for 10.5555/retr.2017.0003 (2021-03-02)."],
                  "doi:10.5555/retr.2017.0003"),
        _citation(rct, 0, "pmid", "39912345", "Registered and published as PMID 39912345.", "ok",
                  ["PubMed 39912345: Garcia et al., Journal of Hair Science, 2026; a Randomized Controlled Trial."],
                  "pmid:39912345", design="human_rct"),
        _citation(rct, 1, "citation", "a 2019 study", "A 2019 study found similar results.", "unverified",
                  ["Too vague to look up: no authors, journal or title."], None),
        _citation(hostile, 0, "doi", f"10.5555/xss.{XSS_MARK}", HOSTILE_SUMMARY, "not_found", [HOSTILE_REASON],
                  f"doi:10.5555/xss.{XSS_MARK}"),
    ]
    for c in citations:
        c["checked_at"] = stamp
    db["works"].insert_all(WORKS, pk="key", replace=True)
    db["citations"].insert_all(citations, pk="id", replace=True)
    published = {r["id"]: r["published"] for r in db.query(
        "select id, published from items where id in (?, ?, ?, ?, ?)", [release, news, preprint, hostile, clinic])}
    tellings = [
        {"study_id": CERIUM_STUDY, "item_id": release, "link": "shared_id", "link_reason": "cites doi:10.1000/nano.2026.0007",
         "role": "release", "evidence_stage": "animal", "claim_strength": "conditional_causal", "hype": "medium",
         "gap": "none", "gap_reason": "No more than the paper: an animal study, a conditional claim."},
        {"study_id": CERIUM_STUDY, "item_id": news, "link": "close_title", "link_reason": "close title and names: cerium, mice, hair",
         "role": "news", "evidence_stage": "animal", "claim_strength": "direct_causal", "hype": "high",
         "gap": "stage_claim", "gap_reason": "A 'cure' headline on a mouse paper: 'reverses baldness' where the "
                                             "abstract says 'may restore'."},
        {"study_id": CERIUM_STUDY, "item_id": hostile, "link": "shared_id", "link_reason": HOSTILE_REASON,
         "role": "forum", "evidence_stage": "human_anecdote", "claim_strength": "direct_causal", "hype": "high",
         "gap": "claim", "gap_reason": HOSTILE_REASON},
        {"study_id": RITLECITINIB_STUDY, "item_id": preprint, "link": "shared_id", "link_reason": "the paper itself",
         "role": "paper", "evidence_stage": "human_uncontrolled", "claim_strength": "correlational", "hype": "low",
         "gap": "none", "gap_reason": "The paper itself."},
    ]
    for t in tellings:
        t["published"] = published.get(t["item_id"])
    db["study_items"].insert_all(tellings, pk=("study_id", "item_id"), replace=True)
    cerium_dates = sorted(published[i] for i in (release, news, hostile))
    db["studies"].insert_all([
        {"id": CERIUM_STUDY, "title": "Cerium oxide nanoparticles restore hair growth in a mouse model of alopecia",
         "paper_key": "doi:10.1000/nano.2026.0007", "trial_key": None, "paper_item": None, "design": "animal",
         "claim_strength": "conditional_causal", "retraction": "corrected", "first_seen": cerium_dates[0],
         "last_seen": cerium_dates[-1], "tellings": 3, "worst_gap": "stage_claim"},
        {"id": RITLECITINIB_STUDY, "title": PREPRINT_TITLE, "paper_key": "doi:10.1000/pre.2026.0420",
         "trial_key": "nct:NCT04006457", "paper_item": preprint, "design": "human_uncontrolled",
         "claim_strength": "correlational", "retraction": None, "first_seen": published[preprint],
         "last_seen": published[preprint], "tellings": 1, "worst_gap": "none"},
    ], pk="id", replace=True)
    for ident, changes in {
        clinic: {"citation_check": "retracted"}, rct: {"citation_check": "ok"},
        hostile: {"citation_check": "not_found", "study_id": CERIUM_STUDY, "coverage_gap": "claim"},
        release: {"study_id": CERIUM_STUDY, "coverage_gap": "none"},
        news: {"study_id": CERIUM_STUDY, "coverage_gap": "stage_claim"},
        preprint: {"study_id": RITLECITINIB_STUDY, "coverage_gap": "none"},
    }.items():
        db["items"].update(ident, changes)
    db.conn.commit()


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
        ident = spec.pop("id", None) or item_id(title)
        slug = hashlib.sha256(title.encode()).hexdigest()[:8]
        source = spec["source"]
        host = next(s["url"] for s in SOURCES if s["name"] == source).split("/")[2]
        url = spec.pop("url", f"https://{host}/articles/{slug}")
        row = {
            "id": ident, "publisher": next(s["publisher"] for s in SOURCES if s["name"] == source),
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
    if items is None:
        add_citations_and_studies(db, now)
    if demo:
        db["demo_info"].insert({"id": 1, "note": "Sample data for tests: every item is invented.",
                                "created_at": store.iso(now)}, pk="id")
    db.close()
    return path


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "site.db"
    print(build_site_db(target, demo="--demo" in sys.argv[2:]))
