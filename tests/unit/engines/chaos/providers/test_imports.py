"""``chaos run`` imports the providers by module path: that loads nothing else of Assay (no store, no config)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[5] / "include"
PROVIDERS = ("actions", "probes", "processes", "target_api", "tolerances")


def test_importing_the_providers_loads_only_their_packages():
    code = (
        "import importlib, json, sys\n"
        f"for m in {PROVIDERS!r}: importlib.import_module('assay.engines.chaos.providers.' + m)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'assay' or m.startswith('assay.'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(INCLUDE), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    loaded = set(json.loads(proc.stdout))
    expected = {"assay", "assay.engines", "assay.engines.chaos", "assay.engines.chaos.providers"}
    assert loaded == expected | {f"assay.engines.chaos.providers.{m}" for m in PROVIDERS}
