"""A disk cache of compiled regular expressions, so a new process does not re-parse the lexicons.

Compiling the lexicons' several thousand regexes (and the one large scanning regex built from
them) is almost all of the scorer's start-up, and it is spent in `re`'s pure-Python parser and
compiler. What they produce is a list of integers handed to the C engine (`_sre.compile`). This
module keeps those lists, per pattern, in one marshal file per Python build and lexicon version,
and hands them straight to the engine next time. Anything unexpected (another Python, an
unreadable or stale file, a private API that changed) falls back to plain `re.compile`: the
cache can only make start-up faster, never change a match.
"""

from __future__ import annotations

import logging
import marshal
from array import array
import os
import re
import sys
import tempfile
from pathlib import Path

__all__ = ["RegexCache"]

log = logging.getLogger(__name__)

try:  # CPython's engine and compiler (3.11+); absent elsewhere
    import _sre
    from re import _compiler, _parser
except ImportError:  # pragma: no cover - other Pythons
    _sre = _compiler = _parser = None


# The engine's code words are 32-bit unsigned; kept as bytes they load in a fraction of the time.
_CODE_TYPE = "I"


def cache_dir() -> Path:
    """$HYPEWATCH_CACHE_DIR, else $XDG_CACHE_HOME/hypewatch, else ~/.cache/hypewatch."""
    env = os.environ.get("HYPEWATCH_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hypewatch"


class RegexCache:
    """compile(pattern) -> re.Pattern, from the cache when it holds the pattern; save() writes
    the cache if new patterns were compiled. Disabled with HYPEWATCH_REGEX_CACHE=0."""

    def __init__(self, key: str) -> None:
        self.enabled = _sre is not None and os.environ.get("HYPEWATCH_REGEX_CACHE", "1") != "0"
        tag = f"{sys.implementation.cache_tag}-{getattr(_sre, 'MAGIC', 0)}-{key}"
        self.path = cache_dir() / f"regex-{re.sub(r'[^A-Za-z0-9_.+-]', '_', tag)}.marshal"
        self.entries: dict[str, tuple] = {}
        self.dirty = False
        if self.enabled:
            try:
                with self.path.open("rb") as fh:
                    data = marshal.load(fh)
                if isinstance(data, dict):
                    self.entries = data
            except FileNotFoundError:
                pass
            except (OSError, EOFError, ValueError, TypeError) as exc:
                log.debug("regex cache unreadable path=%s error=%s", self.path, exc)

    def compile(self, pattern: str) -> re.Pattern[str]:
        if not self.enabled:
            return re.compile(pattern)
        entry = self.entries.get(pattern)
        if entry is not None:
            try:
                flags, code, groups, groupindex, indexgroup = entry
                words = array(_CODE_TYPE)
                words.frombytes(code)
                return _sre.compile(pattern, flags, words.tolist(), groups, groupindex, indexgroup)
            except Exception as exc:  # a stale or foreign entry: compile it afresh
                log.debug("regex cache entry rejected error=%s", exc)
        try:
            parsed = _parser.parse(pattern, 0)
            code = _compiler._code(parsed, 0)
            groupindex = dict(parsed.state.groupdict)
            indexgroup = [None] * parsed.state.groups
            for name, i in groupindex.items():
                indexgroup[i] = name
            words = [int(x) for x in code]
            flags, groups = int(parsed.state.flags), int(parsed.state.groups - 1)
            groupindex = {str(k): int(v) for k, v in groupindex.items()}
            compiled = _sre.compile(pattern, flags, words, groups, groupindex, tuple(indexgroup))
            entry = (flags, array(_CODE_TYPE, words).tobytes(), groups, groupindex, tuple(indexgroup))
        except re.error:
            raise
        except Exception as exc:  # the private API moved: stop caching, compile normally
            log.debug("regex cache disabled error=%s", exc)
            self.enabled = False
            return re.compile(pattern)
        self.entries[pattern] = entry
        self.dirty = True
        return compiled

    def save(self) -> None:
        """Write the cache atomically; a read-only or missing home just means no cache."""
        if not (self.enabled and self.dirty):
            return
        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".regex-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                marshal.dump(self.entries, fh)
            os.replace(tmp, self.path)
            tmp = None
            self.dirty = False
            # caches of earlier lexicon versions for this Python are never read again
            prefix = self.path.name.split("-")[0] + "-" + sys.implementation.cache_tag
            for old in self.path.parent.glob(prefix + "-*.marshal"):
                if old != self.path:
                    old.unlink(missing_ok=True)
        except (OSError, ValueError) as exc:
            log.debug("regex cache not written path=%s error=%s", self.path, exc)
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
