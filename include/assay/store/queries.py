"""Read-side queries of the Assay page: each function returns the JSON-safe payload of one view, which the
page renders and the JSON API (``/assay/api/...``) returns as it is.

* ``overview(store, commits=20, days=30)``: per target, the last verdict of each DAG; test pass rate and
  coverage over the last ``commits`` commits; nightly p50/p95/throughput over ``days`` days against the SLO and
  the accepted baseline; drift per dataset; open vulnerabilities by severity and age; compliance score per
  framework with its violations; the alert rules firing now.
* ``run_detail(store, dag_id, run_id)``: every suite (newest try), check, metric and finding of one DAG run;
  failed tests with a copy-paste ``pytest`` command; report links found in the suites' summaries.
* ``test_history(store, target=..., node_id=..., limit=50)``: one test's outcomes across commits.
* ``flaky(store, target=..., window=20)``: ``assay.alerts.flaky.flaky_tests`` when that module exists, else
  ``available: False`` (never invented data).

Every query is bounded by an index of revision 0006 (``benchmarks/dashboard.py`` times them on a year of data);
no airflow import.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from assay.store.models import Baseline, Check, Finding, Metric, SuiteRun, TestCase

COVERAGE_METRIC = "coverage.line_percent"  # = assay.store.repository.COVERAGE_METRIC
P50_METRIC, P95_METRIC = "load.latency_p50_ms", "load.latency_p95_ms"
THROUGHPUT_METRICS = ("load.throughput_steady_rps", "load.rps")
AGGREGATED = "Aggregated"  # the pooled figures' endpoint label (assay.engines.performance.locust_stats)
SEVERITIES = ("critical", "high", "medium", "low", "info", "unknown")
STATUS_ORDER = {"ERROR": 5, "FAIL": 4, "WARN": 3, "SKIP": 1, "PASS": 2}  # worst first when sorted descending
REPORT_KEY_ENDINGS = ("report", "report_path", "html")
FAILED_OUTCOMES = ("failed", "error")
ALERT_KIND = "alert"


# The indexes these queries need, created by revision 0006 (``0006_dashboard_indexes.py`` spells them out; the
# migration test compares the schema with the models' metadata, which these declarations join on import, and
# the migration imports this module so they are there whenever a schema is migrated).
def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value if value.tzinfo else value.replace(tzinfo=UTC)


def worst(statuses: Iterable[str]) -> str:
    """The verdict of several suites: the worst status among them (ERROR > FAIL > WARN > PASS > SKIP)."""
    found = [s for s in statuses if s]
    return max(found, key=lambda s: STATUS_ORDER.get(s, 0)) if found else "SKIP"


def _newest_tries(rows: Sequence[Any]) -> list[Any]:
    """Of suite-run rows of DAG runs, keep the newest try of each (dag_id, run_id, task, map index, name)."""
    best: dict[tuple, Any] = {}
    for r in rows:
        key = (r.dag_id, r.run_id, r.task_id, r.map_index, r.name)
        if key not in best or (r.try_number, r.id) > (best[key].try_number, best[key].id):
            best[key] = r
    return list(best.values())


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- overview ---------------------------------------------------------------------------------------------------


def overview(store: Any, *, commits: int = 20, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    with Session(store.engine) as s:
        payload = {
            "generated_at": _iso(now),
            "commits": commits,
            "days": days,
            "verdicts": _verdicts(s),
            "tests": _tests(s, commits=commits, since=since),
            "performance": _performance(s, since=since),
            "drift": _drift(s),
            "vulnerabilities": _vulnerabilities(s, now=now),
            "compliance": _compliance(s),
            "alerts": _alerts(s),
        }
    payload["targets"] = sorted(
        {row["target"] for key in ("verdicts", "tests", "performance", "vulnerabilities") for row in payload[key]}
        - {None}
    )
    return payload


def _verdicts(s: Session) -> list[dict[str, Any]]:
    """Per (target, DAG): its newest DAG run (by its newest suite's end) and the worst status of its suites'
    newest tries. Alert evaluations are not a DAG's verdict and are left out. One statement: the (target, DAG)
    pairs from the index alone, and for each the newest run by a backward read of ``ix_assay_suite_run_verdict``."""
    pairs = (
        select(SuiteRun.target, SuiteRun.dag_id)
        .where(SuiteRun.target.is_not(None))
        .group_by(SuiteRun.target, SuiteRun.dag_id)
        .subquery()
    )
    inner = aliased(SuiteRun)
    newest = (
        select(inner.id)
        .where(inner.target == pairs.c.target, inner.dag_id == pairs.c.dag_id, inner.kind != ALERT_KIND)
        .order_by(inner.finished_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    ids = [i for _, _, i in s.execute(select(pairs.c.target, pairs.c.dag_id, newest)) if i is not None]
    # runs without a target (rare): one read per DAG
    for (dag_id,) in s.execute(select(SuiteRun.dag_id).where(SuiteRun.target.is_(None)).group_by(SuiteRun.dag_id)):
        i = s.execute(
            select(SuiteRun.id)
            .where(SuiteRun.target.is_(None), SuiteRun.dag_id == dag_id, SuiteRun.kind != ALERT_KIND)
            .order_by(SuiteRun.finished_at.desc())
            .limit(1)
        ).scalar()
        if i is not None:
            ids.append(i)
    runs = s.execute(
        select(SuiteRun.target, SuiteRun.dag_id, SuiteRun.run_id, SuiteRun.finished_at.label("at")).where(
            SuiteRun.id.in_(ids)
        )
    ).all()
    wanted = sorted({(r.dag_id, r.run_id) for r in runs})
    suites: dict[tuple, list[Any]] = defaultdict(list)
    for chunk in _chunks(wanted, 200):
        rows = s.execute(
            select(
                SuiteRun.id,
                SuiteRun.dag_id,
                SuiteRun.run_id,
                SuiteRun.task_id,
                SuiteRun.map_index,
                SuiteRun.name,
                SuiteRun.try_number,
                SuiteRun.target,
                SuiteRun.kind,
                SuiteRun.status,
                SuiteRun.commit_sha,
                SuiteRun.model_version,
                SuiteRun.dataset,
            ).where(tuple_(SuiteRun.dag_id, SuiteRun.run_id).in_(list(chunk)))
        ).all()
        for r in _newest_tries(rows):
            suites[(r.target, r.dag_id, r.run_id)].append(r)
    out, seen = [], set()
    for r in sorted(runs, key=lambda r: (r.target or "", r.dag_id)):
        key = (r.target, r.dag_id)
        if key in seen:
            continue
        seen.add(key)
        mine = suites.get((r.target, r.dag_id, r.run_id), [])
        out.append(
            {
                "target": r.target,
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "finished_at": _iso(r.at),
                "status": worst(x.status for x in mine),
                "kinds": sorted({x.kind for x in mine}),
                "suites": len(mine),
                "failed_suites": sorted(x.name for x in mine if x.status in ("FAIL", "ERROR")),
                "commit_sha": next((x.commit_sha for x in mine if x.commit_sha), None),
                "model_version": next((x.model_version for x in mine if x.model_version), None),
                "dataset": next((x.dataset for x in mine if x.dataset), None),
            }
        )
    return out


def _tests(s: Session, *, commits: int, since: datetime) -> list[dict[str, Any]]:
    """Per target, its last ``commits`` commits tested within the window (oldest first): the newest DAG run of
    each commit, its suites' newest tries, their outcomes and line coverage."""
    rows = s.execute(
        select(
            SuiteRun.id,
            SuiteRun.target,
            SuiteRun.commit_sha,
            SuiteRun.dag_id,
            SuiteRun.run_id,
            SuiteRun.task_id,
            SuiteRun.map_index,
            SuiteRun.name,
            SuiteRun.try_number,
            SuiteRun.finished_at,
            SuiteRun.status,
        ).where(SuiteRun.kind == "pytest", SuiteRun.finished_at >= since, SuiteRun.commit_sha.is_not(None))
    ).all()
    by_target: dict[str | None, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_target[r.target][r.commit_sha].append(r)
    picked: dict[int, tuple[str | None, str]] = {}
    points: dict[tuple[str | None, str], dict[str, Any]] = {}
    for target, per_commit in by_target.items():
        newest_commits = sorted(per_commit, key=lambda c: max(_aware(r.finished_at) for r in per_commit[c]))[-commits:]
        for sha in newest_commits:
            runs = per_commit[sha]
            last = max(runs, key=lambda r: (_aware(r.finished_at), r.id))
            mine = _newest_tries([r for r in runs if (r.dag_id, r.run_id) == (last.dag_id, last.run_id)])
            points[(target, sha)] = {
                "commit_sha": sha,
                "dag_id": last.dag_id,
                "run_id": last.run_id,
                "finished_at": _iso(max(_aware(r.finished_at) for r in mine)),
                "status": worst(r.status for r in mine),
                "passed": 0,
                "failed": 0,
                "error": 0,
                "skipped": 0,
                "coverage": None,
            }
            picked.update({r.id: (target, sha) for r in mine})
    ids = sorted(picked)
    for chunk in _chunks(ids):
        for sid, outcome, n in s.execute(
            select(TestCase.suite_run_id, TestCase.outcome, func.count())
            .where(TestCase.suite_run_id.in_(chunk))
            .group_by(TestCase.suite_run_id, TestCase.outcome)
        ):
            p = points[picked[sid]]
            key = {"passed": "passed", "failed": "failed", "error": "error"}.get(outcome, "skipped")
            p[key] += n
        for sid, value in s.execute(
            select(Metric.suite_run_id, Metric.value).where(
                Metric.suite_run_id.in_(chunk), Metric.name == COVERAGE_METRIC
            )
        ):
            p = points[picked[sid]]
            p["coverage"] = value if p["coverage"] is None else max(p["coverage"], value)
    failing = _failing_tests(s, picked, points)
    out = []
    for target in sorted(by_target, key=lambda t: t or ""):
        series = sorted((p for (t, _), p in points.items() if t == target), key=lambda p: p["finished_at"])
        for p in series:
            ran = p["passed"] + p["failed"] + p["error"]
            p["total"] = ran + p["skipped"]
            p["pass_rate"] = round(100.0 * p["passed"] / ran, 2) if ran else None
        covered = [p["coverage"] for p in series if p["coverage"] is not None]
        rates = [p["pass_rate"] for p in series if p["pass_rate"] is not None]
        out.append(
            {
                "target": target,
                "commits": series,
                "latest_pass_rate": rates[-1] if rates else None,
                "failing": failing.get((target, series[-1]["commit_sha"]), []) if series else [],
                "latest_coverage": covered[-1] if covered else None,
            }
        )
    return out


def _failing_tests(
    s: Session, picked: dict[int, tuple[str | None, str]], points: dict[tuple[str | None, str], dict[str, Any]]
) -> dict[tuple[str | None, str], list[dict[str, Any]]]:
    """The failed tests (up to 20) of each target's newest commit, with their message and pytest command."""
    newest: dict[str | None, tuple[str | None, str]] = {}
    for key, p in points.items():
        if key[0] not in newest or p["finished_at"] > points[newest[key[0]]]["finished_at"]:
            newest[key[0]] = key
    wanted = set(newest.values())
    ids = [sid for sid, key in picked.items() if key in wanted]
    out: dict[tuple[str | None, str], list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(ids):
        rows = s.execute(
            select(TestCase.suite_run_id, TestCase.node_id, TestCase.outcome, TestCase.message)
            .where(TestCase.suite_run_id.in_(chunk), TestCase.outcome.in_(FAILED_OUTCOMES))
            .order_by(TestCase.id)
        ).all()
        for sid, node_id, outcome, message in rows:
            found = out[picked[sid]]
            if len(found) < 20:
                found.append(
                    {"node_id": node_id, "outcome": outcome, "message": message, "command": pytest_command(node_id)}
                )
    return out


def _figures(metrics: Iterable[Any]) -> dict[str, float | None]:
    """p50/p95/throughput of the pooled endpoint out of metric rows (name, value, labels)."""
    found: dict[str, float] = {}
    for name, value, labels in metrics:
        if (labels or {}).get("endpoint", AGGREGATED) == AGGREGATED and name not in found:
            found[name] = float(value)
    rps = next((found[n] for n in THROUGHPUT_METRICS if n in found), None)
    return {"p50_ms": found.get(P50_METRIC), "p95_ms": found.get(P95_METRIC), "rps": rps}


_PERF_METRICS = (P50_METRIC, P95_METRIC, *THROUGHPUT_METRICS)


def _pooled() -> Any:
    """Only the pooled figures (a load test also records each endpoint's: 40 endpoints, 80 rows a night)."""
    endpoint = Metric.labels["endpoint"].as_string()
    return or_(endpoint == AGGREGATED, endpoint.is_(None))


def _performance(s: Session, *, since: datetime) -> list[dict[str, Any]]:
    runs = s.execute(
        select(SuiteRun.id, SuiteRun.target, SuiteRun.run_id, SuiteRun.dag_id, SuiteRun.finished_at, SuiteRun.status)
        .where(SuiteRun.kind == "performance", SuiteRun.name == "load_test", SuiteRun.finished_at >= since)
        .order_by(SuiteRun.finished_at)
    ).all()
    if not runs:
        return []
    metrics: dict[int, list[tuple]] = defaultdict(list)
    slo: dict[int, float] = {}
    ids = [r.id for r in runs]
    for chunk in _chunks(ids):
        for sid, name, value, labels in s.execute(
            select(Metric.suite_run_id, Metric.name, Metric.value, Metric.labels).where(
                Metric.suite_run_id.in_(chunk), Metric.name.in_(_PERF_METRICS), _pooled()
            )
        ):
            metrics[sid].append((name, value, labels))
        for sid, name, threshold in s.execute(
            select(Check.suite_run_id, Check.name, Check.threshold).where(
                Check.suite_run_id.in_(chunk), Check.name.like("load.p95_ms[%"), Check.threshold.is_not(None)
            )
        ):
            if sid not in slo or AGGREGATED in name:
                slo[sid] = threshold
    out = []
    for target in sorted({r.target for r in runs}, key=lambda t: t or ""):
        mine = [r for r in runs if r.target == target]
        points = [
            {"run_id": r.run_id, "dag_id": r.dag_id, "finished_at": _iso(r.finished_at), "status": r.status}
            | _figures(metrics.get(r.id, []))
            | {"slo_p95_ms": slo.get(r.id)}
            for r in mine
        ]
        out.append(
            {
                "target": target,
                "points": points,
                "slo_p95_ms": next((p["slo_p95_ms"] for p in reversed(points) if p["slo_p95_ms"] is not None), None),
                "baseline": _baseline(s, target),
            }
        )
    return out


def _baseline(s: Session, target: str | None) -> dict[str, Any] | None:
    if target is None:
        return None
    row = s.execute(
        select(Baseline.suite_run_id, Baseline.accepted_by, Baseline.accepted_at, SuiteRun.run_id)
        .join(SuiteRun, SuiteRun.id == Baseline.suite_run_id)
        .where(
            Baseline.kind == "performance",
            Baseline.subject == target,
            SuiteRun.kind == "performance",
            SuiteRun.name == "load_test",
            SuiteRun.target == target,
        )
        .order_by(Baseline.accepted_at.desc(), Baseline.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    figures = _figures(
        s.execute(
            select(Metric.name, Metric.value, Metric.labels).where(
                Metric.suite_run_id == row.suite_run_id, Metric.name.in_(_PERF_METRICS), _pooled()
            )
        ).all()
    )
    return {"run_id": row.run_id, "accepted_by": row.accepted_by, "accepted_at": _iso(row.accepted_at)} | figures


def _latest_per(s: Session, kind: str, *group: Any) -> list[Any]:
    """The newest suite run of ``kind`` per group (newest ``finished_at``, then highest id)."""
    ranked = (
        select(
            SuiteRun.id,
            func.row_number()
            .over(partition_by=list(group), order_by=(SuiteRun.finished_at.desc(), SuiteRun.id.desc()))
            .label("rn"),
        )
        .where(SuiteRun.kind == kind)
        .subquery()
    )
    return s.execute(select(SuiteRun).join(ranked, ranked.c.id == SuiteRun.id).where(ranked.c.rn == 1)).scalars().all()


def _drift(s: Session) -> list[dict[str, Any]]:
    latest = _latest_per(s, "drift", SuiteRun.target, SuiteRun.dataset, SuiteRun.name)
    if not latest:
        return []
    ids = [r.id for r in latest]
    checks: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for c in s.execute(select(Check).where(Check.suite_run_id.in_(chunk))).scalars():
            checks[c.suite_run_id].append(c)
    out = []
    for r in sorted(latest, key=lambda r: (r.dataset or "", r.target or "", r.name)):
        mine = checks.get(r.id, [])
        dataset_check = next((c for c in mine if c.name == "dataset_drift"), None)
        columns = [c for c in mine if c.name != "dataset_drift" and c.status in ("FAIL", "WARN", "ERROR")]
        columns.sort(key=lambda c: (-STATUS_ORDER.get(c.status, 0), c.name))
        out.append(
            {
                "dataset": r.dataset,
                "target": r.target,
                "name": r.name,
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "finished_at": _iso(r.finished_at),
                "status": r.status,
                "share": dataset_check.observed if dataset_check else None,
                "threshold": dataset_check.threshold if dataset_check else None,
                "worst_columns": [
                    {"check": c.name, "status": c.status, "observed": c.observed, "threshold": c.threshold}
                    for c in columns[:5]
                ],
                "drifted_columns": len(columns),
            }
        )
    return out


def _age_bucket(days: float) -> str:
    return "< 7 d" if days < 7 else "7-30 d" if days < 30 else "30-90 d" if days < 90 else ">= 90 d"


AGE_BUCKETS = ("< 7 d", "7-30 d", "30-90 d", ">= 90 d")


def _vulnerabilities(s: Session, *, now: datetime) -> list[dict[str, Any]]:
    """Open findings of the newest complete scan of each (target, scanner): not suppressed (nor fixed), by
    severity and by age since first seen."""
    latest = [
        r for r in _latest_per(s, "security", SuiteRun.target, SuiteRun.name) if r.status in ("PASS", "WARN", "FAIL")
    ]
    by_target: dict[str | None, dict[str, Any]] = {}
    for r in latest:
        t = by_target.setdefault(
            r.target,
            {
                "target": r.target,
                "scanners": [],
                "by_severity": dict.fromkeys(SEVERITIES, 0),
                "by_age": {sev: dict.fromkeys(AGE_BUCKETS, 0) for sev in SEVERITIES},
                "oldest": [],
                "total": 0,
            },
        )
        t["scanners"].append({"scanner": r.name, "run_id": r.run_id, "dag_id": r.dag_id, "status": r.status})
    if not latest:
        return []
    owners = {r.id: r for r in latest}
    for chunk in _chunks(list(owners)):
        for f in s.execute(
            select(Finding).where(
                Finding.suite_run_id.in_(chunk),
                func.coalesce(Finding.state, "open").not_in(("suppressed", "fixed", "resolved")),
            )
        ).scalars():
            run = owners[f.suite_run_id]
            t = by_target[run.target]
            sev = (f.severity or "unknown").lower()
            sev = sev if sev in SEVERITIES else "unknown"
            first = _aware(f.first_seen_at) or _aware(run.started_at)
            age = max(0.0, (now - first).total_seconds() / 86400)
            t["by_severity"][sev] += 1
            t["by_age"][sev][_age_bucket(age)] += 1
            t["total"] += 1
            t["oldest"].append(
                {
                    "scanner": run.name,
                    "rule_id": f.rule_id,
                    "severity": sev,
                    "resource": f.resource,
                    "title": f.title,
                    "state": f.state,
                    "first_seen_at": _iso(first),
                    "age_days": round(age, 1),
                }
            )
    for t in by_target.values():
        t["oldest"].sort(key=lambda f: (SEVERITIES.index(f["severity"]), -f["age_days"]))
        t["oldest"] = t["oldest"][:20]
    return [by_target[k] for k in sorted(by_target, key=lambda k: k or "")]


def _compliance(s: Session) -> list[dict[str, Any]]:
    latest = _latest_per(s, "compliance", SuiteRun.target, SuiteRun.name)
    if not latest:
        return []
    ids = [r.id for r in latest]
    scores: dict[int, list[tuple[str, float]]] = defaultdict(list)
    violations: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(ids):
        for sid, value, labels in s.execute(
            select(Metric.suite_run_id, Metric.value, Metric.labels).where(
                Metric.suite_run_id.in_(chunk), Metric.name == "compliance.score"
            )
        ):
            scores[sid].append(((labels or {}).get("framework"), value))
        for f in s.execute(select(Finding).where(Finding.suite_run_id.in_(chunk))).scalars():
            violations[f.suite_run_id].append(
                {"rule_id": f.rule_id, "severity": f.severity, "resource": f.resource, "title": f.title}
            )
    out = []
    for r in sorted(latest, key=lambda r: (r.target or "", r.name)):
        frameworks = scores.get(r.id) or [(r.name, None)]
        for framework, score in frameworks:
            found = violations.get(r.id, [])
            out.append(
                {
                    "target": r.target,
                    "framework": framework or r.name,
                    "score": score,
                    "status": r.status,
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "finished_at": _iso(r.finished_at),
                    "violations": found[:50],
                    "violation_count": len(found),
                }
            )
    return out


def _alerts(s: Session) -> list[dict[str, Any]]:
    """Alert rules firing now: the newest evaluation of each rule and subject (a suite run of kind ``alert``
    named ``<rule>:<subject>``) is FAIL; with it, the FAIL checks of severity ``alert`` it recorded."""
    latest = _latest_per(s, ALERT_KIND, SuiteRun.name)
    firing = [r for r in latest if r.status == "FAIL"]
    checks: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks([r.id for r in firing]):
        for c in s.execute(
            select(Check).where(Check.suite_run_id.in_(chunk), Check.status == "FAIL", Check.severity == "alert")
        ).scalars():
            checks[c.suite_run_id].append(
                {"name": c.name, "observed": c.observed, "threshold": c.threshold, "comparator": c.comparator}
            )
    out = []
    for r in sorted(firing, key=lambda r: r.name):
        rule, _, subject = r.name.partition(":")
        out.append(
            {
                "rule": rule,
                "subject": subject or r.target,
                "target": r.target,
                "message": r.message,
                "since": _iso((r.summary or {}).get("since") and _parse(r.summary["since"])) or _iso(r.finished_at),
                "evaluated_at": _iso(r.finished_at),
                "dag_id": r.dag_id,
                "run_id": r.run_id,
                "checks": checks.get(r.id, []),
            }
        )
    return out


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


# -- run detail ---------------------------------------------------------------------------------------------------


def report_links(summary: Any, prefix: str = "") -> list[dict[str, str]]:
    """Every value in a summary (nested dicts too) whose key ends in ``report``, ``report_path`` or ``html``
    and which is a non-empty string: the HTML reports the engines wrote."""
    out: list[dict[str, str]] = []
    if isinstance(summary, dict):
        for key, value in summary.items():
            name = f"{prefix}{key}"
            if isinstance(value, str) and value and str(key).lower().endswith(REPORT_KEY_ENDINGS):
                out.append({"key": name, "path": value} | _report_href(value))
            elif isinstance(value, dict):
                out.extend(report_links(value, f"{name}."))
    return out


def _report_href(path: str) -> dict[str, str]:
    """``href``: the report's address on the Assay page (``reports/<path under ASSAY_HOME>``, relative to the
    page's prefix) when the file is under ``ASSAY_HOME``; nothing otherwise."""
    from urllib.parse import quote

    from assay.paths import assay_home

    try:
        rel = Path(path).resolve().relative_to(assay_home())
    except (ValueError, OSError):
        return {}
    return {"href": "/assay/reports/" + quote(rel.as_posix())}


def pytest_command(node_id: str) -> str:
    """The command that runs one test again: the node id always in single quotes (a POSIX shell then expands
    nothing in it: ``[``, ``$``, spaces of parametrised ids), a quote inside it closed and escaped."""
    return "pytest '" + node_id.replace("'", "'\"'\"'") + "'"


def run_detail(store: Any, dag_id: str, run_id: str) -> dict[str, Any]:
    """Everything one DAG run recorded, newest try of each suite first by start time. ``found`` is False
    (and the lists empty) when the run recorded nothing."""
    suites = store.latest_suite_runs(dag_id, run_id)
    with Session(store.engine) as s:
        tries = dict(
            s.execute(
                select(SuiteRun.name, func.count())
                .where(SuiteRun.dag_id == dag_id, SuiteRun.run_id == run_id)
                .group_by(SuiteRun.name)
            ).all()
        )
    out_suites, failed_tests = [], []
    counts: dict[str, int] = defaultdict(int)
    for r in suites:
        outcomes: dict[str, int] = defaultdict(int)
        for t in r.test_cases:
            outcomes[t.outcome] += 1
            if t.outcome in FAILED_OUTCOMES:
                failed_tests.append(
                    {
                        "suite": r.name,
                        "target": r.target,
                        "node_id": t.node_id,
                        "outcome": t.outcome,
                        "duration_s": t.duration_s,
                        "message": t.message,
                        "command": pytest_command(t.node_id),
                    }
                )
        counts[r.status] += 1
        out_suites.append(
            {
                "id": r.id,
                "name": r.name,
                "kind": r.kind,
                "task_id": r.task_id,
                "map_index": r.map_index,
                "try_number": r.try_number,
                "tries": tries.get(r.name, 1),
                "target": r.target,
                "commit_sha": r.commit_sha,
                "branch": r.branch,
                "model_version": r.model_version,
                "dataset": r.dataset,
                "status": r.status,
                "message": r.message,
                "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at),
                "tests": dict(outcomes),
                "checks": [
                    {
                        "name": c.name,
                        "status": c.status,
                        "observed": c.observed,
                        "threshold": c.threshold,
                        "comparator": c.comparator,
                        "severity": c.severity,
                        "message": c.message,
                    }
                    for c in r.checks
                ],
                "metrics": [{"name": m.name, "value": m.value, "unit": m.unit, "labels": m.labels} for m in r.metrics],
                "findings": [
                    {
                        "source": f.source,
                        "rule_id": f.rule_id,
                        "severity": f.severity,
                        "resource": f.resource,
                        "title": f.title,
                        "state": f.state,
                        "first_seen_at": _iso(f.first_seen_at),
                    }
                    for f in r.findings
                ],
                "reports": report_links(r.summary or {}),
            }
        )
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "found": bool(suites),
        "status": worst(r.status for r in suites) if suites else None,
        "counts": dict(counts),
        "suites": out_suites,
        "failed_tests": failed_tests,
        "reports": [link | {"suite": s_["name"]} for s_ in out_suites for link in s_["reports"]],
    }


# -- test history and flaky tests -----------------------------------------------------------------------------------


def test_history(store: Any, *, target: str, node_id: str, limit: int = 50) -> dict[str, Any]:
    """One test's newest ``limit`` results on ``target`` (every try), newest first, with the commit, the DAG
    run and the duration; and how often it failed among them."""
    with Session(store.engine) as s:
        rows = s.execute(
            select(
                TestCase.outcome,
                TestCase.duration_s,
                TestCase.message,
                SuiteRun.commit_sha,
                SuiteRun.branch,
                SuiteRun.dag_id,
                SuiteRun.run_id,
                SuiteRun.try_number,
                SuiteRun.name,
                SuiteRun.finished_at,
            )
            .join(SuiteRun, SuiteRun.id == TestCase.suite_run_id)
            .where(TestCase.node_id == node_id, SuiteRun.target == target)
            .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
            .limit(limit)
        ).all()
    results = [
        {
            "commit_sha": r.commit_sha,
            "branch": r.branch,
            "dag_id": r.dag_id,
            "run_id": r.run_id,
            "try_number": r.try_number,
            "suite": r.name,
            "finished_at": _iso(r.finished_at),
            "outcome": r.outcome,
            "duration_s": r.duration_s,
            "message": r.message,
        }
        for r in rows
    ]
    ran = [r for r in results if r["outcome"] != "skipped"]
    failed = sum(r["outcome"] in FAILED_OUTCOMES for r in ran)
    return {
        "target": target,
        "node_id": node_id,
        "command": pytest_command(node_id),
        "results": results,
        "runs": len(ran),
        "failures": failed,
        "failure_rate": round(failed / len(ran), 4) if ran else None,
    }


FLAKY_MODULE = "assay.alerts.flaky"


def flaky(store: Any, *, target: str, window: int = 20) -> dict[str, Any]:
    """The flaky tests of ``target`` as ``assay.alerts.flaky.flaky_tests`` judges them, or ``available: False``
    with the reason when that module is not installed: the page never guesses."""
    try:
        module = importlib.import_module(FLAKY_MODULE)
        fn = module.flaky_tests
    except (ImportError, AttributeError) as exc:
        return {"target": target, "available": False, "reason": f"flaky detection not available ({exc})", "tests": []}
    tests = [_jsonable(t) for t in fn(store, target=target, window=window)]
    return {"target": target, "available": True, "window": window, "tests": tests}


def _jsonable(obj: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    elif hasattr(obj, "model_dump"):
        obj = obj.model_dump()
    elif hasattr(obj, "_asdict"):
        obj = obj._asdict()
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, datetime):
        return _iso(obj)
    if hasattr(obj, "value") and type(obj).__module__ != "builtins" and isinstance(obj.value, str):
        return obj.value  # an enum
    return obj


def targets(store: Any) -> list[str]:
    """Every target that recorded a suite run."""
    with Session(store.engine) as s:
        return sorted(t for (t,) in s.execute(select(SuiteRun.target).distinct()) if t)


test_history.__test__ = False  # a query, not a pytest test
