"""``AssayAlertNotifier``: tell people a run failed, or that a standing alert rule fired, on Slack and by
e-mail, with what failed and why.

Attached at task level as ``on_failure_callback`` of the task that decides the verdict (a DAG-level failure
callback has an open bug in Airflow 3), it reports a failed run. The standing alert rules notify on their own
through :class:`~assay_airflow.notifiers.rule_alert.RuleAlertNotifier` (the ``alert_rules`` teardown of each
DAG: once when a rule starts firing, once when it resolves); a security scanner whose new-critical or
new-secret rule fired on a verdict that did not fail calls this notifier itself. The content comes from the
metrics DB: the failed gates, the fired alert rules and up to N failed tests with their messages. Each channel is sent through its provider hook
(``SlackWebhookHook``, ``SmtpHook``); a channel that fails is logged as an ERROR and never raises, so a broken
Slack or SMTP can neither hide nor change the verdict. A channel whose connection is not defined (the embedded
default) is not a failure: it is said once, at INFO ("alerts: Slack not configured"). No text leaves with a
URL's credentials in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseNotifier

from assay.alerts.message import Alert, FailedCheck, FailedFinding, FailedTest
from assay.config import load_config
from assay.redaction import strip_url_credentials
from assay.status import Status, worst
from assay.summary import run_detail_url
from assay_airflow.hooks.connections import connection_defined
from assay_airflow.hooks.metrics_db import MetricsDbHook
from assay_airflow.masking import mask_config_credentials

if TYPE_CHECKING:
    from airflow.sdk import Context


#: channels already said to be unconfigured in this process (said once, at INFO)
_UNCONFIGURED_TOLD: set[tuple[str, str]] = set()


def _alerting(evidence: dict) -> bool:
    """Whether a recorded finding belongs in the alert: a security finding says so itself (``alert``: a new
    critical finding or a new leaked secret); a compliance finding when its resource FAILed or was ERROR."""
    if "alert" in evidence:
        return bool(evidence["alert"])
    return evidence.get("outcome", "FAIL") in ("FAIL", "ERROR")


class AssayAlertNotifier(BaseNotifier):
    """Send the failure alert of an Assay run.

    :param slack_conn_id: Slack incoming-webhook connection (default from config: ``assay_slack``).
    :param smtp_conn_id: SMTP connection (default from config: ``assay_smtp``).
    :param email_to: recipients (default from config ``alerts.email_to``).
    """

    def __init__(
        self,
        *,
        slack_conn_id: str | None = None,
        smtp_conn_id: str | None = None,
        email_to: list[str] | None = None,
        metrics_conn_id: str = MetricsDbHook.default_conn_name,
    ) -> None:
        super().__init__()
        self.slack_conn_id = slack_conn_id
        self.smtp_conn_id = smtp_conn_id
        self.email_to = email_to
        self.metrics_conn_id = metrics_conn_id

    def build_alert(self, context: Context) -> Alert:
        from assay_airflow.operators.gates import GATES, run_url

        cfg = load_config()
        mask_config_credentials(cfg)
        ti = context["ti"]
        dag_id, run_id = ti.dag_id, ti.run_id
        url = run_url(cfg.airflow_base_url, dag_id, run_id)
        try:
            store = MetricsDbHook(self.metrics_conn_id).store
            store.ensure_schema()
            rows = store.latest_suite_runs(dag_id, run_id)
        except Exception as exc:  # noqa: BLE001 - still alert, from what the context knows
            self.log.error("metrics DB unreadable while alerting: %s", strip_url_credentials(str(exc)))
            rows = []
        gate = next((r for r in rows if r.name == GATES), None)
        # The per-commit verdict speaks for its run; elsewhere, what the failed task itself recorded.
        relevant = [gate] if gate else [r for r in rows if r.task_id == ti.task_id]
        anchor = next((r for r in relevant if r.target or r.dataset), None) or next((r for r in rows if r.target), None)
        checks = sorted((c for r in relevant for c in r.checks), key=lambda c: c.id)
        failed_checks = [
            FailedCheck(c.name, c.status, c.message, c.observed, c.threshold, c.comparator)
            for c in checks
            if c.severity != "alert" and Status(c.status).is_failure
        ]
        failed_checks += [
            FailedCheck(r.name, r.status, r.message) for r in relevant if not r.checks and Status(r.status).is_failure
        ]
        fired = [
            FailedCheck(c.name, c.status, c.message)
            for c in checks
            if c.severity == "alert" and c.status == Status.FAIL.value
        ]
        failed_tests = [
            FailedTest(t.node_id, r.name, t.message)
            for r in rows
            for t in r.test_cases
            if t.outcome in ("failed", "error")
        ]
        findings = [
            FailedFinding(
                f.rule_id,
                f.severity,
                f.resource,
                (f.evidence or {}).get("message") or f.title,
                [f"{e.method}: {e.source} (sha256 {e.sha256[:16]}…)" for e in f.evidence_rows[:3]],
            )
            for r in relevant
            for f in r.findings
            if _alerting(f.evidence or {})
        ]
        verdict = worst((r.status for r in relevant), empty=Status.ERROR)
        exc = context.get("exception")
        if exc is not None and not verdict.is_failure:
            verdict = Status.ERROR  # the task failed after recording a verdict that did not
        if verdict.is_failure and not failed_checks:
            failed_checks = [FailedCheck(ti.task_id, "ERROR", str(exc) if exc else "task failed")]
        return Alert(
            dag_id=dag_id,
            run_id=run_id,
            target=(anchor.target or anchor.dataset) if anchor else None,
            commit_sha=(anchor.commit_sha or anchor.model_version) if anchor else None,
            branch=anchor.branch if anchor else None,
            verdict=verdict.value,
            run_url=url,
            failed_checks=failed_checks[:20],
            fired_rules=fired,
            failed_tests=failed_tests[: cfg.alerts.max_failed_tests],
            failed_tests_total=len(failed_tests),
            findings=findings[:20],
            detail_url=run_detail_url(cfg.airflow_base_url, dag_id, run_id),
        )

    def notify(self, context: Context) -> None:
        try:
            cfg = load_config()
            alert = self.build_alert(context)
        except Exception:  # noqa: BLE001
            self.log.exception("could not build the Assay alert")
            return
        slack = self.slack_conn_id or cfg.alerts.slack_conn_id
        smtp = self.smtp_conn_id or cfg.alerts.smtp_conn_id
        to = self.email_to if self.email_to is not None else cfg.alerts.email_to
        if slack and self._configured("Slack", slack):
            try:
                from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

                SlackWebhookHook(slack_webhook_conn_id=slack).send(text=alert.slack_text())
                self.log.info("Slack alert sent through %s", slack)
            except Exception as exc:  # noqa: BLE001
                self.log.error("Slack alert through %r failed: %s", slack, strip_url_credentials(str(exc)))
        if smtp and to and self._configured("e-mail", smtp):
            try:
                from airflow.providers.smtp.hooks.smtp import SmtpHook

                with SmtpHook(smtp_conn_id=smtp) as hook:
                    hook.send_email_smtp(to=to, subject=alert.subject, html_content=alert.email_html())
                self.log.info("e-mail alert sent through %s to %s", smtp, ", ".join(to))
            except Exception as exc:  # noqa: BLE001
                self.log.error("e-mail alert through %r failed: %s", smtp, strip_url_credentials(str(exc)))

    def _configured(self, channel: str, conn_id: str) -> bool:
        """Whether ``conn_id`` is defined; if not, say so once per process at INFO, not as a failure."""
        if connection_defined(conn_id):
            return True
        if (channel, conn_id) not in _UNCONFIGURED_TOLD:
            _UNCONFIGURED_TOLD.add((channel, conn_id))
            self.log.info(
                "alerts: %s not configured (connection %r is not defined); no %s alert", channel, conn_id, channel
            )
        return False
