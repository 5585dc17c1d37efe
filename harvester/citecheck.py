"""A verdict on one citation (found, the paper described, about hair, retracted), with reasons a reader can check.

Pure: a Reference and the Work the services told us of go in, a Verdict comes out. The rules are
docs/citations.md's table and lean one way on purpose: a false accusation (of an invented, a
mismatched or an off-topic citation) is worse than a miss, so every accusation needs the
service's explicit answer or two independent disagreements, and anything less is left alone.
Thresholds, word lists and the publication-type mapping are data (citecheck.toml).

It is long (about 600 lines) on purpose: the name, journal and title comparisons, the design,
topic and notice rules and the sentences that explain them are one judgement, tuned together on
one labelled set; split apart, each part's leniency would have to be read against the others.
"""

from __future__ import annotations

import difflib
import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from harvester.references import Reference
from harvester.works.model import Work
from scoring import labels

__all__ = ["CONFIG_PATH", "FLAGS", "Verdict", "candidate_work", "check", "specific", "work_design", "worst"]

log = logging.getLogger(__name__)

CONFIG_PATH = Path(__file__).with_name("citecheck.toml")
#: The four verdicts a reader is warned about.
FLAGS = ("not_found", "mismatch", "off_topic", "retracted")
#: Design sources strong enough to accuse a citation of overstating its design.
KNOWN_DESIGN = ("publication types", "trial record")


@dataclass(frozen=True)
class Verdict:
    code: str                   # a citation_check code (labels.toml)
    reasons: tuple[str, ...]    # plain sentences a reader can check
    flags: tuple[str, ...] = () # every problem code found (code is the worst)
    design: str | None = None   # evidence-stage code of the cited work, when known
    design_source: str | None = None  # "publication types" | "trial record" | "scorer on the abstract"
    on_topic: bool | None = None
    matched_key: str | None = None    # the work the citation was matched to (free text)


# -- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    year_tolerance: int
    title_agree: float
    title_disagree: float
    title_very_low: float
    full_title_words: int
    author_similarity: float
    min_abstract_chars: int
    item_hair_hits: int
    services: dict[str, str]
    unqueried: frozenset[str]
    pub_types: dict[str, str]
    trial_design: dict[str, str]
    hair: re.Pattern[str]
    other_field: re.Pattern[str]
    near: re.Pattern[str]
    journal_stop: frozenset[str]
    title_stop: frozenset[str]


def _words_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(f"(?:{t})" for t in terms) + ")", re.IGNORECASE)


@lru_cache(maxsize=None)
def _config(path: Path = CONFIG_PATH) -> _Config:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    t = data["thresholds"]
    return _Config(
        year_tolerance=int(t["year_tolerance"]), title_agree=float(t["title_agree"]),
        title_disagree=float(t["title_disagree"]), title_very_low=float(t["title_very_low"]),
        full_title_words=int(t["full_title_words"]), author_similarity=float(t["author_similarity"]),
        min_abstract_chars=int(t["min_abstract_chars"]), item_hair_hits=int(t["item_hair_hits"]),
        services=dict(data["services"]), unqueried=frozenset(data["registries"]["unqueried"]),
        pub_types={k.casefold(): v for k, v in data["pub_types"].items()},
        trial_design={k.upper(): v for k, v in data["trial_design"].items()},
        hair=_words_pattern(data["hair"]["terms"]),
        other_field=_words_pattern(data["title_only"]["other_field"]),
        near=_words_pattern(data["title_only"]["near"]),
        journal_stop=frozenset(data["words"]["journal_stop"]),
        title_stop=frozenset(data["words"]["title_stop"]),
    )


def _order() -> tuple[str, ...]:
    return labels.codes("citation_check")


def worst(codes: Iterable[str | None]) -> str | None:
    """The strongest problem among ``codes`` in labels.toml's citation_check order (last is worst);
    None when there is no known code. Unknown codes are ignored, never ranked."""
    order = _order()
    rank = {code: i for i, code in enumerate(order)}
    known = [c for c in codes if c in rank]
    return max(known, key=rank.__getitem__) if known else None


# -- text helpers ---------------------------------------------------------------------------

_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ł": "l", "Ł": "l", "đ": "d", "ı": "i"})


