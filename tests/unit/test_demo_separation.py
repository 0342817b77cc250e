"""The product package holds no word of the bundled demo, and the demo's own ``assay/`` folder (what Assay
needs to test it) can never stand in for the product package.

DESIGN.md: the demo platform, and everything Assay needs only to test it, lives under
``include/demo_platform/``; ``include/assay`` imports none of it, names no path into it, and has no word
of it in any file. The engines find the demo's assets only through ``include/config/assay.yaml``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = REPO / "include" / "assay"
DEMO = REPO / "include" / "demo_platform"
# The demo's vocabulary. "demographic" (fairness: demographic parity) is a different word, not the demo.
DEMO_WORDS = re.compile(r"fraud|demo(?!graphic)|customer", re.IGNORECASE)


def _demo_packages() -> set[str]:
    """Every top-level name the demo platform makes importable (its packages and modules)."""
    names = {p.name for p in DEMO.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    return names | {p.stem for p in DEMO.glob("*.py")}


def _product_files() -> list[Path]:
    return sorted(p for p in PRODUCT.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_the_product_package_imports_nothing_of_the_demo():
    demo = _demo_packages()
    assert {"fraud", "serving"} <= demo  # the scan knows what the demo makes importable
    offenders = []
    for path in PRODUCT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "demo_platform" in node.value:
                names = [node.value]  # a path into the demo (or a "module:function" in it)
            else:
                continue
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno}: {n}"
                for n in names
                if n.split(".")[0] in demo or "demo_platform" in n
            ]
    assert offenders == []
    assert len(list(PRODUCT.rglob("*.py"))) > 50  # the scan really saw the package


def test_no_file_of_the_product_package_has_a_word_of_the_demo():
    offenders = []
    files = _product_files()
    for path in files:
        rel = path.relative_to(REPO)
        if DEMO_WORDS.search(str(path.relative_to(PRODUCT))):
            offenders.append(f"{rel}: file name")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # no binary file belongs in the package
            offenders.append(f"{rel}: not UTF-8 text")
            continue
        offenders += [
            f"{rel}:{i}: {line.strip()}" for i, line in enumerate(text.splitlines(), 1) if DEMO_WORDS.search(line)
        ]
    assert offenders == []
    assert {".py", ".j2", ".html", ".txt"} <= {p.suffix for p in files}  # code, templates and data were read


def test_the_word_check_would_see_a_demo_word():
    """The check above is not vacuous: each spelling of the demo is caught, the fairness term is not."""
    for line in ('label = "is_fraud"', "DEMO_MUTATION = ...", "customer_id", "from fraud import x"):
        assert DEMO_WORDS.search(line), line
    assert not DEMO_WORDS.search("demographic_parity_difference")


@pytest.mark.parametrize(
    "pythonpath",
    [["include"], ["include/demo_platform", "include"]],
    ids=["include", "demo-first"],
)
def test_import_assay_from_the_demo_folder_is_the_product_package(pythonpath):
    """From a process whose cwd is include/demo_platform (as the demo's service, pipelines and mutation
    runs are), ``import assay`` still loads include/assay: the demo's ``assay/`` folder has no
    ``__init__.py``, so it is at most a namespace portion, which a regular package always beats."""
    assert (DEMO / "assay").is_dir() and not (DEMO / "assay" / "__init__.py").exists()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env["PYTHONPATH"] = os.pathsep.join(str(REPO / p) for p in pythonpath)
    code = "import assay, assay.config; print(assay.__file__); print(assay.config.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=DEMO, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(PRODUCT / "__init__.py"), str(PRODUCT / "config.py")]
