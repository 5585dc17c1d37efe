"""hypewatch scoring: pure, explainable rules (item in, Score with reasons out); lexicons are data."""

from .evaluate import evaluate, evaluate_file, evaluate_records, format_report, load_records
from .jsonl import score_line, score_lines
from .lexicon import RULES_VERSION, compute_version
from .model import COMMERCIAL_LEVELS, EVIDENCE_STAGES, HYPE_LEVELS, PUBLISHERS, Reason, Score
from .scorer import SCORING_VERSION, Scorer, score_item

__all__ = [
    "SCORING_VERSION",
    "RULES_VERSION",
    "Score",
    "Reason",
    "Scorer",
    "score_item",
    "score_line",
    "score_lines",
    "evaluate",
    "evaluate_records",
    "evaluate_file",
    "format_report",
    "load_records",
    "compute_version",
    "EVIDENCE_STAGES",
    "COMMERCIAL_LEVELS",
    "HYPE_LEVELS",
    "PUBLISHERS",
]
