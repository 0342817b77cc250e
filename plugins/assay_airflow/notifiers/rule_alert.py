"""``RuleAlertNotifier``: the notification of a standing alert rule that started firing or resolved.

It is an :class:`AssayAlertNotifier` whose alert is given rather than built from a failed run, so it goes out
through the very same channels (Slack through ``SlackWebhookHook``, e-mail through ``SmtpHook``), with the same
handling of an unconfigured or failing channel: a notification never raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay_airflow.notifiers.run_alert import AssayAlertNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

    from assay.alerts.standing import RuleAlert


class RuleAlertNotifier(AssayAlertNotifier):
    def __init__(self, alert: RuleAlert, **kwargs) -> None:
        super().__init__(**kwargs)
        self.alert = alert

    def build_alert(self, context: Context) -> RuleAlert:  # type: ignore[override]
        return self.alert
