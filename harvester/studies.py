"""Studies: items that tell the same study, grouped, each telling set beside its paper (pure).

Items are linked by the strongest evidence there is, in order: a shared identifier (the item's
own DOI, PMID or trial id, or for a news story, release, blog, clinic page or forum post the
DOI/PMID it reports; DOI and PMID of one work unify through the cached works rows, and a trial
id joins the paper whose record names it); else the journal, first author and year the item
names; else a close title and shared named entities within a time window. Thresholds and word
lists are data (``studies.toml``) and lean towards leaving an item out: two studies told as one
would put one study's gaps on another's paper, which is worse than a missed telling.

Each telling's gap compares its evidence stage and claim strength with the paper's, on the
orders of ``scoring/labels.toml``.
"""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from scoring import labels

from .gaps import telling_gap
from .studywords import as_list as _as_list
from .studywords import content_words as _content_words
from .studywords import day as _day
from .studywords import family as _family
from .studywords import Item as _Item
from .studywords import jaccard as _jaccard
from .studywords import norm_doi as _norm_doi
from .studywords import norm_journal as _norm_journal
from .studywords import norm_key as _norm_key
from .studywords import norm_nct as _norm_nct
from .studywords import norm_pmid as _norm_pmid
from .studywords import Profile as _Profile
from .studywords import profile as _profile
from .studywords import read_item as _item
from .studywords import Settings, settings

__all__ = ["Study", "Telling", "group", "gap", "settings", "NON_JOURNAL", "PAPER_KINDS", "LINKS"]

log = logging.getLogger(__name__)


#: Publisher kinds whose items tell a study rather than publish it.
NON_JOURNAL = frozenset({"press", "news", "blog", "clinic", "company", "forum"})
#: Publisher kinds whose items are the paper itself.
PAPER_KINDS = ("journal", "preprint")
#: Link codes, strongest first: how a telling was linked to its study.
LINKS = ("doi", "pmid", "nct", "journal_author_year", "title_entities")

@dataclass
class Telling:
    item_id: str
    link: str                    # a LINKS code
    link_reason: str             # a plain sentence: how it was linked
    role: str | None             # the item's publisher kind
    published: str | None
    evidence_stage: str | None
    claim_strength: str | None
    hype: str | None
    gap: str | None = None       # a coverage_gap code; None for the paper's own item
    gap_reason: str | None = None


@dataclass
class Study:
    id: str
    title: str | None
    paper_key: str | None        # "doi:…" or "pmid:…"
    trial_key: str | None        # "nct:…"
    paper_item: str | None       # the paper's own item, when harvested
    design: str | None           # the paper's evidence stage
    claim_strength: str | None   # the paper's claim strength
    retraction: str | None
    first_seen: str | None
    last_seen: str | None
    tellings: list[Telling] = field(default_factory=list)
    worst_gap: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The study as plain data (what ``db.studies.save_studies`` takes)."""
        return asdict(self)


# -- union-find with a conflict guard ---------------------------------------------------------


class _Groups:
    """Union-find over item nodes ("item:…") and identifier nodes ("doi:…", "pmid:…", "nct:…").

    Word-based links (journal/author/year, title/entities) never join two groups that each
    already hold an identifier: had they been one study, the identifiers would have joined them.
    """

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.keys: dict[str, set[str]] = {}

    def add(self, node: str) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.keys[node] = set() if node.startswith("item:") else {node}

    def find(self, node: str) -> str:
        self.add(node)
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str, *, guard: bool = False) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if guard and self.keys[ra] and self.keys[rb]:
            return False
        if rb < ra:  # deterministic roots
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.keys[ra] |= self.keys.pop(rb)
        return True


# -- grouping ---------------------------------------------------------------------------------


@dataclass
class _Link:
    code: str
    reason: str


def _work_keys(work: Mapping[str, Any]) -> list[str]:
    keys = []
    for kind, norm in (("doi", _norm_doi), ("pmid", _norm_pmid), ("nct", _norm_nct)):
        value = norm(work.get(kind))
        if value:
            keys.append(f"{kind}:{value}")
    return keys


def _resolved(work: Mapping[str, Any] | None) -> bool:
    if not work:
        return False
    state = work.get("state")
    return state == "found" or (state is None and bool(work.get("title")))


def _norm_works(works: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Works by every key they are known under (a row keyed "doi:…" that carries a PMID is also "pmid:…")."""
    out: dict[str, dict[str, Any]] = {}
    for key, row in works.items():
        if not isinstance(row, Mapping):
            continue
        norm = _norm_key(key)
        if norm is None:
            continue
        row = dict(row)
        row["authors"] = _as_list(row.get("authors"))
        out.setdefault(norm, row)
    for key, row in list(out.items()):
        if not _resolved(row):
            continue
        for alias in _work_keys(row):
            if alias.startswith("nct:") and not key.startswith("nct:"):
                continue  # a paper naming its trial is a link, not the trial's own record
            out.setdefault(alias, row)
    return out


