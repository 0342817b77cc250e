"""The engine package never imports airflow (DESIGN.md); only plugins/assay_airflow does."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "include" / "assay"


def test_no_engine_module_mentions_airflow_imports():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ENGINE)}: {n}" for n in names if n.split(".")[0] in ("airflow", "assay_airflow")
            ]
    assert offenders == []
    assert len(list(ENGINE.rglob("*.py"))) > 15  # the scan really saw the package


def test_importing_every_engine_module_loads_no_airflow():
    modules = sorted(
        ".".join(("assay", *p.relative_to(ENGINE).with_suffix("").parts)).removesuffix(".__init__")
        for p in ENGINE.rglob("*.py")
        if "migrations" not in p.parts and "locust_plugin" not in p.parts  # the plugin runs only inside Locust
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ENGINE.parent), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
