"""Operators of ``assay_security_scan``: resolve what to scan, run one scanner, summarise the posture.

* :class:`ResolveScanOperator` decides the (target, commit, scanner) triples, one mapped ``scan`` task each:
  from the Asset events of ``assay_per_commit`` (each target's newest tested commit), else from the run's
  params (a target or ``all``, a sha or a branch, which scanners); it checks each commit out.
* :class:`SecurityScanOperator` runs one scanner (Trivy, bandit, or an API security test against the target's
  service started for the task), judges the report (suppressions, lifecycle against the previous complete
  scan, gates: :mod:`assay.engines.security.scan`) and records it, then fails: FAIL (a gate) is final, ERROR
  (a scanner that crashed, timed out, had no vulnerability DB or examined nothing) is retried.
* :class:`SecurityPostureOperator` records each target's posture of this run: open findings by severity and
  tool, mean age of open criticals.

Alerts: the alert rules ``new_critical_findings`` and ``secrets_leaked`` fire on *new* findings only, so a
critical that stays open fails the nightly task (red in the UI) without alerting every night.
:class:`SecurityAlertNotifier` is the ``on_failure_callback`` that sends an alert only when a rule fired or
a scanner could not run; a rule that fired on a verdict that did not fail is notified by the task itself.
Secrets never leave their file: a finding records the rule, file and line of a secret, never its value.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError, ConfigError
from assay.results import Result, error_result
from assay.status import Status, worst
from assay_airflow.notifiers.run_alert import AssayAlertNotifier
from assay_airflow.operators.base import AssayOperator, raise_for, task_work_dir, triggering_asset_extras
from assay_airflow.operators.per_commit import TESTED_ASSET, checkout, workspace
from assay_airflow.operators.service import target_service

if TYPE_CHECKING:
    from airflow.sdk import Context


KIND = "security"


class SecurityAlertNotifier(AssayAlertNotifier):
    """The failure alert of a scanner task, sent only when an alert rule fired (a new critical finding, a new
    leaked secret) or the scanner could not run (ERROR): an open finding that was already reported keeps the
    task red without alerting again."""

    def notify(self, context: Context) -> None:
        try:
            alert = self.build_alert(context)
        except Exception:  # noqa: BLE001
            self.log.exception("could not build the Assay alert")
            return
        if not alert.fired_rules and alert.verdict != Status.ERROR.value:
            self.log.info("scanner %s failed on findings already alerted: no new alert", context["ti"].task_id)
            return
        super().notify(context)


def _wanted_scanners(params: dict[str, Any]) -> list[str]:
    from assay.engines.security.config import ALL_SCANNERS

    raw = params.get("scanners") or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise ConfigError(f"invalid run parameters: 'scanners' must be a list of names, not {raw!r}")
    unknown = sorted(set(raw) - set(ALL_SCANNERS))
    if unknown:
        raise ConfigError(
            f"invalid run parameters: unknown scanner(s) {', '.join(unknown)}; one of {', '.join(ALL_SCANNERS)}"
        )
    return list(raw)


class ResolveScanOperator(AssayOperator):
    """Decide what this run scans; XCom: one ``{target, sha, branch, scanner}`` per scan task.

    Asset-triggered (``assay_per_commit`` tested a commit): each target's newest tested commit. Otherwise the
    params: ``target`` (a configured target or ``all``), ``sha`` and/or ``branch`` (default: the target's
    first watched branch), ``scanners`` (default: every scanner that applies). A target whose commit cannot
    be resolved is recorded as ERROR and the others are still scanned; bad params fail the run at once."""

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from assay.engines.per_commit import validate_commit_request
        from assay.engines.security.config import applicable_scanners

        started = datetime.now(UTC)
        params = dict(context.get("params") or {})
        targets = self.assay_config.targets
        requests: dict[str, dict[str, Any]] = {}
        events = triggering_asset_extras(context).get(TESTED_ASSET, [])
        try:
            wanted = _wanted_scanners(params)
            if events:
                for extra in events:  # oldest first: the newest event of a target wins
                    requests[str(extra.get("target"))] = {
                        "target": extra.get("target"),
                        "sha": extra.get("sha"),
                        "branch": extra.get("branch"),
                    }
            else:
                chosen = params.get("target") or "all"
                names = sorted(targets) if chosen == "all" else [chosen]
                if params.get("sha") and len(names) > 1:
                    raise ConfigError("invalid run parameters: a 'sha' needs one 'target', not all of them")
                for name in names:
                    branch = params.get("branch") or (targets[name].watch_branches[0] if name in targets else None)
                    requests[name] = {"target": name, "sha": params.get("sha"), "branch": branch}
            checked = [validate_commit_request(targets, r) for r in requests.values()]
        except ConfigError as exc:
            self.record_error(context, exc, kind=KIND, name="resolve", started_at=started)
        specs: list[dict[str, Any]] = []
        errors: list[AssayError] = []
        ws = workspace()
        for req in checked:
            target = targets[req.target]
            ids = {"target": req.target, "branch": req.branch, "commit_sha": req.sha}
            try:
                ws.sync_mirror(req.target, target.repo)
                sha = ws.resolve(req.target, sha=req.sha, branch=req.branch)
                path = checkout(req.target, target, sha)
            except AssayError as exc:
                self.record_result(
                    context, error_result(exc, kind=KIND, name=f"checkout:{req.target}", started_at=started), **ids
                )
                self.log.error("target %s: %s", req.target, exc)
                errors.append(exc)
                continue
            has_service = bool(target.service or target.api_conn_id)
            scanners = applicable_scanners(target.security, has_service=has_service, wanted=wanted)
            self.log.info("target %s at %s (%s): scanners %s", req.target, sha, path, ", ".join(scanners) or "none")
            specs += [{"target": req.target, "sha": sha, "branch": req.branch, "scanner": s} for s in scanners]
        if not specs:
            why = "; ".join(str(e) for e in errors) or "no scanner applies to the target(s)"
            raise_for(Status.ERROR, f"nothing to scan: {why}", retryable=any(e.retryable for e in errors))
        return specs


class SecurityScanOperator(AssayOperator):
    """Run ``scanner`` on ``target`` at ``sha`` and record its findings with their lifecycle and the gates."""

    template_fields = ("target", "sha", "branch", "scanner")

    def __init__(self, *, target: str, sha: str, branch: str | None, scanner: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.sha = sha
        self.branch = branch
        self.scanner = scanner

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.security.config import SERVICE_SCANNERS
        from assay.engines.security.scan import PreviousScan, ServiceAccess, run_security_scan

        started = datetime.now(UTC)
        ids = {"target": self.target, "commit_sha": self.sha, "branch": self.branch}
        store = self.metrics_hook.store
        run_id = context["ti"].run_id

        def history(fingerprints) -> PreviousScan:
            store.ensure_schema()
            prev_run, findings, first_seen = store.security_history(
                target=self.target, scanner=self.scanner, exclude_run_id=run_id, fingerprints=fingerprints
            )
            return PreviousScan(run_id=prev_run, findings=findings, first_seen=first_seen)

        with self.recording_errors(context, kind=KIND, name=self.scanner, started_at=started, **ids):
            target = self.assay_config.target(self.target)
            root = checkout(self.target, target, self.sha)
            work = task_work_dir(context)
            common = {
                "target": self.target,
                "root": root,
                "cfg": target.security,
                "history": history,
                "allowed_roots": [workspace().root],
            }
            if self.scanner in SERVICE_SCANNERS:
                with target_service(self.target, target, work / "service") as svc:
                    access = ServiceAccess(
                        svc.base_url, svc.admin_token or svc.token, svc.tokens, getattr(svc, "expired_token", None)
                    )
                    result = run_security_scan(
                        self.scanner, work_dir=work, service=access, started_at=started, **common
                    )
            else:
                result = run_security_scan(self.scanner, work_dir=work, started_at=started, **common)
        reason = self.record_result(context, result, started_at=started, **ids)
        fired = [c.name for c in result.checks if c.severity == "alert" and c.status == Status.FAIL.value]
        if fired and not result.status.is_failure:
            self.log.info("alert rule(s) fired on a %s verdict: %s; notifying", result.status.value, ", ".join(fired))
            AssayAlertNotifier(metrics_conn_id=self.metrics_conn_id).notify(context)
        raise_for(result.status, f"{self.scanner}: {result.status.value}: {reason}")
        return result.describe_dict()


class SecurityPostureOperator(AssayOperator):
    """Per target scanned in this run: open findings by severity and by tool, new and fixed counts, and the
    mean age in days of open criticals, recorded as the metrics of a ``security_posture`` suite run (trends,
    the compliance audit's ``security_posture``). Runs whatever the scanners' verdicts (trigger rule
    ``all_done``); its own status is the worst of the scanners' (an ERROR scanner leaves the posture ERROR:
    it is not known), and it fails when that is a failure: it is the DAG's leaf, so the run's state is the
    scan's verdict."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.security.posture import posture_result

        started = datetime.now(UTC)
        ti = context["ti"]
        rows = self.metrics_hook.store.latest_suite_runs(ti.dag_id, ti.run_id, kinds=[KIND])
        by_target: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            if row.target:
                by_target[row.target].append(row)
        out = {}
        for name, runs in sorted(by_target.items()):
            result = posture_result(name, runs, started)
            self.record_result(context, result, target=name, commit_sha=runs[-1].commit_sha, branch=runs[-1].branch)
            out[name] = result.describe_dict()
        if not by_target:
            raise_for(Status.ERROR, "no scanner of this run recorded a result")
        # the run's verdict: the posture task is the DAG's leaf, so a failed scanner fails the run here too
        # (final: the scanner tasks themselves were retried)
        verdict = worst(Status(r["status"]) for r in out.values())
        raise_for(
            verdict,
            f"security scan verdict {verdict.value}: "
            + "; ".join(f"{name}: {r['message']}" for name, r in out.items() if Status(r["status"]).is_failure),
            retryable=False,
        )
        return out