def _main_reference(item: _Item, works: Mapping[str, dict[str, Any]], cfg: Settings) -> str | None:
    """The work a non-journal item reports: its first DOI (else PMID) when it cites few works."""
    first = f"doi:{item.doi}" if item.doi else (f"pmid:{item.pmid}" if item.pmid else None)
    paper_cites = [k for k in item.cites if not k.startswith("nct:")]
    if first is None:
        first = paper_cites[0] if paper_cites else None
    if first is None:
        return None
    distinct: set[str] = set()
    for key in dict.fromkeys([first, *paper_cites]):
        work = works.get(key)
        aliases = sorted(a for a in _work_keys(work) if not a.startswith("nct:")) if work else []
        distinct.add(aliases[0] if aliases else key)
    if len(distinct) <= cfg.max_works:
        return first
    work = works.get(first)
    if work and work.get("title"):
        sim = _jaccard(_content_words(item.title, cfg.title_stopwords),
                       _content_words(str(work["title"]), cfg.title_stopwords))
        if sim >= cfg.reference_title_similarity:
            return first
    return None


def _identifier_links(item: _Item, works: Mapping[str, dict[str, Any]], cfg: Settings) -> list[tuple[str, _Link]]:
    """The identifier nodes an item joins, each with how."""
    links: list[tuple[str, _Link]] = []
    kind = item.publisher or ""
    if kind in NON_JOURNAL:
        ref = _main_reference(item, works, cfg)
        if ref:
            label = "DOI" if ref.startswith("doi:") else "PMID"
            links.append((ref, _Link(ref.split(":")[0], f"It reports the paper by its {label} {ref.split(':', 1)[1]}.")))
    else:
        if item.doi:
            links.append((f"doi:{item.doi}", _Link("doi", f"Its own DOI {item.doi} is the paper's.")))
        if item.pmid:
            links.append((f"pmid:{item.pmid}", _Link("pmid", f"Its own PMID {item.pmid} is the paper's.")))
    if len(item.ncts) == 1:  # several trial ids: a review or a list, not one study's telling
        nct = item.ncts[0]
        own = "Its own trial record" if kind == "registry" else "It names the trial"
        links.append((f"nct:{nct}", _Link("nct", f"{own} {nct}.")))
    return links


def _overlap_phrase(shared: set[str]) -> str:
    names = sorted(s.split(":", 1)[1] for s in shared)
    return ", ".join(names[:4])


