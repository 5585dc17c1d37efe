"""What the item and study pages read: an item's checked citations and its study, a study's paper, trial and tellings.

No hooks: pages.py hands these to the row templates (row-hypewatch-items.html, row-hypewatch-studies.html).
Every query is keyed by an indexed column (citations_item, the works and studies primary keys,
study_items' primary key, items_study) and bounded, so a page costs the same at a million items.
JSON columns (works.authors, notices, trial, candidates; citations.claimed, flags, reasons) are
decoded here, and a malformed value reads as empty rather than breaking the page.
"""

from __future__ import annotations

import json
from typing import Any

from hypewatch.site.data import fetch_rows

__all__ = ["MAX_CITATIONS", "MAX_TELLINGS", "item_citations", "study_details", "decode_json", "work_links"]

#: The most citations an item page lists, and tellings a study page lists (newest kept when over).
MAX_CITATIONS = 200
MAX_TELLINGS = 500

#: A citation row without a verdict has not been looked up yet (docs/citations.md, `unchecked`).
NOT_CHECKED = "unchecked"

_WORK_COLUMNS = ("key, service, state, error, fetched_at, doi, pmid, pmcid, nct, title, authors, journal, journal_abbrev, "
                 "year, published, work_type, preprint, design, design_source, claim_strength, retraction, notices, "
                 "trial, url, candidates")
_WORK_JSON = {"authors": list, "notices": list, "trial": dict, "candidates": list, "pub_types": list}


def decode_json(value: Any, kind: type) -> Any:
    """A JSON column's value as ``kind`` (list or dict); anything else, malformed or missing, is an empty one."""
    if isinstance(value, kind):
        return value
    if isinstance(value, str) and value:
        try:
            parsed = json.loads(value)
        except ValueError:
            return kind()
        if isinstance(parsed, kind):
            return parsed
    return kind()


def _work(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if not row:
        return None
    work = dict(row)
    for column, kind in _WORK_JSON.items():
        if column in work:
            work[column] = decode_json(work[column], kind)
    work["authors"] = [str(a) for a in work.get("authors") or [] if isinstance(a, (str, int))]
    work["notices"] = [n for n in work.get("notices") or [] if isinstance(n, dict)]
    work["candidates"] = [c for c in work.get("candidates") or [] if isinstance(c, dict)]
    return work


def work_links(work: dict[str, Any] | None) -> dict[str, str | None]:
    """The identifiers a work page can be opened by: doi, pmid, nct (the template makes them safe links)."""
    if not work:
        return {"doi": None, "pmid": None, "nct": None}
    key = str(work.get("key") or "")
    nct = work.get("nct") or (key[4:] if key.startswith("nct:") else None)
    return {"doi": work.get("doi"), "pmid": work.get("pmid"), "nct": nct}


def _matched(work: dict[str, Any] | None, verdict: Any) -> tuple[dict[str, Any] | None, bool]:
    """The work a citation was matched to, and whether it is only the closest match of a free-text search.

    A free-text citation's row is the search (key ``query:…``); when the search found nothing
    credible (not found, unverified, unchecked) no candidate is shown as if it were the cited work.
    """
    if work is None:
        return None, False
    if str(work.get("key") or "").startswith("query:") and not work.get("title"):
        if verdict in ("not_found", "unverified", "unchecked", None) or not work.get("candidates"):
            return None, False
        best = _work(work["candidates"][0])
        return best, True
    return work, False


async def item_citations(db, item_id: Any, study_id: Any = None) -> dict[str, Any]:
    """The item page's "Citations checked": its citations in position order with the work each resolved to,
    and its study (with this telling's gap and reason) when it has one.

    ``citations`` is None when the query was cut by the time limit (the page says so).
    """
    rows = await fetch_rows(db, """
        select c.id, c.position, c.kind, c.value, c.context, c.claimed, c.work_key, c.verdict, c.flags, c.reasons,
               c.design, c.on_topic, c.checked_at
        from citations c where c.item_id = :id order by c.position limit :limit""",
                            {"id": str(item_id), "limit": MAX_CITATIONS}, limit_ms=1000)
    works: dict[str, dict[str, Any]] = {}
    keys = sorted({r["work_key"] for r in rows or [] if r.get("work_key")})
    if keys:
        marks = ", ".join(f":k{i}" for i in range(len(keys)))
        found = await fetch_rows(db, f"select {_WORK_COLUMNS} from works where key in ({marks})",
                                 {f"k{i}": k for i, k in enumerate(keys)}, limit_ms=1000)
        works = {w["key"]: _work(w) for w in found or []}
    citations = None
    if rows is not None:
        citations = []
        for row in rows:
            citation = dict(row)
            citation["verdict"] = row.get("verdict") or NOT_CHECKED
            citation["claimed"] = decode_json(row.get("claimed"), dict)
            citation["flags"] = [str(f) for f in decode_json(row.get("flags"), list)]
            citation["reasons"] = [str(r) for r in decode_json(row.get("reasons"), list) if r not in (None, "")]
            citation["work"], citation["closest_only"] = _matched(works.get(row.get("work_key") or ""), row.get("verdict"))
            citation["links"] = work_links(citation["work"])
            citations.append(citation)
    study = None
    if study_id:
        found = await fetch_rows(db, """
            select s.id, s.title, s.design, s.claim_strength, s.retraction, s.tellings, s.worst_gap,
                   si.gap, si.gap_reason, si.link, si.link_reason, si.role
            from studies s left join study_items si on si.study_id = s.id and si.item_id = :item
            where s.id = :study""", {"study": str(study_id), "item": str(item_id)}, limit_ms=1000)
        study = found[0] if found else None
    return {"citations": citations, "study": study}


async def study_details(db, study: dict[str, Any]) -> dict[str, Any]:
    """The study page's parts: the paper (a work), the trial record (a work), the paper's own item on the
    site, and every telling in time order with its badges, publisher kind, gap and reason."""
    keys = [k for k in (study.get("paper_key"), study.get("trial_key")) if k]
    works: dict[str, dict[str, Any]] = {}
    if keys:
        found = await fetch_rows(db, f"select {_WORK_COLUMNS} from works where key in (:a, :b)",
                                 {"a": keys[0], "b": keys[-1]}, limit_ms=1000)
        works = {w["key"]: _work(w) for w in found or []}
    paper = works.get(study.get("paper_key") or "")
    trial = works.get(study.get("trial_key") or "")
    # the newest MAX_TELLINGS, shown oldest first: the order the study reached readers
    tellings = await fetch_rows(db, """
        select * from (
          select si.item_id, si.link, si.link_reason, si.role, si.published as told, si.evidence_stage,
                 si.claim_strength, si.hype, si.gap, si.gap_reason,
                 i.title, i.source, i.publisher, i.url, coalesce(i.published, i.first_seen_at) as published,
                 i.citation_check
          from study_items si left join items i on i.id = si.item_id
          where si.study_id = :id
          order by coalesce(si.published, i.published, i.first_seen_at) desc limit :limit)
        order by coalesce(told, published), item_id""", {"id": str(study["id"]), "limit": MAX_TELLINGS}, limit_ms=1000)
    paper_item = None
    if study.get("paper_item"):
        found = await fetch_rows(db, "select id, title, source, publisher from items where id = :id",
                                 {"id": str(study["paper_item"])}, limit_ms=1000)
        paper_item = found[0] if found else None
    return {
        "paper": paper, "paper_links": work_links(paper),
        "trial": trial, "trial_links": work_links(trial), "trial_record": (trial or {}).get("trial") or {},
        "paper_item": paper_item, "tellings": tellings,
    }