class UpdateVulnerabilityDbOperator(AssayOperator):
    """Refresh Trivy's vulnerability DB in each shared cache the targets use (``trivy image
    --download-db-only``) before the scans. A download that fails is recorded as ERROR (and retried); the
    scans still run (trigger rule ``all_done`` downstream) and their vulnerability part is ERROR when there
    is no DB, never a clean result without one. Skipped when every target scans offline."""

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        from assay.engines.security.trivy import download_db

        started = datetime.now(UTC)
        configs = {
            (t.security.trivy.binary, t.security.trivy.cache_dir, t.security.trivy.db_repository): t.security.trivy
            for t in self.assay_config.targets.values()
            if not t.security.trivy.offline
            and "vuln" in t.security.trivy.scanners
            and {"trivy_fs", "trivy_image"} & set(t.security.scanners)
        }
        if not configs:
            raise AirflowSkipException("no target scans for vulnerabilities online: no DB to update")
        summaries = []
        with self.recording_errors(context, kind=KIND, name="vulnerability_db", started_at=started):
            for cfg in configs.values():
                summaries.append(download_db(cfg, task_work_dir(context)))
        result = Result(
            name="vulnerability_db",
            kind=KIND,
            status=Status.PASS,
            message="; ".join(f"DB in {d['cache_dir']} updated at {d.get('updated_at')}" for d in summaries),
            started_at=started,
            finished_at=datetime.now(UTC),
            summary={"caches": summaries},
        )
        self.record_result(context, result)
        return result.describe_dict()