def group(items: Sequence[Mapping[str, Any]], works: Mapping[str, Mapping[str, Any]] = {}) -> list[Study]:
    """The studies ``items`` tell, each with every telling in time order and its gap to the paper.

    ``items`` carry the items-table columns plus ``cites`` (the work keys found in their text);
    ``works`` maps work keys to cached work rows. Only groups of two or more tellings, or one
    telling with a resolved paper, are studies. Bad rows are skipped, never fatal.
    """
    cfg = settings()
    wk = _norm_works(works)
    parsed = [p for p in (_item(raw) for raw in items if isinstance(raw, Mapping)) if p]
    by_id: dict[str, _Item] = {}
    for p in parsed:
        by_id.setdefault(p.id, p)
    ordered = sorted(by_id.values(), key=lambda i: (i.published or "9999", i.id))

    groups = _Groups()
    links: dict[str, list[tuple[str, _Link]]] = {}
    for item in ordered:
        node = f"item:{item.id}"
        groups.add(node)
        links[item.id] = _identifier_links(item, wk, cfg)
        for key, _ in links[item.id]:
            groups.union(node, key)
    # One work under several keys (DOI and PMID), and a paper whose record names its trial.
    for key, row in sorted(wk.items()):
        if _resolved(row) and key in groups.parent:
            for alias in _work_keys(row):
                groups.union(key, alias)

    word_link: dict[str, _Link] = {}

    # Journal, first author and year named in the text, against a paper's record.
    profiles = {i.id: _item_profile(i, cfg) for i in ordered}
    papers = _paper_records(ordered, groups, wk)
    for item in ordered:
        if links[item.id]:
            continue
        prof = profiles[item.id]
        for root_key, rec in papers:
            if not _within(item.day, rec["day"], cfg.window_days, allow_unknown=True):
                continue
            if rec["journal"] & prof.journals and rec["first_author"] in prof.authors and (
                    rec["year"] in prof.years or (item.day and item.day.year == rec["year"])):
                if groups.union(f"item:{item.id}", root_key, guard=True):
                    word_link[item.id] = _Link("journal_author_year", (
                        f"It names the paper's journal ({rec['journal_name']}), first author "
                        f"({rec['first_author'].title()}) and year ({rec['year']})."))
                    break
    # Two keyless items naming the same journal, first author and year.
    keyless = [i for i in ordered if not links[i.id] and i.id not in word_link]
    for a_index, a in enumerate(keyless):
        pa = profiles[a.id]
        if not (pa.journals and pa.authors):
            continue
        for b in keyless[a_index + 1:]:
            if a.day and b.day and (b.day - a.day).days > cfg.window_days:
                break  # ordered by date: every later one is further away
            pb = profiles[b.id]
            if not _within(a.day, b.day, cfg.window_days):
                continue
            journals, authors = pa.journals & pb.journals, pa.authors & pb.authors
            years = pa.years & pb.years
            if journals and authors and years and groups.union(f"item:{a.id}", f"item:{b.id}", guard=True):
                reason = (f"It names the same journal ({sorted(journals)[0].title()}), author "
                          f"({sorted(authors)[0].title()}) and year ({max(years)}) as another telling.")
                for x in (a, b):
                    word_link.setdefault(x.id, _Link("journal_author_year", reason))

    # Close title and shared named entities within the time window.
    # Targets in date order, so each item looks only at those within the window (undated ones never match).
    targets = sorted((t for t in _title_targets(ordered, profiles, papers, wk, cfg) if t[2] is not None),
                     key=lambda t: (t[2], t[0]))
    target_days = [t[2] for t in targets]
    window = timedelta(days=cfg.window_days)
    # Every rule needs at least one shared specific entity: only targets sharing one are compared
    # (all pairs of 5,000 items of one window took 15 s; most share nothing).
    by_entity: dict[str, list[int]] = {}
    for index, target in enumerate(targets):
        for entity in target[1].specific:
            by_entity.setdefault(entity, []).append(index)
    for item in ordered:
        if links[item.id] or item.id in word_link or item.day is None:
            continue
        prof = profiles[item.id]
        matches: list[tuple[int, float, str, str]] = []
        start, stop = bisect_left(target_days, item.day - window), bisect_right(target_days, item.day + window)
        if min(cfg.min_entities, cfg.min_entities_with_close_title, cfg.min_entities_any_title) < 1:
            candidates = list(range(start, stop))  # a rule that needs no shared entity: compare them all
        else:
            candidates = sorted({i for entity in prof.specific for i in by_entity.get(entity, ()) if start <= i < stop})
        for target_node, tprof, tday, tlabel in (targets[i] for i in candidates):
            if target_node == f"item:{item.id}":
                continue
            ok, shared, sim = _entities_match(prof, tprof, cfg)
            if ok:
                matches.append((len(shared), sim, target_node, f"{tlabel}: shares {_overlap_phrase(shared)}"
                                f" and its title is {int(round(sim * 100))}% alike"))
        # Strongest match first; the guard keeps a keyless item from joining two papers' groups.
        for _, _, target_node, label in sorted(matches, key=lambda m: (-m[0], -m[1], m[2])):
            if groups.find(target_node) == groups.find(f"item:{item.id}"):
                continue
            if groups.union(f"item:{item.id}", target_node, guard=True):
                word_link.setdefault(item.id, _Link("title_entities", f"Close to {label}, within {cfg.window_days} days."))
                other = target_node[5:] if target_node.startswith("item:") else None
                if other and not links.get(other) and other not in word_link:
                    word_link[other] = _Link("title_entities", f"Close to another telling ({item.id}) by title and named entities.")

    return _build(ordered, groups, links, word_link, wk)


