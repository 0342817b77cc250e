"""DAG parse time: each DAG file's own import, in fresh interpreters, against the < 0.5 s target.

What is measured, per DAG file and round, in a fresh interpreter (``python -c``, with ``include`` and
``plugins`` on the path as ``make run`` sets them):

1. not timed: what Airflow's DAG processor has already paid before it hands a file to its parse process:
   ``airflow.sdk``, ``airflow.dag_processing.processor`` (the parse process is forked from a process that
   holds them) and the ``airflow.*`` modules the DAG file names (the processor pre-imports them:
   ``[dag_processor] parsing_pre_import_modules``, on by default);
2. timed: executing the DAG file as a module (what ``DagBag`` does): everything it imports that was not
   imported yet (``assay_airflow``, ``assay``, yaml...), loading and validating ``assay.yaml``, building
   the DAG. Wall time (``perf_counter``) and CPU time (``process_time``, which other processes on a
   shared machine do not inflate); the ratio to step 1's ``airflow.sdk`` import in the same interpreter is
   printed too, so runs on machines of different speed or load compare;
3. the heavy modules (numpy, pandas, scipy, ...) found in ``sys.modules`` after the import: none may be.

Each figure is the median and the max over ``--rounds`` fresh interpreters. Exit status 1 if a DAG file's
median wall time is over ``--limit`` (0.5 s) or it loaded a heavy module.

    .venv/bin/python benchmarks/dag_parse.py [--rounds 5] [--limit 0.5] [dags/assay_per_commit.py ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "scipy", "torch", "great_expectations", "sklearn", "statsmodels")

CHILD = """
import importlib, importlib.util, json, sys, time
path = sys.argv[1]
t0 = time.perf_counter()
import airflow.sdk
sdk_s = time.perf_counter() - t0
import airflow.dag_processing.processor
from airflow.utils.file import iter_airflow_imports
for name in iter_airflow_imports(path):
    importlib.import_module(name)
before = set(sys.modules)
w0, c0 = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("assay_dag_under_test", path)
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
wall, cpu = time.perf_counter() - w0, time.process_time() - c0
heavy = sorted(m for m in %(heavy)r if m in sys.modules)
print(json.dumps({"wall": wall, "cpu": cpu, "sdk": sdk_s, "new_modules": len(set(sys.modules) - before), "heavy": heavy}))
"""


def measure(dag_file: Path, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD % {"heavy": HEAVY}, str(dag_file)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{dag_file.name} did not import:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dag_files", nargs="*", type=Path, help="default: every dags/*.py")
    parser.add_argument("--rounds", type=int, default=5, help="fresh interpreters per DAG file (default 5)")
    parser.add_argument("--limit", type=float, default=0.5, help="seconds a DAG file's median may take (0.5)")
    args = parser.parse_args()
    files = args.dag_files or sorted((REPO / "dags").glob("*.py"))
    with tempfile.TemporaryDirectory(prefix="dag-parse-") as home:
        env = os.environ | {"PYTHONPATH": f"{REPO / 'include'}:{REPO / 'plugins'}"}
        env.setdefault("AIRFLOW_HOME", str(Path(home) / "airflow"))
        env.setdefault("ASSAY_HOME", str(Path(home) / "assay"))
        print(f"{args.rounds} fresh interpreters per DAG file; limit {args.limit:.2f} s (median wall)")
        print(
            f"{'DAG file':32} {'wall med':>9} {'wall max':>9} {'cpu med':>8} {'cpu max':>8} {'/sdk':>6} {'new mods':>8}"
        )
        failed = []
        for path in files:
            runs = [measure(path.resolve(), env) for _ in range(args.rounds)]
            wall = [r["wall"] for r in runs]
            cpu = [r["cpu"] for r in runs]
            ratio = statistics.median(r["wall"] / r["sdk"] for r in runs)
            heavy = sorted({m for r in runs for m in r["heavy"]})
            verdict = "" if statistics.median(wall) <= args.limit and not heavy else "  OVER"
            print(
                f"{path.name:32} {statistics.median(wall):9.3f} {max(wall):9.3f} {statistics.median(cpu):8.3f}"
                f" {max(cpu):8.3f} {ratio:6.2f} {statistics.median(r['new_modules'] for r in runs):8.0f}"
                + (f"  heavy: {', '.join(heavy)}" if heavy else "")
                + verdict
            )
            if verdict:
                failed.append(path.name)
        sdk = statistics.median(r["sdk"] for r in runs)
        print(f"(reference: import airflow.sdk took {sdk:.3f} s in the last file's interpreters; /sdk = wall / that)")
    if failed:
        print(f"over the limit or loading a heavy module: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
