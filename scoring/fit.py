"""Fit the scorer's weights to labelled data: `python -m scoring.fit` writes scoring/weights.json.

The cues stay the features and the explanations; what is fitted is how much each cue family
counts for each label (multinomial logistic regression, L2-regularised, the strength chosen by
5-fold cross-validation). A fixed fifth of every labelled set (chosen by a hash of the item
id) is never fitted on: the figures reported for it are what unseen text of the same kinds
gets. Needs scikit-learn (`pip install -e '.[fit]'`); scoring at run time does not.

Data, read by path and never copied: the hand-labelled dev sets (JSON lines: title, text, url,
source_kind and a gold label per dimension, as scoring/evaluate.py reads them) and the
StudyTypeTeller abstracts (Apache-2.0) for evidence stage. Sets under GPL or without a licence
are never fitted on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .evaluate import SOURCE_KIND_TO_PUBLISHER, load_records
from .features import hype_features
from .linear import WEIGHTS_PATH
from .model import COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS
from .scorer import Scorer

__all__ = ["main", "is_held_out", "Example", "load_examples", "fit"]

DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OWN_FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "scoring"
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS = 5
REPEATS = 3
HELD_OUT_SHARE = 5  # one item in five
SLACK = 0.0
# Each hand-labelled web item counts this many times an abstract does: they are fewer, and
# they are the kind of text hypewatch mostly scores.
WEB_WEIGHT = 3.0


def is_held_out(item_id: str) -> bool:
    """Whether an item belongs to the fixed fifth that is never fitted on."""
    return int(hashlib.sha256(str(item_id).encode()).hexdigest()[:8], 16) % HELD_OUT_SHARE == 0


@dataclass
class Example:
    set_name: str
    id: str
    gold: dict[str, str]
    relevant: bool
    held_out: bool
    weight: float
    views: list = field(default_factory=list)  # Analysis of the item, with and without url/publisher


def _records(shared: Path) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for name in ("dev", "dev2"):
        path = shared / "eval" / f"{name}.jsonl"
        if path.exists():
            out += [(name, r) for r in load_records(path)]
    # The project's own labelled items, written here to the same guide (tests/fixtures/scoring).
    for path in sorted(OWN_FIXTURES.glob("holdout*.jsonl")):
        out += [("own", r) for r in load_records(path)]
    path = shared / "external" / "study-design" / "studytypeteller.dev.jsonl"
    if path.exists():
        out += [("studytypeteller", r) for r in load_records(path) if r.get("evidence_stage")]
    return out


def load_examples(shared: Path, scorer: Scorer) -> list[Example]:
    examples = []
    for set_name, rec in _records(shared):
        web = set_name != "studytypeteller"
        gold = {"evidence_stage": rec["evidence_stage"]}
        if web:
            gold.update(commercial_interest=rec["commercial_interest"], hype=rec["hype"])
        base = {"title": rec.get("title") or "", "text": rec.get("text") or ""}
        views = [scorer.analyse(base)]  # text only: what a broad feed gives
        if web:
            publisher = SOURCE_KIND_TO_PUBLISHER.get(str(rec.get("source_kind") or ""))
            views.append(scorer.analyse({**base, "url": rec.get("url"), "publisher": publisher}))
        examples.append(Example(
            set_name, str(rec.get("id")), gold, bool(rec.get("relevant", True)), is_held_out(rec.get("id")),
            WEB_WEIGHT if web else 1.0, views,
        ))
    return examples


#: Dimensions fitted as ordered labels (one score, thresholds between neighbours): hype runs
#: from low to high, and one shared weight per cue uses a few hundred items better than
#: one weight per cue and label.
ORDINAL = {"hype"}


class OrdinalModel:
    """A cumulative-logit model: P(y >= k) = sigmoid(w.x + b_k), fitted as one L2-regularised
    logistic regression over one row per (item, threshold) with the threshold as a feature."""

    def __init__(self, classes: list[str], C: float):
        self.classes_ = list(classes)
        self.C = C

    def fit(self, X, y, w):
        import numpy as np
        from scipy import sparse
        from sklearn.linear_model import LogisticRegression

        rank = {c: i for i, c in enumerate(self.classes_)}
        k = len(self.classes_) - 1
        n = X.shape[0]
        rows, labels, weights = [], [], []
        for t in range(1, k + 1):
            ind = np.zeros((n, k))
            ind[:, t - 1] = 1.0
            rows.append(sparse.hstack([X, sparse.csr_matrix(ind)]).tocsr())
            labels += [int(rank[v] >= t) for v in y]
            weights += list(w)
        model = LogisticRegression(C=self.C, max_iter=5000, fit_intercept=False)
        model.fit(sparse.vstack(rows).tocsr(), labels, sample_weight=weights)
        coef = model.coef_[0]
        self.coef_ = coef[: X.shape[1]]
        self.thresholds_ = coef[X.shape[1]:]
        return self

    offsets_ = None

    def margins(self, X):
        """Per item and threshold, score + threshold (before any fitted offset)."""
        z = X @ self.coef_
        return [z + b for b in self.thresholds_]

    def predict_proba(self, X):
        import numpy as np

        offsets = self.offsets_ if self.offsets_ is not None else [0.0] * len(self.thresholds_)
        z = X @ self.coef_
        ge = [np.ones_like(z)] + [1 / (1 + np.exp(-(z + b + d))) for b, d in zip(self.thresholds_, offsets)] + [np.zeros_like(z)]
        return np.stack([ge[i] - ge[i + 1] for i in range(len(self.classes_))], axis=1)

    def predict(self, X):
        return [self.classes_[i] for i in self.predict_proba(X).argmax(axis=1)]


def _fit_lr(X, y, w, C, ordinal_classes=None):
    if ordinal_classes:
        return OrdinalModel(ordinal_classes, C).fit(X, y, w)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(X, y, sample_weight=w)
    return model


def _export(model, vec, classes_order) -> dict:
    names = vec.get_feature_names_out()
    if isinstance(model, OrdinalModel):
        weights = {str(n): [round(float(c), 4)] for n, c in zip(names, model.coef_) if abs(c) >= 1e-4}
        return {
            "type": "ordinal",
            "classes": list(model.classes_),
            "weights": dict(sorted(weights.items())),
            "thresholds": [round(float(b + d), 4) for b, d in
                           zip(model.thresholds_, model.offsets_ if model.offsets_ is not None else [0.0] * len(model.thresholds_))],
        }
    classes = list(model.classes_)
    order = [classes.index(c) for c in classes_order if c in classes]
    weights = {}
    for j, name in enumerate(names):
        row = [round(float(model.coef_[i][j]), 4) for i in order]
        if any(abs(x) >= 1e-4 for x in row):
            weights[str(name)] = row
    return {
        "classes": [classes[i] for i in order],
        "weights": dict(sorted(weights.items())),
        "intercept": [round(float(model.intercept_[i]), 4) for i in order],
    }


def _rows(examples: list[Example], dim: str, feats) -> tuple[list[dict], list[str], list[float], list[int]]:
    """One row per view of each example (index of the example kept, to fold by item)."""
    X, y, w, idx = [], [], [], []
    for i, ex in enumerate(examples):
        for view in ex.views:
            X.append(feats(ex, view))
            y.append(ex.gold[dim])
            w.append(ex.weight / len(ex.views))
            idx.append(i)
    return X, y, w, idx


def _cv_predict(examples, dim, feats, C, folds=FOLDS, seed=0, ordinal_classes=None):
    """Out-of-fold predictions (text-only view) for every example, folds by item, with their gold
    labels and, for an ordinal model, each example's score plus each threshold (else None)."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.model_selection import StratifiedKFold

    labels = [ex.gold[dim] for ex in examples]
    strat = [f"{ex.set_name}:{ex.gold[dim]}" for ex in examples]
    counts = {s: strat.count(s) for s in set(strat)}
    strat = [s if counts[s] >= folds else ex.set_name for s, ex in zip(strat, examples)]
    pred = [None] * len(examples)
    margins = [None] * len(examples)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_i, test_i in skf.split(np.zeros(len(examples)), strat):
        train = [examples[i] for i in train_i]
        X, y, w, _ = _rows(train, dim, feats)
        vec = DictVectorizer()
        model = _fit_lr(vec.fit_transform(X), y, w, C, ordinal_classes)
        Xt = vec.transform([feats(examples[i], examples[i].views[0]) for i in test_i])
        for i, p in zip(test_i, model.predict(Xt)):
            pred[i] = p
        if ordinal_classes:
            for j, i in enumerate(test_i):
                margins[i] = [float(m[j]) for m in model.margins(Xt)]
    return pred, labels, margins


