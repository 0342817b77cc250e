"""The Assay page's queries on a year of a busy platform: p95 of ``overview`` and ``run_detail`` <= 300 ms.

Seeds a throw-away PostgreSQL database (``ASSAY_TEST_PG_HOST``/``_PORT``, default 127.0.0.1:5432, trust auth)
migrated to head (revision 0006's indexes included) with COPY: 100,000 suite runs over 365 days and 10 targets
(per-commit pytest runs of 3 suites, 5% retried; nightly load tests; drift per dataset; security scans of 3
scanners; weekly compliance audits; alert evaluations), 1,000,000 test cases, 1,000,000 metrics, 100,000
findings. Then times ``queries.overview`` and ``queries.run_detail`` (a random per-commit DAG run each time)
over 50 calls each (and, for information, the overview page: the query, its SVG charts and the Jinja2
template, in a process with Airflow imported, as is and with its start-up heap frozen), prints p50/p95/max, the slowest SQL statement of an overview call and its
``EXPLAIN (ANALYZE, BUFFERS)``, and drops the database. Exit 1 when a p95 exceeds the target.

    .venv/bin/python benchmarks/dashboard.py [--requests 50] [--target-ms 300] [--keep]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include"), str(REPO / "tests")]

from sqlalchemy import event  # noqa: E402
from support.postgres import PG_HOST, PG_PORT, pg_admin  # noqa: E402

from assay.store import MetricsStore, queries  # noqa: E402

N_SUITE_RUNS, N_TEST_CASES, N_METRICS, N_FINDINGS = 100_000, 1_000_000, 1_000_000, 100_000
TARGETS = [f"service-{i}" for i in range(10)]
DATASETS = ["transactions", "customers", "events"]
SCANNERS = ["trivy", "bandit", "gitleaks"]
SEVERITIES = ["critical", "high", "medium", "low", "info"]
PYTEST_SUITES = ["unit", "integration", "contract"]


def _ts(t: datetime) -> str:
    return t.isoformat()


class Seeder:
    def __init__(self, now: datetime, rng: random.Random) -> None:
        self.now, self.rng = now, rng
        self.runs = io.StringIO()
        self.cases, self.metrics, self.findings, self.checks = io.StringIO(), io.StringIO(), io.StringIO(), []
        self.n = {"runs": 0, "cases": 0, "metrics": 0, "findings": 0, "checks": 0}
        self.checks_buf = io.StringIO()
        self.per_commit_runs: list[str] = []

    def run(self, *, kind, name, target, dag_id, run_id, task_id, at, status, sha=None, dataset=None, try_number=1):
        self.n["runs"] += 1
        sid = self.n["runs"]
        summary = json.dumps({"report_path": f"/work/{dag_id}/{run_id}/{name}.html"} if kind != "alert" else {})
        row = [
            str(sid),
            kind,
            name,
            target,
            sha or r"\N",
            "main" if sha else r"\N",
            r"\N",
            dataset or r"\N",
            dag_id,
            run_id,
            task_id,
            "-1",
            str(try_number),
            _ts(at - timedelta(seconds=40)),
            _ts(at),
            status,
            f"{status}: {name}",
            summary.replace("\\", "\\\\"),
        ]
        self.runs.write("\t".join(row) + "\n")
        return sid

    def case(self, sid, node, outcome, dur, msg=None):
        self.n["cases"] += 1
        self.cases.write(f"{self.n['cases']}\t{sid}\t{node}\t{outcome}\t{dur:.3f}\t{msg or chr(92) + 'N'}\n")

    def metric(self, sid, name, value, unit="", labels=None):
        self.n["metrics"] += 1
        lab = json.dumps(labels or {})
        self.metrics.write(f"{self.n['metrics']}\t{sid}\t{name}\t{value:.4f}\t{unit or chr(92) + 'N'}\t{lab}\n")

    def check(self, sid, name, status, observed, threshold, comparator, severity="error"):
        self.n["checks"] += 1
        self.checks_buf.write(
            f"{self.n['checks']}\t{sid}\t{name}\t{status}\t{observed}\t{threshold}\t{comparator}\t{severity}\t\\N\n"
        )

    def finding(self, sid, source, rule, sev, resource, fp=None, state=None, first=None):
        self.n["findings"] += 1
        self.findings.write(
            f"{self.n['findings']}\t{sid}\t{source}\t{rule}\t{sev}\t{resource}\t{rule} in {resource}\t{{}}\t"
            f"{fp or chr(92) + 'N'}\t{state or chr(92) + 'N'}\t{_ts(first) if first else chr(92) + 'N'}\n"
        )

    def build(self) -> None:
        rng, now = self.rng, self.now
        start = now - timedelta(days=365)
        # the scheduled DAGs, per target and day / week
        for day in range(365):
            t0 = start + timedelta(days=day, hours=2)
            for target in TARGETS:
                sid = self.run(
                    kind="performance",
                    name="load_test",
                    target=target,
                    dag_id="assay_nightly_performance",
                    run_id=f"scheduled__{day}_{target}",
                    task_id="load_test",
                    at=t0,
                    status="FAIL" if day % 10 == 3 else "PASS",
                )
                agg = {"endpoint": "Aggregated", "method": "ALL"}
                p95 = rng.gauss(200, 30)
                self.metric(sid, "load.latency_p50_ms", p95 / 3, "ms", agg)
                self.metric(sid, "load.latency_p95_ms", p95, "ms", agg)
                self.metric(sid, "load.throughput_steady_rps", rng.gauss(90, 5), "req/s", agg)
                for e in range(40):  # per-endpoint figures
                    lab = {"endpoint": f"/api/e{e}", "method": "GET"}
                    self.metric(sid, "load.latency_p95_ms", rng.gauss(200, 40), "ms", lab)
                    self.metric(sid, "load.rps", rng.gauss(2, 0.2), "req/s", lab)
                self.check(sid, "load.p95_ms[Aggregated]", "PASS", p95, 250.0, "<=")
                for ds in DATASETS:
                    sid = self.run(
                        kind="drift",
                        name="drift",
                        target=target,
                        dag_id="assay_drift_checks",
                        run_id=f"scheduled__{day}_{target}",
                        task_id=f"drift_{ds}",
                        at=t0,
                        dataset=ds,
                        status=rng.choice(["PASS", "PASS", "FAIL"]),
                    )
                    share = rng.random()
                    self.check(sid, "dataset_drift", "FAIL" if share >= 0.5 else "PASS", share, 0.5, "<")
                    for c in range(8):
                        stat = rng.random() * 0.5
                        self.check(sid, f"col{c}:psi", "FAIL" if stat > 0.2 else "PASS", stat, 0.2, "<")
                        self.metric(sid, "drift_statistic", stat, None, {"column": f"col{c}", "test": "psi"})
                    self.metric(sid, "drift_share", share, "ratio")
                for sc in SCANNERS:
                    sid = self.run(
                        kind="security",
                        name=sc,
                        target=target,
                        dag_id="assay_security_scan",
                        run_id=f"scheduled__{day}_{target}",
                        task_id=f"scan_{sc}",
                        at=t0,
                        status="FAIL",
                    )
                    for f in range(rng.randint(1, 4)):
                        fp = f"{target}-{sc}-{rng.randint(0, 30)}"
                        self.finding(
                            sid,
                            sc,
                            f"RULE-{f}",
                            rng.choice(SEVERITIES),
                            f"pkg{f}",
                            fp,
                            rng.choice(["open", "open", "suppressed", "new"]),
                            t0 - timedelta(days=rng.randint(0, 200)),
                        )
                if day % 7 == 0:
                    for fw in ("gdpr", "soc2"):
                        sid = self.run(
                            kind="compliance",
                            name=fw,
                            target=target,
                            dag_id="assay_weekly_compliance",
                            run_id=f"scheduled__{day}_{target}",
                            task_id="audit",
                            at=t0,
                            status="FAIL",
                        )
                        self.metric(sid, "compliance.score", rng.uniform(60, 100), "percent", {"framework": fw})
                        for v in range(6):
                            self.finding(sid, "compliance", f"{fw.upper()}-{v}", "high", f"store{v}")
                for rule in ("test_failure_rate", "coverage_drop"):
                    status = rng.choice(["PASS", "PASS", "FAIL"])
                    sid = self.run(
                        kind="alert",
                        name=f"{rule}:{target}",
                        target=target,
                        dag_id="assay_alerts",
                        run_id=f"scheduled__{day}_{target}_{rule}",
                        task_id="evaluate",
                        at=t0,
                        status=status,
                    )
                    self.check(sid, rule, status, 12.0, 10.0, ">", "alert")
        # per-commit runs fill the rest: 3 suites, ~5% retried, ~14 test cases each
        remaining = N_SUITE_RUNS - self.n["runs"]
        dag_runs = remaining // 3
        nodes = [f"tests/test_mod{m}.py::test_case_{c}" for m in range(40) for c in range(25)]
        cases_per_suite = N_TEST_CASES // (dag_runs * 3)
        for i in range(dag_runs):
            at = start + timedelta(seconds=365 * 86400 * i / dag_runs)
            target = TARGETS[i % len(TARGETS)]
            sha = uuid.UUID(int=rng.getrandbits(128)).hex + "00000000"
            run_id = f"manual__{i}"
            self.per_commit_runs.append(run_id)
            for suite in PYTEST_SUITES:
                if self.n["runs"] >= N_SUITE_RUNS:
                    break
                failing = rng.random() < 0.08
                sid = self.run(
                    kind="pytest",
                    name=suite,
                    target=target,
                    dag_id="assay_per_commit",
                    run_id=run_id,
                    task_id="run_suite",
                    at=at,
                    status="FAIL" if failing else "PASS",
                    sha=sha,
                )
                for k in range(cases_per_suite):
                    node = nodes[rng.randrange(len(nodes))]
                    bad = failing and k == 0
                    self.case(
                        sid, node, "failed" if bad else "passed", rng.random(), "AssertionError: x" if bad else None
                    )
                self.metric(sid, "coverage.line_percent", rng.uniform(70, 95), "percent")
                self.check(sid, "coverage.line_percent", "PASS", 80.0, 75.0, ">=")
        while self.n["cases"] < N_TEST_CASES:  # round up to the exact counts on the newest runs
            self.case(self.n["runs"] - rng.randrange(1000), nodes[rng.randrange(len(nodes))], "passed", 0.1)
        while self.n["metrics"] < N_METRICS:
            sid = self.n["runs"] - rng.randrange(20000)
            self.metric(sid, "coverage.file_line_percent", rng.uniform(0, 100), "percent", {"file": "src/x.py"})
        while self.n["findings"] < N_FINDINGS:
            self.finding(self.n["runs"] - rng.randrange(20000), "bandit", "B101", "low", "src/y.py")


COLUMNS = {
    "assay_suite_run": "id, kind, name, target, commit_sha, branch, model_version, dataset, dag_id, run_id, task_id, "
    "map_index, try_number, started_at, finished_at, status, message, summary",
    "assay_test_case": "id, suite_run_id, node_id, outcome, duration_s, message",
    "assay_metric": "id, suite_run_id, name, value, unit, labels",
    "assay_check": "id, suite_run_id, name, status, observed, threshold, comparator, severity, message",
    "assay_finding": "id, suite_run_id, source, rule_id, severity, resource, title, evidence, fingerprint, state, "
    "first_seen_at",
}


def seed(store: MetricsStore, seeder: Seeder) -> None:
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        for table, buf in (
            ("assay_suite_run", seeder.runs),
            ("assay_test_case", seeder.cases),
            ("assay_metric", seeder.metrics),
            ("assay_check", seeder.checks_buf),
            ("assay_finding", seeder.findings),
        ):
            buf.seek(0)
            cur.copy_expert(f"COPY {table} ({COLUMNS[table]}) FROM STDIN", buf)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
        raw.dbapi_connection.autocommit = True
        raw.dbapi_connection.cursor().execute("VACUUM ANALYZE")
        raw.dbapi_connection.autocommit = False
    finally:
        raw.close()
    # a performance baseline per target
    for target in TARGETS:
        store.accept_baseline(
            kind="performance", subject=target, run_id=f"scheduled__300_{target}", accepted_by="bench"
        )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t) * 1000)
    return out


class StatementTimer:
    """Every SQL statement an engine runs, with its parameters and duration."""

    def __init__(self, engine) -> None:
        self.engine, self.seen = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["t"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(((time.perf_counter() - conn.info["t"]) * 1000, cursor.mogrify(statement, parameters)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--target-ms", type=float, default=300.0)
    ap.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = ap.parse_args()

    admin, user = pg_admin()
    name = f"assay_bench_dashboard_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    store = MetricsStore(url)
    failed = False
    try:
        store.migrate()
        now = datetime.now(UTC)
        t = time.perf_counter()
        seeder = Seeder(now, random.Random(13))
        seeder.build()
        built = time.perf_counter() - t
        seed(store, seeder)
        print(
            f"seeded {name}: {seeder.n['runs']:,} suite runs, {seeder.n['cases']:,} test cases, "
            f"{seeder.n['metrics']:,} metrics, {seeder.n['findings']:,} findings, {seeder.n['checks']:,} checks "
            f"(generated in {built:.1f}s, COPY + VACUUM ANALYZE in {time.perf_counter() - t - built:.1f}s)"
        )
        rng = random.Random(7)
        queries.overview(store)  # warm the pool and the caches once
        runs = [rng.choice(seeder.per_commit_runs) for _ in range(args.requests)]
        sys.path.insert(0, str(REPO / "plugins"))
        from assay_airflow.plugin import freeze_startup_heap
        from assay_airflow.ui import app as ui  # the page: the query, its charts and the template

        page = ui.TEMPLATES.env.get_template("overview.html")

        def overview_page(i: int) -> str:
            data = queries.overview(store)
            return page.render(base="/assay", data=data, views=ui._overview_charts(data), charts=ui.charts)

        overview_page(0)  # the first render builds the template's macros and the charts' code paths once
        results = {}
        # With Airflow imported, the process holds a large long-lived heap: every ~12th call would pay a full
        # (gen 2) garbage collection over it. The plugin freezes that heap when the page is first served
        # (assay_airflow.plugin.freeze_startup_heap): the page as it was without that first, for comparison,
        # then every figure as the API server serves it.
        results["overview_html_unfrozen"] = timed(overview_page, args.requests)
        freeze_startup_heap()
        results |= {
            "overview": timed(lambda i: queries.overview(store), args.requests),
            "run_detail": timed(lambda i: queries.run_detail(store, "assay_per_commit", runs[i]), args.requests),
            "test_history": timed(
                lambda i: queries.test_history(
                    store, target=TARGETS[i % 10], node_id=f"tests/test_mod{i}.py::test_case_3"
                ),
                args.requests,
            ),
            "overview_html": timed(overview_page, args.requests),
        }
        gc.unfreeze()
        print(
            f"\n{'query':<24}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}  target p95 <= {args.target_ms:.0f} ms"
        )
        print(
            "overview_html_unfrozen, each call (ms): " + " ".join(f"{x:.0f}" for x in results["overview_html_unfrozen"])
        )
        for q, ms in results.items():
            p95 = percentile(ms, 95)
            verdict = "ok" if p95 <= args.target_ms else "TOO SLOW"
            failed |= p95 > args.target_ms and q in ("overview", "run_detail", "overview_html")
            print(f"{q:<24}{len(ms):>4}{statistics.median(ms):>10.1f}{p95:>10.1f}{max(ms):>10.1f}  {verdict}")
        ov = queries.overview(store)
        print(
            f"\noverview payload: {len(ov['verdicts'])} verdicts, {sum(len(t['commits']) for t in ov['tests'])} "
            f"commit points, {sum(len(p['points']) for p in ov['performance'])} nightly points, "
            f"{len(ov['drift'])} drift rows, {len(ov['alerts'])} firing alerts, {len(json.dumps(ov)):,} bytes"
        )
        with StatementTimer(store.engine) as timer:
            queries.overview(store)
        timer.seen.sort(key=lambda x: -x[0])
        print("\nslowest statements of one overview call (ms):")
        for ms, sql in timer.seen[:5]:
            print(f"  {ms:7.1f}  {sql.decode()[:150].replace(chr(10), ' ')}")
        slowest = timer.seen[0][1].decode()
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest)
            print("\nEXPLAIN ANALYZE of the slowest:\n" + "\n".join(r[0] for r in cur.fetchall()))
        finally:
            raw.close()
    finally:
        store.dispose()
        if not args.keep:
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"\ndropped {name}")
        admin.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
