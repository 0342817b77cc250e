"""``AcceptBaselineOperator``: make a passing run the accepted reference for regressions, on purpose.

Who accepted it is the user who triggered the DAG run (Airflow records the triggering user); when and
which run are stored with it in ``assay_baseline``. What can be accepted is checked: the subject must be
a configured model (kind ``model``) or a target with a load test (kind ``performance``), and the run must
hold that subject's suite run of that kind (``MetricsStore.accept_baseline``); a refusal says what would
match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from assay.errors import AssayError, ConfigError
from assay.store.repository import BASELINE_SUITES
from assay_airflow.operators.base import AssayOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AcceptBaselineOperator(AssayOperator):
    """Accept the run ``run_id`` as baseline for (``kind``, ``subject``).

    All come from the DAG run's params (``suite_name`` is optional: each kind has one suite). XCom: the
    baseline id and who accepted it.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        params = context["params"]
        dag_run = context.get("dag_run")
        who = getattr(dag_run, "triggering_user_name", None) or "unknown"
        try:
            kind, subject = self._checked_subject(params.get("kind"), params.get("subject"))
            store = self.metrics_hook.store
            store.ensure_schema()
            baseline_id = store.accept_baseline(
                kind=kind,
                subject=subject,
                run_id=str(params.get("run_id") or ""),
                suite_name=params.get("suite_name") or None,
                accepted_by=who,
                note=params.get("note") or None,
            )
        except AssayError as exc:
            raise (AirflowException if exc.retryable else AirflowFailException)(f"baseline refused: {exc}") from None
        self.log.info("baseline %s for %s/%s accepted by %s: run %s", baseline_id, kind, subject, who, params["run_id"])
        return {"baseline_id": baseline_id, "accepted_by": who}

    def _checked_subject(self, kind: Any, subject: Any) -> tuple[str, str]:
        """(kind, subject) when ``subject`` is something configured that can have a baseline of ``kind``."""
        if kind not in BASELINE_SUITES:
            raise ConfigError(f"kind {kind!r} is not one of {sorted(BASELINE_SUITES)}")
        cfg = self.assay_config
        if kind == "model":
            allowed = sorted(cfg.models)
            what = "configured models"
        else:
            allowed = sorted(name for name, t in cfg.targets.items() if (t.performance or {}).get("load_test"))
            what = "configured targets with a load test"
        if subject not in allowed:
            raise ConfigError(
                f"{kind} baseline subject {subject!r} is not one of the {what}: {', '.join(allowed) or 'none'}"
            )
        return kind, subject
