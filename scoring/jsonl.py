"""The score-jsonl contract: JSON lines of items in ({id, title, text, url?, publisher?}), one JSON line of scores out per line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator

from .scorer import score_item

__all__ = ["score_line", "score_lines"]

log = logging.getLogger(__name__)


def _error(item_id, message: str) -> str:
    return json.dumps({"id": item_id, "error": message}, ensure_ascii=False)


def score_line(line: str | bytes) -> str:
    """One input line -> one output line (a score object, or {"id", "error"}). Never raises."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(None, f"line is not UTF-8: {exc}")
    line = line.strip()
    if not line:
        return _error(None, "empty line: expected a JSON object with title and text")
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return _error(None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    if not isinstance(item, dict):
        return _error(None, f"expected a JSON object, got {type(item).__name__}")
    item_id = item.get("id")
    title, text = item.get("title"), item.get("text")
    for name, value in (("title", title), ("text", text)):
        if value is not None and not isinstance(value, str):
            return _error(item_id, f"{name} must be a string, got {type(value).__name__}")
    if not (title or "").strip() and not (text or "").strip():
        return _error(item_id, "missing title and text: give at least one of them")
    publisher = item.get("publisher")
    if publisher is not None and not isinstance(publisher, str):
        return _error(item_id, f"publisher must be a string, got {type(publisher).__name__}")
    try:
        score = score_item({"title": title or "", "text": text or "", "url": item.get("url"), "publisher": publisher})
    except Exception as exc:  # one bad item must not stop the run (contract)
        log.exception("score failed id=%s", item_id)
        return _error(item_id, f"scoring failed: {exc}")
    return json.dumps({"id": item_id, **score.to_dict()}, ensure_ascii=False)


def score_lines(in_lines: Iterable[str | bytes]) -> Iterator[str]:
    """Yield one output JSON string (no newline) per input line, in order."""
    for line in in_lines:
        yield score_line(line)
