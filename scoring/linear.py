"""Fitted linear models: read the weights data file and turn features into a label, its
probabilities and each feature's contribution. Pure Python, no fitting library at run time."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LinearModel", "Prediction", "load_models", "WEIGHTS_PATH"]

WEIGHTS_PATH = Path(__file__).parent / "weights.json"


@dataclass
class Prediction:
    label: str
    probabilities: dict[str, float]
    # feature -> how much it moved the chosen label against the others (log-odds)
    contributions: dict[str, float]


@dataclass
class LinearModel:
    """A multinomial logistic regression: one weight per (feature, class) and an intercept per class.
    Or, for ordered labels ("ordinal"), one weight per feature and a threshold between
    neighbouring labels: P(label >= k) = sigmoid(score + threshold_k)."""

    classes: tuple[str, ...]
    weights: dict[str, tuple[float, ...]]
    intercept: tuple[float, ...]
    thresholds: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> "LinearModel":
        classes = tuple(d["classes"])
        if d.get("type") == "ordinal":
            weights = {name: (float(row[0]),) for name, row in d["weights"].items()}
            thresholds = tuple(float(b) for b in d["thresholds"])
            if len(thresholds) != len(classes) - 1:
                raise ValueError(f"an ordinal model of {len(classes)} labels needs {len(classes) - 1} thresholds; refit the weights")
            return cls(classes, weights, (), thresholds)
        weights = {name: tuple(float(x) for x in row) for name, row in d["weights"].items()}
        for name, row in weights.items():
            if len(row) != len(classes):
                raise ValueError(f"weights for {name!r} have {len(row)} values for {len(classes)} classes; refit the weights")
        return cls(classes, weights, tuple(float(x) for x in d["intercept"]))

    def predict(self, values: dict[str, float]) -> Prediction:
        if self.thresholds:
            return self._predict_ordinal(values)
        k = len(self.classes)
        z = list(self.intercept)
        used = []
        weights = self.weights
        for name, x in values.items():
            row = weights.get(name)
            if row is None or not x:
                continue
            used.append((name, x, row))
            for i in range(k):
                z[i] += x * row[i]
        top = max(z)
        exps = [math.exp(v - top) for v in z]
        total = sum(exps)
        probs = {c: e / total for c, e in zip(self.classes, exps)}
        best = max(range(k), key=z.__getitem__)
        contributions = {
            name: x * (row[best] - (sum(row) - row[best]) / (k - 1 if k > 1 else 1)) for name, x, row in used
        }
        return Prediction(self.classes[best], probs, contributions)


    def _predict_ordinal(self, values: dict[str, float]) -> Prediction:
        z = 0.0
        contributions = {}
        for name, x in values.items():
            row = self.weights.get(name)
            if row is None or not x:
                continue
            z += x * row[0]
            contributions[name] = x * row[0]
        ge = [1.0] + [1.0 / (1.0 + math.exp(-(z + b))) for b in self.thresholds] + [0.0]
        probs = {c: max(ge[i] - ge[i + 1], 0.0) for i, c in enumerate(self.classes)}
        best = max(range(len(self.classes)), key=lambda i: probs[self.classes[i]])
        # a feature pushing the score up speaks for the higher labels, and against the lower
        sign = 1.0 if best > 0 else -1.0
        return Prediction(self.classes[best], probs, {n: sign * c for n, c in contributions.items()})


def load_models(path: Path = WEIGHTS_PATH) -> dict[str, LinearModel]:
    """The fitted models by dimension; {} when the weights file is absent."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        data = json.load(fh)
    return {dim: LinearModel.from_dict(spec) for dim, spec in data.get("models", {}).items()}
