"""Dependencies: every import is declared where it runs, and the split between files holds.

* ``requirements.txt`` (the production image) declares every third-party package that ``include/assay``,
  ``plugins/``, ``dags/`` and ``scripts/`` import, at the top or inside a function, and nothing that only
  Assay's tests or the demo need;
* ``include/demo_platform/requirements.txt`` declares what the demo target imports beyond that;
* ``requirements-dev.txt`` (make run / make test) includes both, plus the test tools;
* ``constraints.txt`` holds every declared package at the declared version.
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "include" / "demo_platform"
PRODUCT_ROOTS = [REPO / "include" / "assay", REPO / "plugins", REPO / "dags", REPO / "scripts"]
TEST_TOOLS = {"pytest-timeout", "aiosmtpd", "ruff"}
# fastapi is no longer demo-only: the Assay page is a FastAPI app (it comes with Airflow's API server)
DEMO_ONLY = {"uvicorn", "httpx", "pact-python", "starlette"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> dict[str, str]:
    """Distribution -> pinned version of one requirements file (``-r`` includes followed)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins.update(_requirements(path.parent / line[3:].strip()))
            continue
        if line.startswith("-"):
            continue
        name, _, version = line.partition("==")
        assert version, f"{path.name}: {raw!r} is not pinned with =="
        pins[_norm(name)] = version.strip()
    return pins


def _imports(roots: list[Path]) -> dict[str, set[str]]:
    """Top-level module name -> files importing it (absolute imports anywhere in the file)."""
    found: dict[str, set[str]] = {}
    for root in roots:
        for path in root.rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(root.parent)))
    return found


def _local_names(roots: list[Path]) -> set[str]:
    """Modules and packages that live in the scanned trees (imported through sys.path entries of their own)."""
    names = {"assay", "assay_airflow"}
    for root in roots:
        for path in root.rglob("*.py"):
            names.add(path.stem)
            names.update(part for part in path.relative_to(root).parts[:-1])
    return names


def _third_party(roots: list[Path]) -> dict[str, set[str]]:
    local = _local_names(roots)
    return {
        name: files
        for name, files in _imports(roots).items()
        if name not in sys.stdlib_module_names and name not in local and name != "__future__"
    }


@cache
def _installed() -> dict[str, list[str]]:
    return packages_distributions()


def _distributions(module: str) -> set[str]:
    dists = _installed().get(module)
    assert dists, f"{module} is imported but no installed distribution provides it"
    return {_norm(d) for d in dists}


def test_the_scanner_finds_function_level_third_party_imports(tmp_path):
    (tmp_path / "mod.py").write_text("import os\nfrom . import x\n\ndef f():\n    from chaoslib import a\n")
    (tmp_path / "helper.py").write_text("import mod\n")
    assert set(_third_party([tmp_path])) == {"chaoslib"}


def test_every_product_import_is_declared_in_the_runtime_requirements():
    runtime = _requirements(REPO / "requirements.txt")
    undeclared = {
        module: sorted(files)[:3]
        for module, files in _third_party(PRODUCT_ROOTS).items()
        if not _distributions(module) & set(runtime)
    }
    assert not undeclared, f"imported by the product but not in requirements.txt: {undeclared}"


def test_every_demo_import_is_declared_for_the_demo():
    declared = set(_requirements(REPO / "requirements.txt")) | set(_requirements(DEMO / "requirements.txt"))
    undeclared = {
        module: sorted(files)[:3]
        for module, files in _third_party([DEMO]).items()
        if not _distributions(module) & declared
    }
    assert not undeclared, f"imported by the demo platform but declared nowhere: {undeclared}"


def test_the_image_requirements_hold_no_test_tool_and_no_demo_only_package():
    runtime = set(_requirements(REPO / "requirements.txt"))
    assert not runtime & (TEST_TOOLS | DEMO_ONLY)


@pytest.mark.parametrize("tool", sorted(TEST_TOOLS))
def test_the_dev_requirements_add_the_test_tools_to_runtime_and_demo(tool):
    dev = _requirements(REPO / "requirements-dev.txt")
    assert tool in dev
    assert set(_requirements(REPO / "requirements.txt")) <= set(dev)
    assert set(_requirements(DEMO / "requirements.txt")) <= set(dev)


def test_the_constraints_hold_every_declared_package_at_its_declared_version():
    constraints = _requirements(REPO / "constraints.txt")
    declared = _requirements(REPO / "requirements-dev.txt")
    missing = sorted(set(declared) - set(constraints))
    assert not missing, f"not in constraints.txt: {missing}"
    differ = {name: (pin, constraints[name]) for name, pin in declared.items() if constraints[name] != pin}
    assert not differ, f"requirements vs constraints.txt disagree: {differ}"
