"""Grafana, as docker-compose provisions it: datasource, dashboard provider, and the "Assay overview" dashboard.

Grafana does not run here, so the dashboard is checked the two ways that matter: its JSON is a Grafana
dashboard whose panels all query the provisioned datasource, and every panel's SQL, with the Grafana macros
expanded as Grafana's PostgreSQL datasource expands them (:func:`grafana_sql`), runs on a real PostgreSQL
database migrated by Assay and seeded with results built by the engines' own result classes, as the read-only
role airflow-init makes (docker/postgres/grafana-readonly-role.sql), and returns the expected rows.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"
GRAFANA_DIR = REPO_ROOT / "docker" / "grafana"
DASHBOARD_DIR = GRAFANA_DIR / "dashboards"
ROLE_SCRIPT = REPO_ROOT / "docker" / "postgres" / "grafana-readonly-role.sql"
DATASOURCE_TYPES = {"grafana-postgresql-datasource", "postgres"}
PANEL_TYPES_WITH_SQL = {"timeseries", "stat", "table", "barchart", "bargauge", "gauge", "piechart"}


# --------------------------------------------------------------------------
# Grafana's PostgreSQL macros
# --------------------------------------------------------------------------

# pkg/tsdb/grafana-postgresql-datasource/macros.go: any `$name(args)`, args without ')'; an unknown name is an error
MACRO_RE = re.compile(r"\$([_a-zA-Z0-9]+)\(([^)]*)\)")
INTERVAL_RE = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _interval_s(text: str) -> float:
    match = INTERVAL_RE.match(text.strip().strip("'"))
    assert match, f"not a Grafana interval: {text!r}"
    return int(match.group(1)) * UNIT_S[match.group(2)]


def _rfc3339(t: datetime) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC time, as Grafana formats the range (no fraction when it is zero)."""
    t = t.astimezone(UTC)
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    return t.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def _seconds(value: float) -> str:
    """Go's ``%v`` of a float64 number of seconds: 86400, not 86400.0."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def grafana_sql(sql: str, *, time_from: datetime, time_to: datetime, interval: str) -> str:
    """``sql`` as Grafana's PostgreSQL datasource sends it for the range [``time_from``, ``time_to``].

    First the global variables Grafana interpolates (``$__interval``, ``$__interval_ms``), then the
    datasource's macros: ``$__time(c)`` → ``c AS "time"``; ``$__timeEpoch(c)`` → ``extract(epoch from c) AS
    "time"``; ``$__timeFilter(c)`` → ``c BETWEEN 'from' AND 'to'`` (RFC 3339, UTC); ``$__timeFrom()`` /
    ``$__timeTo()`` → the quoted bounds; ``$__timeGroup(c, interval[, fill])`` →
    ``floor(extract(epoch from c)/s)*s`` (the datasource has TimescaleDB off), and ``$__timeGroupAlias`` the
    same ``AS "time"`` (the fill argument changes how Grafana fills gaps, not the SQL). Any other macro fails
    the test, as Grafana fails the query."""
    sql = sql.replace("$__interval_ms", str(int(_interval_s(interval) * 1000))).replace("$__interval", interval)
    start, end = f"'{_rfc3339(time_from)}'", f"'{_rfc3339(time_to)}'"

    def expand(match: re.Match[str]) -> str:
        name, raw = match.group(1), match.group(2)
        args = [a.strip() for a in raw.split(",")] if raw.strip() else []
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN {start} AND {end}"
        if name == "__timeFrom":
            return start
        if name == "__timeTo":
            return end
        if name == "__timeGroup" and match.string[match.end() : match.end() + 1] == ",":
            name = "__timeGroupAlias"  # Grafana's pre-5.3 compatibility: `$__timeGroup(...),` gets the alias
        if name in ("__timeGroup", "__timeGroupAlias"):
            assert 2 <= len(args) <= 3, f"${name} takes (column, interval[, fill]): {raw!r}"
            s = _seconds(_interval_s(args[1]))
            group = f"floor(extract(epoch from {args[0]})/{s})*{s}"
            return group + (' AS "time"' if name == "__timeGroupAlias" else "")
        raise AssertionError(f"macro ${name} is not one the test expands (add it to grafana_sql)")

    out = MACRO_RE.sub(expand, sql)
    assert not re.search(r"\$(\w|\{)", out), f"unexpanded variable left in:\n{out}"
    return out


def test_macros_expand_as_grafana_does():
    t0, t1 = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, 12, 30, 0, 250000, tzinfo=UTC)
    sql = (
        "SELECT $__timeGroupAlias(r.finished_at, $__interval), $__time(x), $__timeGroup(y, '5m', 0) "
        "WHERE $__timeFilter(r.finished_at) AND z <= $__timeTo() AND z >= $__timeFrom() -- $__interval_ms"
    )
    assert grafana_sql(sql, time_from=t0, time_to=t1, interval="1h") == (
        'SELECT floor(extract(epoch from r.finished_at)/3600)*3600 AS "time", x AS "time", '
        "floor(extract(epoch from y)/300)*300 "
        "WHERE r.finished_at BETWEEN '2026-11-01T00:00:00Z' AND '2026-12-01T12:30:00.25Z' "
        "AND z <= '2026-12-01T12:30:00.25Z' AND z >= '2026-11-01T00:00:00Z' -- 3600000"
    )
    assert grafana_sql("SELECT $__timeGroup(t, '1d'), $__timeEpoch(t)", time_from=t0, time_to=t1, interval="1h") == (
        'SELECT floor(extract(epoch from t)/86400)*86400 AS "time", extract(epoch from t) as "time"'
    )
    for unknown in ("SELECT $__unixEpochFilter(t)", "SELECT $myMacro(t)"):
        with pytest.raises(AssertionError, match="not one the test expands"):
            grafana_sql(unknown, time_from=t0, time_to=t1, interval="1h")


# --------------------------------------------------------------------------
# provisioning files and compose
# --------------------------------------------------------------------------


def _grafana_service() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]["grafana"]


def _mounts(svc: dict) -> dict[str, tuple[Path, bool]]:
    """container path -> (host path, read-only) of the service's bind mounts."""
    out = {}
    for vol in svc.get("volumes") or []:
        parts = str(vol).split(":")
        if len(parts) >= 2 and parts[0].startswith("./"):
            out[parts[1]] = ((REPO_ROOT / parts[0]).resolve(), len(parts) == 3 and "ro" in parts[2].split(","))
    return out


