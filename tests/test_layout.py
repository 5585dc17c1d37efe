"""The top-level packages resolve inside this repo, the pure ones import nothing internal, and the application sits on top.

PyPI has unrelated packages called `db` and `scoring`; if one were installed
over ours, imports would silently pick it up.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_packages_resolve_inside_repo():
    for name in ("db", "harvester", "scoring", "hypewatch"):
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
    assert not _imports("scoring") & {"db", "harvester", "hypewatch"}
    assert not _imports("db") & {"scoring", "harvester", "hypewatch"}


@pytest.mark.parametrize("package", ["harvester", "scoring", "db"])
def test_nothing_below_the_application_imports_it(package):
    """`hypewatch` drives the libraries; none of them may reach back up into it."""
    assert "hypewatch" not in _imports(package), f"{package} imports hypewatch"


def test_nobody_writes_import_db():
    """`from db import ...` only, so a stray PyPI `db` can never be picked up silently."""
    for package in ("hypewatch", "harvester", "scoring", "db", "tests", "bench"):
        for path in ROOT.joinpath(package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    assert "db" not in [a.name for a in node.names], f"{path}: write `from db import ...`"


def test_long_modules_say_why_at_their_top():
    """A module over about 500 lines states, in its docstring, why it is not split."""
    for package in ("hypewatch", "harvester", "scoring", "db"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") <= 520:
                continue
            doc = ast.get_docstring(ast.parse(text)) or ""
            assert "long" in doc.lower() or "longer" in doc.lower(), f"{path.relative_to(ROOT)}: split it or say why it is long"


def test_readme_and_architecture_map_name_every_module():
    """The README's architecture section names every module of the four packages, and
    docs/architecture.md names every package: a new module without a place on the map fails."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Architecture"):]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    for package in ("hypewatch", "harvester", "scoring", "db"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name in ("__init__.py", "__main__.py") or "demo_data" in path.parts:
                continue
            assert path.stem in section, f"README architecture section does not name {path.relative_to(ROOT)}"
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for package in ("hypewatch/", "harvester/", "scoring/", "db/"):
        assert package in architecture
