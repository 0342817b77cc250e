"""Post a run's verdict as a commit status on GitHub or GitLab (their REST APIs, through requests)."""

from __future__ import annotations

from urllib.parse import quote

import requests

from assay.redaction import strip_url_credentials
from assay.status import Status

_GITHUB_STATE = {
    Status.PASS: "success",
    Status.WARN: "success",
    Status.SKIP: "success",
    Status.FAIL: "failure",
    Status.ERROR: "error",
}
_GITLAB_STATE = {
    Status.PASS: "success",
    Status.WARN: "success",
    Status.SKIP: "success",
    Status.FAIL: "failed",
    Status.ERROR: "failed",
}


def post_commit_status(
    *,
    provider: str,
    api_url: str,
    token: str | None,
    repository: str,
    sha: str,
    verdict: Status,
    description: str,
    target_url: str,
    context: str,
    timeout_s: float = 10.0,
) -> int:
    """Post the status; return the HTTP status code, raising ``requests.HTTPError`` on a 4xx/5xx.

    The description and link are stripped of URL credentials (and the description cut to 140 characters).
    """
    base = api_url.rstrip("/")
    description = strip_url_credentials(description)[:140]
    target_url = strip_url_credentials(target_url)
    if provider == "github":
        resp = requests.post(
            f"{base}/repos/{repository}/statuses/{sha}",
            json={
                "state": _GITHUB_STATE[verdict],
                "description": description,
                "target_url": target_url,
                "context": context,
            },
            headers={
                "Accept": "application/vnd.github+json",
                **({"Authorization": f"Bearer {token}"} if token else {}),
            },
            timeout=timeout_s,
        )
    elif provider == "gitlab":
        resp = requests.post(
            f"{base}/projects/{quote(repository, safe='')}/statuses/{sha}",
            params={
                "state": _GITLAB_STATE[verdict],
                "description": description,
                "target_url": target_url,
                "name": context,
            },
            headers={"PRIVATE-TOKEN": token} if token else {},
            timeout=timeout_s,
        )
    else:
        raise ValueError(f"unknown commit status provider {provider!r} (github or gitlab)")
    resp.raise_for_status()
    return resp.status_code