def _provisioning(kind: str) -> list[dict]:
    """The ``kind`` (datasources / providers) entries of the YAML files compose mounts for Grafana."""
    mounts = _mounts(_grafana_service())
    entries = []
    for target, (source, _) in mounts.items():
        if target.startswith("/etc/grafana/provisioning"):
            for path in sorted(source.rglob("*.y*ml")):
                entries += (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(kind) or []
    return entries


def _dashboards() -> list[tuple[Path, dict]]:
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(DASHBOARD_DIR.glob("*.json"))]


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out += panel.get("panels") or []  # panels of a collapsed row
    return out


def _datasource_uid() -> str:
    (ds,) = [d for d in _provisioning("datasources") if d.get("type") in DATASOURCE_TYPES]
    return ds["uid"]


def test_grafana_service_is_pinned_and_mounts_provisioning_read_only():
    svc = _grafana_service()
    image, _, tag = svc["image"].partition(":")
    assert image == "grafana/grafana" and re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin an exact tag: {svc['image']}"
    assert any(str(p).endswith(":3000") for p in svc["ports"])
    assert "postgres" in svc["depends_on"]
    mounts = _mounts(svc)
    expected = {
        "/etc/grafana/provisioning/datasources": GRAFANA_DIR / "provisioning" / "datasources",
        "/etc/grafana/provisioning/dashboards": GRAFANA_DIR / "provisioning" / "dashboards",
    }
    for target, source in expected.items():
        assert mounts.get(target) == (source.resolve(), True), f"{target} must be {source} mounted :ro"
    env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
    home = env.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    assert home, "the Assay overview should be Grafana's home dashboard"
    folder = next(t for t in mounts if home.startswith(t + "/"))
    assert (mounts[folder][0] / home[len(folder) + 1 :]).is_file(), f"{home} is not a mounted file"


def test_datasource_reads_the_metrics_db_as_the_read_only_role():
    env = {k: str(v) for k, v in (_grafana_service().get("environment") or {}).items()}
    (ds,) = [d for d in _provisioning("datasources") if d.get("type") in DATASOURCE_TYPES]
    expand = lambda v: re.sub(r"\$\{(\w+)\}", lambda m: env[m.group(1)], str(v))  # noqa: E731
    assert expand(ds["url"]) == "postgres:5432"
    assert expand(ds["jsonData"]["database"]) == "assay_metrics"
    assert expand(ds["user"]) == "assay_grafana"
    assert ds["secureJsonData"]["password"] == "${ASSAY_METRICS_DB_PASSWORD}"
    assert env["ASSAY_METRICS_DB_PASSWORD"].startswith("${ASSAY_GRAFANA_DB_PASSWORD:?")
    assert ds["uid"] and ds.get("editable") is False
    assert ds["jsonData"].get("timescaledb") is False, "the panels' $__timeGroup expects plain PostgreSQL"


