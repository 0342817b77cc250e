"""Hook for the git host's commit-status API (GitHub or GitLab): post a run's verdict on the commit."""

from __future__ import annotations

from assay.status import Status
from assay_airflow.hooks.http_api import HttpApiHook


class CommitStatusHook(HttpApiHook):
    """Posts commit statuses through the connection a target's ``commit_status.conn_id`` names.

    Connection (type ``http``): host = the REST API's base URL (``https://api.github.com``,
    ``https://gitlab.example.com/api/v4``), password = a token allowed to set commit statuses.

        CommitStatusHook("assay_github", provider="github").post_status(repository="acme/app", sha=...)
    """

    conn_name_attr = "commit_status_conn_id"
    default_conn_name = "assay_commit_status"
    conn_type = "http"
    hook_name = "Assay commit status (GitHub / GitLab)"

    def __init__(self, commit_status_conn_id: str = default_conn_name, *, provider: str = "github") -> None:
        super().__init__()
        self.commit_status_conn_id = commit_status_conn_id
        self.provider = provider

    def post_status(
        self, *, repository: str, sha: str, verdict: Status, description: str, target_url: str, context: str
    ) -> int:
        """Post ``verdict`` on ``sha``; the HTTP status code, ``requests.HTTPError`` on a 4xx/5xx."""
        from assay.alerts.commit_status import post_commit_status

        return post_commit_status(
            provider=self.provider,
            api_url=self.base_url,
            token=self.token,
            repository=repository,
            sha=sha,
            verdict=verdict,
            description=description,
            context=context,
            target_url=target_url,
        )