def _within(a: date | None, b: date | None, days: int, *, allow_unknown: bool = False) -> bool:
    if a is None or b is None:
        return allow_unknown
    return abs((a - b).days) <= days


def _item_profile(item: _Item, cfg: Settings) -> _Profile:
    authors: list[str] = []
    if item.publisher in PAPER_KINDS and item.author:
        authors = [item.author.split(",")[0].split(";")[0]]
    return _profile(item.title, item.text, cfg, authors=authors,
                    journal=item.journal if item.publisher in PAPER_KINDS else None)


def _paper_records(ordered: Sequence[_Item], groups: _Groups, wk: Mapping[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Per group holding a resolved paper: its journal names, first author, year and date."""
    seen: set[str] = set()
    out: list[tuple[str, dict[str, Any]]] = []
    for key in sorted(k for k in groups.parent if not k.startswith("item:") and not k.startswith("nct:")):
        work = wk.get(key)
        if not _resolved(work) or id(work) in seen:
            continue
        seen.add(id(work))
        authors = work.get("authors") or []
        year = work.get("year")
        journal_names = {_norm_journal(work.get("journal")), _norm_journal(work.get("journal_abbrev"))} - {""}
        if not authors or not isinstance(year, int) or not journal_names:
            continue
        out.append((key, {
            "journal": journal_names, "journal_name": work.get("journal") or work.get("journal_abbrev"),
            "first_author": _family(authors[0]), "year": year, "day": _day(work.get("published")),
        }))
    return out


def _title_targets(ordered: Sequence[_Item], profiles: Mapping[str, _Profile], papers: Sequence[tuple[str, dict[str, Any]]],
                   wk: Mapping[str, dict[str, Any]], cfg: Settings) -> list[tuple[str, _Profile, date | None, str]]:
    """What a keyless item may be close to: every item, and every resolved paper's record."""
    targets = [(f"item:{i.id}", profiles[i.id], i.day, f"'{i.title[:80]}'") for i in ordered]
    for key, rec in papers:
        work = wk[key]
        prof = _profile(str(work.get("title") or ""), str(work.get("abstract") or ""), cfg,
                        authors=work.get("authors") or [], journal=work.get("journal"), year=rec["year"])
        targets.append((key, prof, rec["day"], f"the paper '{str(work.get('title'))[:80]}'"))
    return targets


def _entities_match(a: _Profile, b: _Profile, cfg: Settings) -> tuple[bool, set[str], float]:
    """Whether two profiles tell one study: shared specific entities and a close enough title.

    Two texts naming different compounds are different studies whatever else they share.
    """
    if a.compounds and b.compounds and not (a.compounds & b.compounds):
        return False, set(), 0.0
    shared = a.specific & b.specific
    sim = _jaccard(a.words, b.words)
    if len(shared) >= cfg.min_entities and sim >= cfg.min_title_similarity_with_entities:
        return True, shared, sim
    if len(shared) >= cfg.min_entities_with_close_title and sim >= cfg.min_title_similarity:
        return True, shared, sim
    if len(shared) >= cfg.min_entities_any_title and any(s.startswith("c:") for s in shared):
        return True, shared, sim
    return False, shared, sim


# -- studies from groups ----------------------------------------------------------------------


def _study_id(key: str) -> str:
    return "study-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _build(ordered: Sequence[_Item], groups: _Groups, links: Mapping[str, list[tuple[str, _Link]]],
           word_link: Mapping[str, _Link], wk: Mapping[str, dict[str, Any]]) -> list[Study]:
    members: dict[str, list[_Item]] = {}
    for item in ordered:
        members.setdefault(groups.find(f"item:{item.id}"), []).append(item)
    studies: list[Study] = []
    for root, group_items in members.items():
        keys = groups.keys.get(root, set())
        dois = sorted(k for k in keys if k.startswith("doi:"))
        pmids = sorted(k for k in keys if k.startswith("pmid:"))
        ncts = sorted(k for k in keys if k.startswith("nct:"))
        paper_key = (dois or pmids or [None])[0]
        work = next((wk[k] for k in [*dois, *pmids] if _resolved(wk.get(k))), None)
        if len(group_items) < 2 and work is None:
            continue
        strongest = paper_key or (ncts[0] if ncts else f"item:{group_items[0].id}")
        paper_item = _paper_item(group_items, set(dois) | set(pmids))
        design = (paper_item.evidence_stage if paper_item and paper_item.evidence_stage else None) or (
            work.get("design") if work else None)
        claim = (paper_item.claim_strength if paper_item and paper_item.claim_strength else None) or (
            work.get("claim_strength") if work else None)
        source = "abstract" if paper_item else "record"
        tellings = []
        for item in group_items:
            link = _telling_link(item, keys, links, word_link)
            telling = Telling(item_id=item.id, link=link.code, link_reason=link.reason, role=item.publisher,
                              published=item.published, evidence_stage=item.evidence_stage,
                              claim_strength=item.claim_strength, hype=item.hype)
            if paper_item is None or item.id != paper_item.id:
                telling.gap, telling.gap_reason = gap(telling, design, claim, paper_source=source)
            tellings.append(telling)
        days = [t.published for t in tellings if t.published]
        title = (work.get("title") if work else None) or (paper_item.title if paper_item else None) or group_items[0].title
        gaps = [t.gap for t in tellings if t.gap]
        order = labels.codes("coverage_gap")
        studies.append(Study(
            id=_study_id(strongest), title=title or None, paper_key=paper_key, trial_key=ncts[0] if ncts else None,
            paper_item=paper_item.id if paper_item else None, design=design, claim_strength=claim,
            retraction=work.get("retraction") if work else None,
            first_seen=min(days) if days else None, last_seen=max(days) if days else None,
            tellings=tellings, worst_gap=max(gaps, key=order.index) if gaps else None,
        ))
    studies.sort(key=lambda s: (s.first_seen or "", s.id))
    log.info("grouped items=%d studies=%d", len(ordered), len(studies))
    return studies


def _paper_item(group_items: Sequence[_Item], paper_keys: set[str]) -> _Item | None:
    for kind in PAPER_KINDS:
        for item in group_items:
            own = {f"doi:{item.doi}" if item.doi else "", f"pmid:{item.pmid}" if item.pmid else ""}
            if item.publisher == kind and own & paper_keys:
                return item
    if not paper_keys:
        return next((i for i in group_items if i.publisher == "journal"), None)
    return None


def _telling_link(item: _Item, keys: set[str], links: Mapping[str, list[tuple[str, _Link]]],
                  word_link: Mapping[str, _Link]) -> _Link:
    own = links.get(item.id) or []
    for code in LINKS[:3]:
        for key, link in own:
            if link.code == code:
                reason = link.reason
                if code == "nct" and any(k.startswith(("doi:", "pmid:")) for k in keys):
                    reason = reason.rstrip(".") + ", which the paper's record names."
                elif code == "pmid" and any(k.startswith("doi:") for k in keys) and not any(
                        k2.startswith("doi:") for k2, _ in own):
                    doi = sorted(k for k in keys if k.startswith("doi:"))[0][4:]
                    reason = reason.rstrip(".") + f" (the same work as DOI {doi})."
                return _Link(code, reason)
    return word_link.get(item.id) or _Link("title_entities", "Grouped with the study's other tellings.")


def gap(telling: Telling, stage: str | None, claim: str | None, *, paper_source: str = "abstract") -> tuple[str, str]:
    """The coverage_gap code of a telling against its paper's stage and claim, with a plain reason.

    A telling with no study presented (stage ``none``) or no stage at all is never "stronger"
    in stage; a paper whose stage is unknown or ``none`` (not judged a study) gives ``unknown``.
    """
    return telling_gap(telling.role, telling.evidence_stage, telling.claim_strength, telling.hype, stage, claim,
                       paper_source=paper_source)