def test_dashboard_provider_loads_the_mounted_dashboard_folder():
    providers = _provisioning("providers")
    assert providers, "no dashboard provider provisioned"
    mounts = _mounts(_grafana_service())
    for provider in providers:
        assert provider["type"] == "file" and provider.get("allowUiUpdates") is False
        path = provider["options"]["path"]
        assert path in mounts, f"provider path {path} is not mounted in the grafana service"
        source, read_only = mounts[path]
        assert read_only and source == DASHBOARD_DIR.resolve()
        assert sorted(source.glob("*.json")), f"no dashboard JSON under {source}"


def test_dashboards_are_grafana_dashboards_on_the_provisioned_datasource():
    dashboards = _dashboards()
    assert [d["title"] for _, d in dashboards] == ["Assay overview"]
    uid = _datasource_uid()
    uids = set()
    for path, dash in dashboards:
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dash["uid"]), path
        uids.add(dash["uid"])
        assert isinstance(dash["schemaVersion"], int) and dash["schemaVersion"] >= 36
        assert dash["time"]["from"].startswith("now-")
        panels = _panels(dash)
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
        for panel in panels:
            where = f"{path.name}: panel {panel.get('title')!r}"
            if panel["type"] == "row":
                continue
            assert panel["type"] in PANEL_TYPES_WITH_SQL, where
            assert panel["title"] and panel.get("description"), where
            grid = panel["gridPos"]
            assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] + grid["w"] <= 24, where
            assert panel["datasource"] == {"type": "grafana-postgresql-datasource", "uid": uid}, where
            assert panel["targets"], where
            for target in panel["targets"]:
                assert target["refId"] and target["rawQuery"] is True and target["rawSql"].strip(), where
                assert target["format"] == ("time_series" if panel["type"] == "timeseries" else "table"), where
                assert target.get("datasource", panel["datasource"]) == panel["datasource"], where
                if panel["type"] == "timeseries":
                    assert "$__timeFilter(" in target["rawSql"], f"{where}: a time series must use $__timeFilter"
        cells = [
            (p["title"], x, y)
            for p in panels
            for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
            for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
        ]
        taken: dict[tuple[int, int], str] = {}
        for title, x, y in cells:
            assert taken.setdefault((x, y), title) == title, f"{path.name}: {title!r} overlaps {taken[(x, y)]!r}"
    assert len(uids) == len(dashboards)


def test_the_overview_shows_every_kind_of_result():
    (_, dash), *_ = _dashboards()
    sql = "\n".join(t["rawSql"] for p in _panels(dash) for t in p.get("targets", []))
    for kind in ("'pytest'", "'performance'", "'security_posture'", "'compliance'", "'drift'", "'alert'"):
        assert f"kind = {kind}" in sql, f"no panel reads suite runs of kind {kind}"


def test_metric_and_check_names_in_the_sql_are_the_engines_own():
    """The names the panels filter on are the ones the engines write (the seeded runs below are built by
    the engines' result classes where that is cheap; these are the names written by the others)."""
    from assay.engines.performance.locust_stats import AGGREGATED, PERCENTILES
    from assay.engines.performance.regression import P95_METRIC
    from assay.store.repository import COVERAGE_METRIC

    (_, dash), *_ = _dashboards()
    sql = "\n".join(t["rawSql"] for p in _panels(dash) for t in p.get("targets", []))
    assert f"'{COVERAGE_METRIC}'" in sql and f"'{P95_METRIC}'" in sql and f"'{AGGREGATED}'" in sql
    assert "p50" in PERCENTILES and "'load.latency_p50_ms'" in sql
    engines = REPO_ROOT / "include" / "assay" / "engines"
    slo = (engines / "performance" / "slo.py").read_text(encoding="utf-8")
    assert 'f"load.p95_ms[{group.name}]"' in slo and '"load.throughput_rps"' in slo
    audit = (engines / "compliance" / "audit.py").read_text(encoding="utf-8")
    assert '"compliance.score"' in audit and '"compliance.controls"' in audit