def _fold(text: str) -> str:
    """Lower case without accents, so "Müller" and "Muller", "Łukasz" and "Lukasz" compare equal."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", _fold(text))


def _clip(text: str | None, n: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# -- authors --------------------------------------------------------------------------------

_INITIALS = re.compile(r"^(?:[A-Z]{1,3}|[A-Z]\.(?:[A-Z]\.)*|[A-Z]\.?-[A-Z]\.?)$")


def _family(name: str) -> str:
    """The family name of an author as written ("Tawfik MA" -> "Tawfik", "M. A. Tawfik" -> "Tawfik")."""
    words = [w for w in re.split(r"[\s,]+", name.strip()) if w and w.casefold() not in ("et", "al", "al.", "and")]
    kept = [w for w in words if not _INITIALS.match(w)]
    return " ".join(kept or words)


def _skeleton(name: str) -> str:
    """Consonants only, doubled letters collapsed, q/c as k: transliterations agree ("Tawfik", "Tawfeek", "Tawfiq")."""
    s = re.sub(r"[aeiouyhw]", "", name.replace("q", "k").replace("c", "k").replace("ph", "f"))
    return re.sub(r"(.)\1+", r"\1", s)


def _same_author(a: str, b: str) -> bool:
    cfg = _config()
    fa, fb = "".join(_tokens(_family(a))), "".join(_tokens(_family(b)))
    if not fa or not fb:
        return False
    last_a, last_b = (_tokens(_family(a)) or [""])[-1], (_tokens(_family(b)) or [""])[-1]
    for x, y in ((fa, fb), (last_a, last_b)):
        if x == y or difflib.SequenceMatcher(None, x, y).ratio() >= cfg.author_similarity:
            return True
        sx, sy = _skeleton(x), _skeleton(y)
        if len(sx) >= 3 and sx == sy and x[0] == y[0]:
            return True
    return False


# -- journals -------------------------------------------------------------------------------


def _journal_words(name: str) -> list[str]:
    stop = _config().journal_stop
    return [w for w in _tokens(name) if w not in stop]


def _abbreviates(short: str, full: str) -> bool:
    """"cosmet" abbreviates "cosmetic", "jpn" abbreviates "japanese": same first letter, letters in order."""
    if short == full or full.startswith(short) or short.startswith(full):
        return True
    if short[0] != full[0]:
        return False
    it = iter(full)
    return all(ch in it for ch in short)


def _journals_agree(a: str, b: str) -> bool:
    ta, tb = _journal_words(a), _journal_words(b)
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    if len(ta) == len(tb) and all(_abbreviates(x, y) or _abbreviates(y, x) for x, y in zip(ta, tb)):
        return True
    for one, many in ((ta, tb), (tb, ta)):  # an acronym: "JAAD" for the Journal of the American Academy of Dermatology
        if len(one) == 1 and len(many) >= 3 and one[0] == "".join(w[0] for w in many):
            return True
    return False


def _journal_forms(work: Work) -> list[str]:
    forms = [j for j in (work.journal, work.journal_abbrev) if j]
    if work.journal:  # "Biochimica et biophysica acta. Molecular cell research": its main title too
        parts = re.split(r"[.:]\s+", work.journal)
        if len(parts) > 1:
            forms.append(parts[0])
    return forms


# -- titles ---------------------------------------------------------------------------------


def _title_stems(title: str) -> set[str]:
    stop = _config().title_stop
    return {w[:6] for w in _tokens(title) if w not in stop and (len(w) > 2 or w.isdigit())}


def _title_similarity(a: str, b: str) -> tuple[float, int]:
    """Token-set similarity (shared significant words over the shorter title's) and the claimed title's size."""
    sa, sb = _title_stems(a), _title_stems(b)
    if not sa or not sb:
        return 0.0, len(sa)
    return len(sa & sb) / min(len(sa), len(sb)), len(sa)


# -- comparing a claim with a work ----------------------------------------------------------


@dataclass
class _Comparison:
    agree: list[str]
    disagree: list[str]
    title_similarity: float | None = None
    title_far: bool = False  # a full claimed title very far from the work's

    @property
    def balance(self) -> int:
        return len(self.agree) - len(self.disagree)


def _is_preprint(work: Work) -> bool:
    return bool(work.preprint) or work.work_type == "posted-content"


def _compare(ref: Reference, work: Work) -> _Comparison:
    cfg = _config()
    claimed = ref.claimed
    cmp = _Comparison([], [])
    if claimed.authors and work.authors:
        first = claimed.authors[0]
        # The first author, or one of the next two (some texts name the senior author).
        (cmp.agree if any(_same_author(first, w) for w in work.authors[:3]) else cmp.disagree).append("first author")
    if claimed.journal and _journal_forms(work) and not _is_preprint(work):
        # A preprint later published in a journal is cited by that journal: no disagreement.
        agree = any(_journals_agree(claimed.journal, form) for form in _journal_forms(work))
        (cmp.agree if agree else cmp.disagree).append("journal")
    if claimed.year and work.year:
        (cmp.agree if abs(int(claimed.year) - int(work.year)) <= cfg.year_tolerance else cmp.disagree).append("year")
    if claimed.title and work.title:
        sim, size = _title_similarity(claimed.title, work.title)
        cmp.title_similarity = sim
        if size >= 3:
            if sim >= cfg.title_agree:
                cmp.agree.append("title")
            elif sim < cfg.title_disagree:
                cmp.disagree.append("title")
        cmp.title_far = size >= cfg.full_title_words and sim < cfg.title_very_low
    return cmp


def _specific(ref: Reference) -> bool:
    """Specific enough that no credible match means no such work: authors with a journal, or a title with a year, journal or author."""
    c = ref.claimed
    return bool((c.authors and c.journal) or (c.title and len(_title_stems(c.title)) >= 3 and (c.year or c.journal or c.authors)))


def specific(ref: Reference) -> bool:
    """Whether a free-text citation says enough to be searched for (and, unmatched, judged not found)."""
    return _specific(ref)


def _credible(cmp: _Comparison) -> bool:
    """A candidate is the cited work: author or title agrees, neither disagrees, and agreements outweigh disagreements by two."""
    if "first author" in cmp.disagree or "title" in cmp.disagree or cmp.title_far:
        return False
    return ("first author" in cmp.agree or "title" in cmp.agree) and cmp.balance >= 2


# -- describing -----------------------------------------------------------------------------


def _service(work: Work) -> str:
    return _config().services.get(work.service, work.service or "the service")


def _id_text(kind: str, value: str) -> str:
    return {"pmid": f"PMID {value}", "doi": value}.get(kind, value)


def _work_id(work: Work) -> str:
    if work.service == "pubmed" and work.pmid:
        return f"PMID {work.pmid}"
    if work.service == "clinicaltrials" and work.nct:
        return work.nct
    if work.doi:
        return work.doi
    if work.pmid:
        return f"PMID {work.pmid}"
    if work.nct:
        return work.nct
    return work.key.partition(":")[2] or work.key


def _authors_text(authors: Sequence[str]) -> str:
    if not authors:
        return "no listed authors"
    return f"{_family(authors[0])} et al." if len(authors) > 1 else _family(authors[0])


def _describe_work(work: Work) -> str:
    parts = [f"'{_clip(work.title, 100)}'" if work.title else "an untitled record"]
    if work.year:
        parts.append(f"({work.year})")
    if work.authors:
        parts.append(f"by {_authors_text(work.authors)}")
    if work.journal or work.journal_abbrev:
        parts.append(f"in {work.journal or work.journal_abbrev}")
    return " ".join(parts)


def _describe_claim(ref: Reference) -> str:
    c = ref.claimed
    parts = []
    if c.authors:
        parts.append(_authors_text(c.authors))
    if c.title:
        parts.append(f"'{_clip(c.title, 80)}'")
    if c.journal:
        parts.append(c.journal)
    if c.year:
        parts.append(str(c.year))
    return ", ".join(parts)


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# -- design ---------------------------------------------------------------------------------


def _stage_rank(code: str | None) -> int:
    stages = labels.codes("evidence_stage")
    return stages.index(code) if code in stages else -1


def work_design(work: Work) -> tuple[str | None, str | None]:
    """The cited work's evidence stage and where it comes from: PubMed publication types, else
    the trial record, else our scorer on its abstract (too weak to accuse anyone with)."""
    cfg = _config()
    mapped = [cfg.pub_types[p.casefold()] for p in work.pub_types if p.casefold() in cfg.pub_types]
    if mapped:
        return max(mapped, key=_stage_rank), "publication types"
    trial = work.trial or {}
    for key in ("allocation", "study_type"):
        value = str(trial.get(key) or "").upper()
        if value in cfg.trial_design:
            return cfg.trial_design[value], "trial record"
    if work.abstract and len(work.abstract) >= cfg.min_abstract_chars:
        try:
            from scoring import score_item  # the scorer is heavy to load; only abstracts need it

            return score_item({"title": work.title or "", "text": work.abstract}).evidence_stage, "scorer on the abstract"
        except Exception:  # a bad abstract leaves the design unknown, never fails the check
            log.warning("scoring the abstract of %s failed", work.key, exc_info=True)
    return None, None


def _design_problem(ref: Reference, work: Work, design: str | None, source: str | None) -> str | None:
    claimed = ref.claimed.design
    if not claimed or not design or source not in KNOWN_DESIGN:
        return None
    if _stage_rank(claimed) <= _stage_rank(design):
        return None
    if source == "publication types":
        basis = f"lists {_work_id(work)} with the publication types {_join(work.pub_types)}"
    else:
        trial = work.trial or {}
        shown = ", ".join(f"{k.replace('_', ' ')} {str(trial[k]).replace('_', ' ')}"
                          for k in ("study_type", "allocation") if trial.get(k))
        basis = f"records {_work_id(work)} as a registered study ({shown})"
    words = f" ('{_clip(ref.claimed.design_words, 80)}')" if ref.claimed.design_words else ""
    return (f"{_service(work)} {basis}, so its design is '{labels.name('evidence_stage', design)}', weaker than "
            f"the '{labels.name('evidence_stage', claimed)}' the text claims{words}.")


# -- topic ----------------------------------------------------------------------------------


def _hair_hits(text: str) -> list[str]:
    return [m.group(0) for m in _config().hair.finditer(text or "")]


def _about_hair(work: Work) -> tuple[bool | None, str]:
    """Whether the work is about hair (True with the term found, False with what was read, None when
    the record says too little to tell)."""
    cfg = _config()
    abstract = work.abstract if work.abstract and len(work.abstract) >= cfg.min_abstract_chars else ""
    for label, text in (("title", work.title or ""), ("abstract", abstract),
                        ("MeSH terms", "; ".join(work.mesh)), ("keywords", "; ".join(work.keywords))):
        hits = _hair_hits(text)
        if hits:
            return True, f"its {label} mentions '{hits[0]}'"
    read = [n for n, v in (("title", work.title), ("abstract", abstract), ("MeSH terms", work.mesh),
                           ("keywords", work.keywords)) if v]
    if abstract or work.mesh or work.keywords:
        return False, _join(read)
    title = work.title or ""
    if title and cfg.other_field.search(title) and not cfg.near.search(title):
        return False, "title (it has no abstract)"
    return None, ""


def _mentions(text: str, treatment: str) -> bool:
    name = _fold(treatment).strip()
    if not name:
        return False
    stem = name[:-1] if name.endswith("s") and len(name) > 4 else name
    return re.search(r"\b" + re.escape(stem), _fold(text)) is not None


def _topic(ref: Reference, work: Work, item_title: str, item_text: str,
           treatments: Sequence[str]) -> tuple[bool | None, str | None, str | None]:
    """(on_topic, reason, problem): the work's topic against what the text cites it for."""
    cfg = _config()
    context_hair = _hair_hits(ref.context)
    work_text = " ".join([work.title or "", work.abstract or "", *work.mesh, *work.keywords])
    # A reference-list line's context is the cited title itself, not a claim made with it: only
    # running text can cite a work for the treatment rather than for hair.
    named = [] if ref.listed else [t for t in treatments if _mentions(ref.context, t)]
    about, why = _about_hair(work)
    if about:
        return True, None, None
    if not context_hair and named and any(_mentions(work_text, t) for t in named):
        return True, None, None  # cited for the treatment, not for hair, and it is about the treatment
    item_hits = 2 * len(_hair_hits(item_title)) + len(_hair_hits(item_text[:20000]))
    cited_for_hair = bool(context_hair) or (not named and item_hits >= cfg.item_hair_hits)
    if not cited_for_hair or about is None:
        return None, None, None
    cited = (f"the citing text uses it for hair ('{_clip(ref.context, 140)}')" if context_hair
             else f"it is cited by an item about hair ('{_clip(item_title, 100)}')")
    return False, None, (f"{_service(work)}'s record of {_work_id(work)} ({_describe_work(work)}) never mentions "
                         f"hair, alopecia, the scalp or a hair treatment in its {why}, while {cited}.")


# -- notices --------------------------------------------------------------------------------

_NOTICE_KIND = {"retraction": "retracted", "retracted": "retracted", "withdrawal": "retracted",
                "removal": "retracted", "expression_of_concern": "concern", "expression-of-concern": "concern",
                "concern": "concern", "correction": "corrected", "corrected": "corrected", "erratum": "corrected",
                "corrigendum": "corrected"}


def _retraction(work: Work) -> tuple[str | None, str | None]:
    state = work.retraction if work.retraction in ("retracted", "concern", "corrected") else None
    notices = [n for n in work.notices if isinstance(n, dict)]
    kinds = [_NOTICE_KIND.get(str(n.get("kind") or "").casefold().replace(" ", "_")) for n in notices]
    if any(p.casefold() == "retracted publication" for p in work.pub_types):
        kinds.append("retracted")
    found = worst([state, *kinds])
    if found is None:
        return None, None
    notice = next((n for n, k in zip(notices, kinds) if k == found), None)
    word = {"retracted": "a retraction", "concern": "an expression of concern", "corrected": "a correction"}[found]
    if notice:
        detail = ", ".join(x for x in (f"notice {notice['doi']}" if notice.get("doi") else
                                        (f"notice: {_clip(str(notice['label']), 80)}" if notice.get("label") else ""),
                                        str(notice.get("date") or ""),
                                        f"source: {notice['source']}" if notice.get("source") else "") if x)
        return found, f"{_service(work)} records {word} of {_work_id(work)}" + (f" ({detail})." if detail else ".")
    if found == "retracted" and any(p.casefold() == "retracted publication" for p in work.pub_types):
        return found, f"{_service(work)} lists {_work_id(work)} as a Retracted Publication."
    return found, f"{_service(work)} records {word} of {_work_id(work)}."


# -- the check ------------------------------------------------------------------------------


def _verdict(flags: list[str], reasons: list[str], default: str = "ok", **kw: Any) -> Verdict:
    unique = tuple(dict.fromkeys(flags))
    return Verdict(code=worst(unique) or default, reasons=tuple(reasons), flags=unique, **kw)


def _judge_found(ref: Reference, work: Work, *, item_title: str, item_text: str, treatments: Sequence[str],
                 lead: str | None = None, matched_key: str | None = None) -> Verdict:
    """A found work judged against the claim: notices, identity, design and topic."""
    flags: list[str] = []
    reasons: list[str] = [lead] if lead else []
    service, wid = _service(work), _work_id(work)
    cmp = _compare(ref, work)
    if matched_key is None and (len(cmp.disagree) >= 2 or cmp.title_far):
        flags.append("mismatch")
        said = _describe_claim(ref)
        far = (" and the titles share almost no words" if cmp.title_far and "title" not in cmp.disagree else "")
        reasons.append(f"{service} lists {wid} as {_describe_work(work)}, not the work the text describes "
                       f"({said}): the {_join(cmp.disagree or ['title'])} disagree{far}.")
    elif matched_key is None:
        agreed = f"; it agrees with the {_join(cmp.agree)} the text gives" if cmp.agree else ""
        off = f" (the {_join(cmp.disagree)} differs)" if cmp.disagree else ""
        reasons.append(f"{service} lists {wid} as {_describe_work(work)}{agreed}{off}.")
    design, source = work_design(work)
    problem = _design_problem(ref, work, design, source)
    if problem:
        flags.append("mismatch")
        reasons.append(problem)
    on_topic, _, topic_problem = _topic(ref, work, item_title, item_text, treatments)
    if topic_problem:
        flags.append("off_topic")
        reasons.append(topic_problem)
    notice, notice_reason = _retraction(work)
    if notice:
        flags.append(notice)
        reasons.append(notice_reason or "")
    if _is_preprint(work) or ref.preprint:
        reasons.append(f"{wid} is a preprint: not peer reviewed when posted.")
    return _verdict(flags, reasons, design=design, design_source=source, on_topic=on_topic, matched_key=matched_key)


def candidate_work(cand: dict, service: str) -> Work:
    """A Work from one candidate of a bibliographic search (a Work as dict, with the search's score)."""
    return _candidate_work(cand, service)


def _candidate_work(cand: dict, service: str) -> Work:
    names = {f.name for f in fields(Work)}
    data = {k: v for k, v in cand.items() if k in names}
    data.setdefault("key", f"doi:{cand['doi']}" if cand.get("doi") else f"pmid:{cand.get('pmid')}")
    data.setdefault("service", service)
    data.setdefault("state", "found")
    for name in ("authors", "pub_types", "mesh", "keywords", "notices"):
        if not isinstance(data.get(name), list):
            data[name] = []
    if data.get("year") is not None:
        try:
            data["year"] = int(data["year"])
        except (TypeError, ValueError):
            data["year"] = None
    return Work(**data)


def _check_citation(ref: Reference, work: Work, **item: Any) -> Verdict:
    """A free-text citation: the best credible candidate judged like an id, else not found or unverified."""
    service = _service(work)
    text = _clip(ref.value, 160)
    scored: list[tuple[_Comparison, Work]] = []
    if work.state == "found":
        for cand in work.candidates:
            if not isinstance(cand, dict):
                continue
            try:
                cw = _candidate_work(cand, work.service)
            except (TypeError, ValueError, KeyError):
                log.warning("skipping a malformed candidate for %s", work.key)
                continue
            scored.append((_compare(ref, cw), cw))
    credible = [(c, w) for c, w in scored if _credible(c)]
    if credible:
        cmp, best = max(credible, key=lambda cw: (cw[0].balance, cw[0].title_similarity or 0.0))
        key = f"doi:{best.doi}" if best.doi else best.key
        lead = (f"{service}'s bibliographic search matches '{text}' to {_work_id(best)}, "
                f"{_describe_work(best)}: the {_join(cmp.agree)} agree"
                + (f" (the {_join(cmp.disagree)} differs)." if cmp.disagree else "."))
        return _judge_found(ref, best, lead=lead, matched_key=key, **item)
    if not _specific(ref):
        return _verdict([], [f"'{text}' gives too little (no first author with a journal, or title with a year) "
                             f"to tell whether {service}'s search found it."], default="unverified")
    if scored:
        closest = max(scored, key=lambda cw: (cw[0].balance, cw[0].title_similarity or 0.0))[1]
        near = f"; the closest of its {len(scored)} candidates is {_describe_work(closest)}"
    else:
        near = " (it returned no candidates)"
    return _verdict(["not_found"], [f"{service}'s bibliographic search finds no work matching {_describe_claim(ref)}{near}: "
                                    "possibly an invented or garbled citation."])


def check(ref: Reference, work: Work | None, *, item_title: str = "", item_text: str = "",
          treatments: Sequence[str] = ()) -> Verdict:
    """The verdict on one citation: ``ref`` as the item gives it, ``work`` as the service told it
    (None: not looked up yet). Never raises on odd input: the worst it does is ``unchecked``."""
    try:
        return _check(ref, work, item_title=item_title or "", item_text=item_text or "", treatments=tuple(treatments or ()))
    except Exception as exc:  # a bug or a record we never imagined: say so, and try again later
        log.exception("checking %s %r failed", getattr(ref, "kind", "?"), getattr(ref, "value", "?"))
        return Verdict("unchecked", (f"The check failed on this record ({type(exc).__name__}); it is tried again later.",))


def _check(ref: Reference, work: Work | None, **item: Any) -> Verdict:
    cfg = _config()
    shown = _id_text(ref.kind, ref.value) if ref.kind != "citation" else f"'{_clip(ref.value, 160)}'"
    if ref.kind in cfg.unqueried and (work is None or work.state in ("unsupported", "not_found", "error")):
        return _verdict([], [f"{shown} is in a trial registry hypewatch does not query, so it cannot be checked."],
                        default="unverified")
    if work is None:
        return Verdict("unchecked", (f"{shown} has not been looked up yet.",))
    if work.state == "error":
        why = f": {work.error.rstrip('.')}" if work.error else ""
        again = "" if "again" in why else "; it is tried again later"
        return Verdict("unchecked", (f"{_service(work)} did not answer for {shown}{why}{again}.",))
    if work.state == "unsupported" or work.service == "none":
        why = f" ({work.error})" if work.error else ""
        return _verdict([], [f"{shown} cannot be looked up{why}."], default="unverified")
    if ref.kind == "citation":
        return _check_citation(ref, work, **item)
    if work.state == "not_found":
        return _verdict(["not_found"], [f"{_service(work)} has no record of {shown}: it answered that no such "
                                        f"{'work' if ref.kind != 'nct' else 'study'} exists."])
    if work.state != "found":
        return Verdict("unchecked", (f"{shown} is in an unknown state ({_clip(work.state, 40)}); it is tried again later.",))
    return _judge_found(ref, work, **item)