def _ordinal_label(margins: list[float], offsets, classes) -> str:
    import math

    ge = [1.0] + [1 / (1 + math.exp(-(m + d))) for m, d in zip(margins, offsets)] + [0.0]
    probs = [ge[i] - ge[i + 1] for i in range(len(classes))]
    return classes[max(range(len(classes)), key=probs.__getitem__)]


def tune_offsets(examples, margins, labels, classes, step=0.1, span=1.5):
    """Shifts of an ordinal model's thresholds that make the most out-of-fold predictions of
    the hand-labelled web items right (likelihood fitting balances the classes' errors, the
    labels are judged on accuracy). Two numbers fitted on a few hundred items."""
    grid = [round(-span + step * i, 2) for i in range(int(2 * span / step) + 1)]
    web = [i for i, ex in enumerate(examples) if ex.set_name != "studytypeteller" and ex.relevant]
    best_key, best = None, (0.0, 0.0)
    for d1 in grid:
        for d2 in grid:
            right = sum(_ordinal_label(margins[i], (d1, d2), classes) == labels[i] for i in web)
            key = (right, -abs(d1) - abs(d2))  # the smallest shift among equals
            if best_key is None or key > best_key:
                best_key, best = key, (d1, d2)
    return best


def _accuracy(examples, pred, labels, set_name=None, relevant_only=True):
    pairs = [(p, g) for ex, p, g in zip(examples, pred, labels)
             if (set_name is None or ex.set_name == set_name) and (ex.relevant or not relevant_only)]
    return (sum(p == g for p, g in pairs) / len(pairs), len(pairs)) if pairs else (None, 0)