# --------------------------------------------------------------------------
# every panel's SQL on real PostgreSQL, as the read-only role
# --------------------------------------------------------------------------

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # the end of the dashboard's time range in these tests
RANGE = (T - timedelta(days=14), T)
INTERVAL = "1d"
_run_ids = itertools.count()


def at(days: float, hours: float = 0) -> datetime:
    return T - timedelta(days=days) + timedelta(hours=hours)


def day(days: float) -> float:
    """The $__timeGroup(…, 1d) bucket (epoch seconds) of ``at(days)``."""
    ts = at(days).timestamp()
    return float(ts // 86400 * 86400)


def _record(store, result, when: datetime, try_number: int = 1, **ids) -> None:
    from assay.results import suite_run_record
    from assay.store import RunKey

    result.started_at, result.finished_at = when - timedelta(minutes=5), when
    key = RunKey(
        dag_id=f"assay_{result.kind}", run_id=f"seed_{next(_run_ids)}", task_id=result.name, try_number=try_number
    )
    store.record_suite_run(suite_run_record(result, key, **ids))


def _pytest(name, status, coverage=None, **counts):
    from assay.engines.per_commit.coverage import CoverageReport, FileCoverage
    from assay.engines.per_commit.pytest_suite import SuiteResult
    from assay.engines.per_commit.reportlog import empty_counts
    from assay.store import TestCaseRecord

    full = empty_counts() | counts
    full["total"] = sum(v for k, v in full.items() if k != "total")
    failed = [
        TestCaseRecord(f"tests/test_api.py::test_case_{i}", "failed", 0.2, "AssertionError: assert 0.71 >= 0.8")
        for i in range(counts.get("failed", 0))
    ]
    cov = (
        None if coverage is None else CoverageReport(files=(FileCoverage("src/app.py", 1000, int(coverage * 10), ()),))
    )
    return SuiteResult(
        name=name,
        status=status,
        message=f"{status}",
        started_at=T,
        finished_at=T,
        counts=full,
        coverage=cov,
        test_cases=failed,
    )


def _load_test(p50, p95, checks):
    from assay.engines.performance.locust_stats import AGGREGATED, AGGREGATED_METHOD
    from assay.engines.performance.regression import P95_METRIC, THROUGHPUT_METRIC
    from assay.engines.performance.result import PerformanceResult
    from assay.store import CheckRecord, MetricRecord

    pooled = {"endpoint": AGGREGATED, "method": AGGREGATED_METHOD}
    metrics = [
        MetricRecord("load.latency_p50_ms", p50, "ms", pooled),
        MetricRecord(P95_METRIC, p95, "ms", pooled),
        MetricRecord(P95_METRIC, p95 + 7, "ms", {"endpoint": "/predict", "method": "POST"}),  # not pooled
        MetricRecord(THROUGHPUT_METRIC, 40.0, "req/s", pooled | {"seconds": 50}),
    ]
    records = [CheckRecord(n, s, observed=o, threshold=t, comparator=c) for n, s, o, t, c in checks]
    return PerformanceResult(
        name="load_test",
        suite_kind="load_test",
        message="",
        started_at=T,
        finished_at=T,
        checks=records,
        metrics=metrics,
    )


def _posture(target, status, findings):
    from assay.engines.security.posture import posture_result

    ten_days_ago = datetime.now(UTC) - timedelta(days=10)
    rows = [
        SimpleNamespace(
            id=i, severity=sev, state=state, source="trivy", fingerprint=f"{target}-{i}", first_seen_at=ten_days_ago
        )
        for i, (sev, state) in enumerate(findings)
    ]
    run = SimpleNamespace(name="trivy_fs", status=status, summary={"fixed_total": 0}, findings=rows)
    return posture_result(target, [run], T)


def _compliance(suite, framework, status, score, counts):
    from assay.results import Result
    from assay.store import MetricRecord

    metrics = [MetricRecord("compliance.score", score, "percent", {"framework": framework})] if score else []
    metrics += [
        MetricRecord("compliance.controls", float(n), None, {"framework": framework, "outcome": o})
        for o, n in counts.items()
    ]
    return Result(
        name=suite,
        kind="compliance",
        status=status,
        message=f"{suite}: {status}",
        started_at=T,
        finished_at=T,
        metrics=metrics,
    )


def _drift(status, drifted, n_columns=6, threshold=0.5):
    from assay.engines.drift.results import ColumnDriftResult, DatasetDriftResult
    from assay.status import Status

    columns = tuple(
        ColumnDriftResult(
            column=c, test="psi", status=Status.FAIL, drifted=True, message=f"{c} drifted", statistic=0.4, threshold=0.2
        )
        for c in drifted
    )
    share = len(drifted) / n_columns
    return DatasetDriftResult(
        status=status,
        message="",
        started_at=T,
        finished_at=T,
        dataset_status=status,
        drift_share_threshold=threshold,
        columns=columns,
        n_columns=n_columns,
        n_drifted=len(drifted),
        share_drifted=share,
        dataset_drift=share >= threshold,
    )


def _alert(name, status, message):
    from assay.results import Result

    return Result(name=name, kind="alert", status=status, message=message, started_at=T, finished_at=T)


SHA1, SHA2 = "a1" * 20, "b2" * 20


def seed(store) -> None:
    # per-commit pytest suites; the run 40 days back is outside the range
    main = {"branch": "main", "target": "fraud-api"}
    _record(
        store, _pytest("unit", "FAIL", 81.5, passed=98, failed=2, skipped=1, xfailed=1), at(3), commit_sha=SHA1, **main
    )
    _record(
        store, _pytest("unit", "PASS", 82.0, passed=100, skipped=1, xfailed=1), at(3, 1), 2, commit_sha=SHA1, **main
    )
    _record(store, _pytest("unit", "FAIL", 79.0, passed=95, failed=5), at(1), commit_sha=SHA2, **main)
    _record(store, _pytest("integration", "PASS", None, passed=20), at(1), commit_sha=SHA2, **main)
    _record(store, _pytest("unit", "FAIL", 50.0, passed=10, failed=10), at(40), commit_sha="c3" * 20, **main)
    _record(
        store,
        _pytest("unit", "ERROR", 90.0, passed=48, error=1, xpassed=1),
        at(2),
        commit_sha="d4" * 20,
        branch="main",
        target="churn-model",
    )
    # nightly load tests of fraud-api
    fraud = {"target": "fraud-api"}
    _record(store, _load_test(90, 140, [("load.throughput_rps", "PASS", 60.0, 40.0, ">=")]), at(20), **fraud)
    _record(
        store,
        _load_test(
            120,
            180,
            [
                ("load.p95_ms[predict]", "PASS", 180.0, 250.0, "<"),
                ("load.throughput_rps", "PASS", 48.2, 40.0, ">="),
            ],
        ),
        at(5),
        **fraud,
    )
    _record(
        store,
        _load_test(
            150,
            310,
            [
                ("load.p95_ms[predict]", "FAIL", 310.0, 250.0, "<"),
                ("load.p95_ms[batch]", "SKIP", None, 1000.0, "<"),  # nothing succeeded: no p95 measured
                ("load.throughput_rps", "FAIL", 35.5, 40.0, ">="),
            ],
        ),
        at(1),
        **fraud,
    )
    # security posture per target (one suppressed critical: not open)
    _record(store, _posture("fraud-api", "FAIL", [("CRITICAL", "new")] * 4), at(30), target="fraud-api")
    _record(
        store,
        _posture("fraud-api", "FAIL", [("CRITICAL", "new")] * 2 + [("HIGH", "new")] * 3),
        at(6),
        target="fraud-api",
    )
    _record(
        store,
        _posture("churn-model", "PASS", [("HIGH", "existing"), ("LOW", "new"), ("LOW", "existing")]),
        at(2),
        target="churn-model",
    )
    _record(
        store,
        _posture(
            "fraud-api",
            "FAIL",
            [("CRITICAL", "existing"), ("CRITICAL", "suppressed")]
            + [("HIGH", "existing")] * 3
            + [("MEDIUM", "new")] * 4,
        ),
        at(1),
        target="fraud-api",
    )
    # compliance audits; the sox audit could not run (ERROR, no metrics)
    _record(
        store,
        _compliance("gdpr_compliance", "gdpr", "FAIL", 80.0, {"PASS": 8, "FAIL": 2, "ERROR": 0, "NOT_APPLICABLE": 1}),
        at(7),
    )
    _record(
        store,
        _compliance("gdpr_compliance", "gdpr", "FAIL", 90.0, {"PASS": 9, "FAIL": 1, "ERROR": 0, "NOT_APPLICABLE": 1}),
        at(1),
    )
    _record(
        store,
        _compliance("hipaa", "hipaa", "PASS", 100.0, {"PASS": 12, "FAIL": 0, "ERROR": 0, "NOT_APPLICABLE": 0}),
        at(1),
    )
    _record(store, _compliance("sox", "sox", "ERROR", None, {}), at(2))
    # drift per dataset
    _record(store, _drift("FAIL", ["amount", "merchant_risk", "country", "hour"]), at(20), dataset="transactions")
    _record(store, _drift("PASS", ["amount"]), at(4), dataset="transactions")
    _record(store, _drift("PASS", []), at(2), dataset="customers")
    _record(store, _drift("FAIL", ["amount", "merchant_risk", "country"]), at(1), dataset="transactions")
    # alert state (<rule>:<subject>, FAIL = firing); the one after the range's end does not count
    for name, subject, history in [
        ("test_failure_rate:fraud-api", {"target": "fraud-api"}, [(3, "FAIL"), (2, "FAIL"), (1, "FAIL")]),
        ("coverage_drop:fraud-api", {"target": "fraud-api"}, [(3, "FAIL"), (1, "PASS")]),
        ("critical_vulnerabilities:fraud-api", {"target": "fraud-api"}, [(6, "PASS"), (2, "FAIL"), (1, "FAIL")]),
        ("drift:transactions", {"dataset": "transactions"}, [(5, "FAIL"), (4, "PASS"), (1, "FAIL")]),
        ("compliance_violation:sox", {}, [(-1, "FAIL")]),
    ]:
        for days, status in history:
            _record(store, _alert(name, status, f"{name} {status} {days}d"), at(days), **subject)


@pytest.fixture(scope="module")
def readonly_db():
    """A migrated, seeded metrics DB and a psycopg2 connection to it as a fresh read-only role."""
    import psycopg2
    from sqlalchemy.engine import make_url
    from support.postgres import PG_HOST, PG_PORT, pg_admin

    from assay.store import MetricsStore

    if shutil.which("psql") is None:
        pytest.skip("no psql on PATH to run docker/postgres/grafana-readonly-role.sql")
    try:
        admin, user = pg_admin()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: {exc}")
    name, role = f"assay_test_{uuid.uuid4().hex[:12]}", f"assay_grafana_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    conn = {"host": PG_HOST, "port": PG_PORT, "dbname": name}
    ro = None
    try:
        store = MetricsStore(url)
        store.migrate()
        seed(store)
        store.dispose()
        env = {**os.environ, "ASSAY_GRAFANA_DB_USER": role, "ASSAY_GRAFANA_DB_PASSWORD": "only-in-this-test"}
        u = make_url(url)
        done = subprocess.run(
            [
                "psql",
                f"postgresql://{u.username}@{u.host}:{u.port}/{u.database}",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-f",
                str(ROLE_SCRIPT),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        ro = psycopg2.connect(user=role, **conn)
        ro.autocommit = True
        yield ro
    finally:
        if ro is not None:
            ro.close()
        if _role_exists(admin, role):  # its privileges in this database first, then the role
            with psycopg2.connect(user=user, **conn) as c, c.cursor() as cur:
                cur.execute(f'DROP OWNED BY "{role}"')
            c.close()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


def _role_exists(admin, role: str) -> bool:
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        return cur.fetchone() is not None


def _plain(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


def run_panel(conn, title: str) -> tuple[list[str], list[tuple]]:
    (_, dash), *_ = _dashboards()
    (panel,) = [p for p in _panels(dash) if p["title"] == title]
    (target,) = panel["targets"]
    sql = grafana_sql(target["rawSql"], time_from=RANGE[0], time_to=RANGE[1], interval=INTERVAL)
    with conn.cursor() as cur:
        cur.execute("SHOW transaction_read_only")
        assert cur.fetchone() == ("on",), "panels must run in the role's read-only sessions"
        cur.execute(sql)
        columns = [d.name for d in cur.description]
        rows = [tuple(_plain(v) for v in row) for row in cur.fetchall()]
    if target["format"] == "time_series":
        assert columns[0] == "time", f"{title}: a time series returns its time column first"
        times = [r[0] for r in rows]
        assert times == sorted(times), f"{title}: Grafana needs time series rows sorted by time"
        if "metric" in columns:
            assert len(columns) == 3, f"{title}: one value column per series named by 'metric'"
    return columns, rows


def _approx(rows):
    return [tuple(pytest.approx(v, abs=5e-3) if isinstance(v, float) else v for v in row) for row in rows]


def _series(rows):
    """Time series rows in a fixed order (rows of the same time may come in any order, by collation)."""
    return sorted(rows, key=lambda r: (r[0], str(r[1:])))


EXPECTED_SERIES = {
    "Test pass rate per target": (
        ["time", "metric", "pass rate"],
        [(day(3), "fraud-api", 99.0), (day(2), "churn-model", 98.0), (day(1), "fraud-api", 95.83)],
    ),
    "Line coverage per target": (
        ["time", "metric", "line coverage"],
        [(day(3), "fraud-api", 81.75), (day(2), "churn-model", 90.0), (day(1), "fraud-api", 79.0)],
    ),
    "Load test latency p50 / p95 (all endpoints)": (
        ["time", "metric", "value"],
        [
            (at(5), "fraud-api p50", 120.0),
            (at(5), "fraud-api p95", 180.0),
            (at(1), "fraud-api p50", 150.0),
            (at(1), "fraud-api p95", 310.0),
        ],
    ),
    "Load test p95 vs SLO per request group": (
        ["time", "metric", "value"],
        [
            (at(5), "fraud-api predict SLO", 250.0),
            (at(5), "fraud-api predict p95", 180.0),
            (at(1), "fraud-api batch SLO", 1000.0),
            (at(1), "fraud-api predict SLO", 250.0),
            (at(1), "fraud-api predict p95", 310.0),
        ],
    ),
    "Load test throughput vs SLO floor": (
        ["time", "metric", "value"],
        [
            (at(5), "fraud-api SLO floor", 40.0),
            (at(5), "fraud-api throughput", 48.2),
            (at(1), "fraud-api SLO floor", 40.0),
            (at(1), "fraud-api throughput", 35.5),
        ],
    ),
    "Open vulnerabilities by severity over time (all targets)": (
        ["time", "metric", "value"],
        [
            (day(d), sev, float(n))
            for d, counts in [
                (6, {"CRITICAL": 2, "HIGH": 3}),
                (2, {"HIGH": 1, "LOW": 2}),
                (1, {"CRITICAL": 1, "HIGH": 3, "MEDIUM": 4}),
            ]
            for sev, n in ((s, counts.get(s, 0)) for s in ("CRITICAL", "HIGH", "LOW", "MEDIUM", "UNKNOWN"))
        ],
    ),
    "Compliance score per framework": (
        ["time", "metric", "score"],
        [(at(7), "gdpr", 80.0), (at(1), "gdpr", 90.0), (at(1), "hipaa", 100.0)],
    ),
    "Drift share per dataset": (
        ["time", "metric", "drift share"],
        [(at(4), "transactions", 1 / 6), (at(2), "customers", 0.0), (at(1), "transactions", 0.5)],
    ),
}

EXPECTED_TABLES = {
    "Firing alerts": (["firing"], [(3,)]),
    "Firing alerts: rule and subject": (
        ["alert", "subject", "firing since", "last evaluated", "message"],
        [
            ("test_failure_rate:fraud-api", "fraud-api", at(3), at(1), "test_failure_rate:fraud-api FAIL 1d"),
            (
                "critical_vulnerabilities:fraud-api",
                "fraud-api",
                at(2),
                at(1),
                "critical_vulnerabilities:fraud-api FAIL 1d",
            ),
            ("drift:transactions", "transactions", at(1), at(1), "drift:transactions FAIL 1d"),
        ],
    ),
    "Latest per-commit suites": (
        [
            "target",
            "suite",
            "branch",
            "commit",
            "status",
            "passed",
            "failed",
            "errors",
            "skipped",
            "line coverage",
            "finished",
        ],
        [
            ("churn-model", "unit", "main", "d4" * 6, "ERROR", 48.0, 0.0, 1.0, 0.0, 90.0, at(2)),
            ("fraud-api", "integration", "main", "b2" * 6, "PASS", 20.0, 0.0, 0.0, 0.0, None, at(1)),
            ("fraud-api", "unit", "main", "b2" * 6, "FAIL", 95.0, 5.0, 0.0, 0.0, 79.0, at(1)),
        ],
    ),
    "Open vulnerabilities by severity (latest scan per target)": (
        ["target", "critical", "high", "medium", "low", "unknown", "critical mean age (days)", "status", "scanned at"],
        [
            ("fraud-api", 1.0, 3.0, 4.0, 0.0, 0.0, 10.0, "FAIL", at(1)),
            ("churn-model", 0.0, 1.0, 0.0, 2.0, 0.0, 0.0, "PASS", at(2)),
        ],
    ),
    "Compliance per framework (latest audit)": (
        ["framework", "score", "violated", "not checked", "passed", "status", "audited at"],
        [
            ("gdpr", 90.0, 1.0, 0.0, 9.0, "FAIL", at(1)),
            ("hipaa", 100.0, 0.0, 0.0, 12.0, "PASS", at(1)),
            ("sox", None, None, None, None, "ERROR", at(2)),
        ],
    ),
    "Drift per dataset (latest check)": (
        ["dataset", "drift share", "drift when >=", "drifted", "evaluated", "drifted columns", "status", "checked at"],
        [
            ("transactions", 0.5, 0.5, 3.0, 6, "amount, merchant_risk, country", "FAIL", at(1)),
            ("customers", 0.0, 0.5, 0.0, 6, "", "PASS", at(2)),
        ],
    ),
}


def test_every_panel_has_expected_rows():
    (_, dash), *_ = _dashboards()
    titles = {p["title"] for p in _panels(dash) if p["type"] != "row"}
    assert titles == set(EXPECTED_SERIES) | set(EXPECTED_TABLES), "every panel's rows are asserted below"


@pytest.mark.postgres
@pytest.mark.parametrize("title", sorted(EXPECTED_SERIES))
def test_time_series_panel_sql(readonly_db, title):
    columns, rows = run_panel(readonly_db, title)
    want_columns, want_rows = EXPECTED_SERIES[title]
    assert columns == want_columns
    assert _series(rows) == _approx(_series(want_rows))


@pytest.mark.postgres
@pytest.mark.parametrize("title", sorted(EXPECTED_TABLES))
def test_table_panel_sql(readonly_db, title):
    columns, rows = run_panel(readonly_db, title)
    want_columns, want_rows = EXPECTED_TABLES[title]
    assert columns == want_columns
    assert rows == _approx(want_rows)


@pytest.mark.postgres
def test_the_time_range_moves_what_panels_show(readonly_db):
    """A range ending three days back: the later runs disappear from the series and the 'latest' tables."""
    (_, dash), *_ = _dashboards()
    by_title = {p["title"]: p["targets"][0]["rawSql"] for p in _panels(dash)}
    earlier = {"time_from": at(10), "time_to": at(2, -1), "interval": "1d"}
    with readonly_db.cursor() as cur:
        cur.execute(grafana_sql(by_title["Compliance score per framework"], **earlier))
        assert [(t, f, s) for t, f, s in cur.fetchall()] == [(at(7), "gdpr", 80.0)]
        cur.execute(grafana_sql(by_title["Firing alerts: rule and subject"], **earlier))
        assert [r[:3] for r in cur.fetchall()] == [  # the coverage drop had not resolved yet
            ("coverage_drop:fraud-api", "fraud-api", at(3)),
            ("test_failure_rate:fraud-api", "fraud-api", at(3)),
        ]
        cur.execute(grafana_sql(by_title["Open vulnerabilities by severity (latest scan per target)"], **earlier))
        assert [(r[0], r[1], r[2]) for r in cur.fetchall()] == [("fraud-api", 2.0, 3.0)]


@pytest.mark.postgres
def test_the_read_only_role_changes_nothing_in_the_seeded_db(readonly_db):
    """What Grafana's role reads it cannot change: no INSERT, UPDATE, DELETE, TRUNCATE or CREATE, even after
    lifting the read-only session default (a separate session, so the panels' one stays as it is)."""
    import psycopg2

    statements = (
        "INSERT INTO assay_suite_run (id) VALUES (-1)",
        "UPDATE assay_metric SET value = 0",
        "DELETE FROM assay_finding",
        "TRUNCATE assay_check",
        "CREATE TABLE grafana_owned (x int)",
    )
    other = psycopg2.connect(readonly_db.dsn)
    other.autocommit = True
    try:
        with other.cursor() as cur:
            for statement in statements:
                with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                    cur.execute(statement)
            cur.execute("SET default_transaction_read_only = off")
            for statement in statements:
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
            cur.execute("SELECT count(*) FROM assay_suite_run WHERE kind = 'alert'")
            assert cur.fetchone() == (12,)
    finally:
        other.close()
