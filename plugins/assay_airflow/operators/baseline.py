"""``AcceptBaselineOperator``: make a passing run the accepted reference for regressions, on purpose.

Who accepted it is the user who triggered the DAG run (Airflow records the triggering user); when and
which run are stored with it in ``assay_baseline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from assay.errors import AssayError
from assay_airflow.operators.base import AssayOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class AcceptBaselineOperator(AssayOperator):
    """Accept the suite ``suite_name`` of DAG run ``run_id`` as baseline for (``kind``, ``subject``).

    All four come from the DAG run's params. XCom: the baseline id and who accepted it.
    """

    def execute(self, context: Context) -> dict[str, Any]:
        params = context["params"]
        dag_run = context.get("dag_run")
        who = getattr(dag_run, "triggering_user_name", None) or "unknown"
        store = self.metrics_hook.store
        store.ensure_schema()
        try:
            baseline_id = store.accept_baseline(
                kind=params["kind"], subject=params["subject"], run_id=params["run_id"],
                suite_name=params["suite_name"], accepted_by=who, note=params.get("note") or None,
            )
        except AssayError as exc:
            raise AirflowFailException(str(exc)) from None
        self.log.info("baseline %s for %s/%s accepted by %s: run %s", baseline_id, params["kind"],
                      params["subject"], who, params["run_id"])
        return {"baseline_id": baseline_id, "accepted_by": who}