def _within_one(examples, pred, labels, set_name):
    rank = {s: i for i, s in enumerate(EVIDENCE_STAGES)}
    pairs = [(p, g) for ex, p, g in zip(examples, pred, labels) if ex.set_name == set_name and ex.relevant]
    return sum(abs(rank[p] - rank[g]) <= 1 for p, g in pairs) / len(pairs) if pairs else None


def fit(shared: Path, out: Path = WEIGHTS_PATH, log=print, *, c_grid: tuple[float, ...] = C_GRID,
        repeats: int = REPEATS) -> dict:
    """Fit every model, report cross-validated and held-out figures, write the weights file."""
    from sklearn.feature_extraction import DictVectorizer

    scorer = Scorer(models={})
    examples = load_examples(shared, scorer)
    if not any(ex.set_name != "studytypeteller" for ex in examples):
        raise SystemExit(f"no labelled sets under {shared}/eval: point --shared at the folder holding eval/ and external/")
    train = [ex for ex in examples if not ex.held_out]
    held = [ex for ex in examples if ex.held_out]
    sets = sorted({ex.set_name for ex in examples})
    report: dict = {"trained_on": {s: sum(1 for ex in train if ex.set_name == s) for s in sets},
                    "held_out": {s: sum(1 for ex in held if ex.set_name == s) for s in sets},
                    "cv": {}, "held_out_accuracy": {}, "C": {}}
    models: dict[str, dict] = {}
    final_pred: dict[str, dict[str, str]] = {}  # dim -> id -> prediction (OOF for train, final for held)

    specs = [
        ("evidence_stage", EVIDENCE_STAGES, lambda ex, v: v.evidence_features.values),
        ("commercial_interest", COMMERCIAL_LEVELS, lambda ex, v: v.commercial_features.values),
    ]

    def hype_feats(ex, v):
        stage = final_pred["evidence_stage"][ex.id]
        commercial = final_pred["commercial_interest"][ex.id]
        return hype_features(v.doc, stage=stage, commercial=commercial, claim=v.claim, satire=v.satire).values

    specs.append(("hype", HYPE_LEVELS, hype_feats))
    for dim, classes, feats in specs:
        pool = [ex for ex in train if dim in ex.gold]
        tried = []
        for C in c_grid:
            # every labelled set counts the same, whatever its size; the folds are drawn
            # REPEATS times, since with a few hundred items one draw's noise decides C
            scores = []
            for seed in range(repeats):
                pred, labels, _ = _cv_predict(pool, dim, feats, C, seed=seed,
                                              ordinal_classes=classes if dim in ORDINAL else None)
                per_set = [a for a in (_accuracy(pool, pred, labels, s)[0] for s in sets) if a is not None]
                scores.append(sum(per_set) / len(per_set))
            score = sum(scores) / len(scores)
            log(f"  {dim} C={C}: cv score {score:.3f}")
            tried.append((score, C, pred, labels))
        # The most regularised C within SLACK of the best: with a few hundred items the
        # differences between neighbours are mostly fold noise, and smaller weights travel better.
        top = max(t[0] for t in tried)
        _, C, pred, labels = next(t for t in tried if t[0] >= top - SLACK)
        offsets = None
        if dim in ORDINAL:
            pred, labels, margins = _cv_predict(pool, dim, feats, C, ordinal_classes=classes)
            offsets = tune_offsets(pool, margins, labels, list(classes))
            pred = [_ordinal_label(m, offsets, list(classes)) for m in margins]
            report.setdefault("threshold_offsets", {})[dim] = list(offsets)
        report["C"][dim] = C
        cv = {}
        for s in sets:
            acc, n = _accuracy(pool, pred, labels, s)
            if n:
                cv[s] = {"accuracy": round(acc, 3), "n": n}
                if dim == "evidence_stage":
                    cv[s]["within_one"] = round(_within_one(pool, pred, labels, s), 3)
        report["cv"][dim] = cv
        X, y, w, _ = _rows(pool, dim, feats)
        vec = DictVectorizer()
        model = _fit_lr(vec.fit_transform(X), y, w, C, classes if dim in ORDINAL else None)
        if offsets is not None:
            model.offsets_ = list(offsets)
        models[dim] = _export(model, vec, classes)
        preds = {ex.id: p for ex, p in zip(pool, pred)}
        held_pool = [ex for ex in held if dim in ex.gold]
        if held_pool:
            hp = model.predict(vec.transform([feats(ex, ex.views[0]) for ex in held_pool]))
            preds.update({ex.id: p for ex, p in zip(held_pool, hp)})
            hl = [ex.gold[dim] for ex in held_pool]
            ho = {}
            for s in sets:
                acc, n = _accuracy(held_pool, list(hp), hl, s)
                if n:
                    ho[s] = {"accuracy": round(acc, 3), "n": n}
                    if dim == "evidence_stage":
                        ho[s]["within_one"] = round(_within_one(held_pool, list(hp), hl, s), 3)
            report["held_out_accuracy"][dim] = ho
        final_pred[dim] = preds
        log(f"{dim}: C={C} cv={cv} held-out={report['held_out_accuracy'].get(dim)}")

    data = {
        "about": "Fitted by `python -m scoring.fit` (multinomial logistic regression over cue-family features, "
                 "L2, C chosen by 5-fold cross-validation). Figures: cross-validated on the fitted part, and on "
                 "the fixed held-out fifth of each set (relevant items).",
        "report": report,
        "models": models,
    }
    out.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    log(f"wrote {out}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scoring.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="folder holding eval/ and external/ (default: ../shared beside the repository)")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="weights file to write")
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("scoring.fit needs scikit-learn: run `.venv/bin/pip install -e '.[fit]'`", file=sys.stderr)
        return 2
    fit(args.shared, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
