"""The three top-level packages resolve inside this repo, and the pure ones import nothing internal.

PyPI has unrelated packages called `db` and `scoring`; if one were installed
over ours, imports would silently pick it up.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_packages_resolve_inside_repo():
    for name in ("db", "harvester", "scoring"):
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_scoring_and_db_import_nothing_internal():
    assert not _imports("scoring") & {"db", "harvester"}
    assert not _imports("db") & {"scoring", "harvester"}


def test_nobody_writes_import_db():
    """DESIGN.md §3: `from db import ...` only, so a stray PyPI `db` can never be picked up silently."""
    for package in ("harvester", "scoring", "db", "tests", "bench"):
        for path in ROOT.joinpath(package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    assert "db" not in [a.name for a in node.names], f"{path}: write `from db import ...`"
