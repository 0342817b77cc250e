"""A small src/ layout Python project in a real git repository, built by the tests that need a third-party
style target (pyproject.toml with a dependency, a ``test`` extra and a ``test`` dependency group, an entry
point, a ``src/`` package)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.git_repo import commit_all

PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "tinycalc"
version = "0.1"
dependencies = ["six"]

[project.optional-dependencies]
test = ["pytest"]

[project.entry-points."tinycalc.ops"]
add = "tinycalc:add"

[dependency-groups]
test = ["pytest"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""

PACKAGE = """\
import six  # a third-party dependency: a venv without it cannot import the package


def add(a, b):
    return a + b


def sub(a, b):
    return {sub}


def describe(x):
    return six.text_type(x)
"""

TESTS = """\
from importlib.metadata import entry_points, version

import tinycalc


def test_add():
    assert tinycalc.add(2, 3) == 5


def test_sub():
    assert tinycalc.sub(5, 3) == 2


def test_describe():
    assert tinycalc.describe(7) == "7"


def test_metadata_and_entry_points_come_from_the_commit():
    assert version("tinycalc") == "0.1"
    (ep,) = entry_points(group="tinycalc.ops")
    assert ep.load() is tinycalc.add
"""

GOOD_SUB = "a - b"
BROKEN_SUB = "a + b  # broken on purpose"


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_tiny_repo(repo: Path) -> str:
    """Create the repository with one passing commit on ``main``; returns its sha."""
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    write(
        repo,
        {
            "pyproject.toml": PYPROJECT,
            "src/tinycalc/__init__.py": PACKAGE.format(sub=GOOD_SUB),
            "tests/test_calc.py": TESTS,
            "docs/index.md": "# tinycalc\n",
        },
    )
    return commit_all(repo, "tinycalc: add, sub, describe")


def commit_files(repo: Path, files: dict[str, str], message: str) -> str:
    write(repo, files)
    return commit_all(repo, message)


def break_sub(repo: Path) -> str:
    return commit_files(repo, {"src/tinycalc/__init__.py": PACKAGE.format(sub=BROKEN_SUB)}, "break sub")


def fix_sub(repo: Path) -> str:
    return commit_files(repo, {"src/tinycalc/__init__.py": PACKAGE.format(sub=GOOD_SUB)}, "fix sub")
