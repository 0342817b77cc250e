"""Commit statuses reach a real local HTTP server shaped like the GitHub and GitLab APIs."""

from __future__ import annotations

import pytest
import requests
from support.http_sink import HttpSink

from assay.alerts.commit_status import post_commit_status
from assay.status import Status


@pytest.fixture
def sink():
    s = HttpSink(status=201, reply=b"{}")
    yield s
    s.close()


def test_github_status(sink):
    code = post_commit_status(
        provider="github",
        api_url=sink.url,
        token="t0k",
        repository="acme/ml",
        sha="a" * 40,
        verdict=Status.FAIL,
        description="Assay FAIL: x" * 30,
        target_url="http://af/run",
        context="assay/per-commit",
    )
    (req,) = sink.requests
    assert code == 201 and req.path == f"/repos/acme/ml/statuses/{'a' * 40}"
    assert req.headers["Authorization"] == "Bearer t0k"
    body = req.json()
    assert body["state"] == "failure" and body["context"] == "assay/per-commit" and len(body["description"]) == 140


def test_gitlab_status(sink):
    post_commit_status(
        provider="gitlab",
        api_url=sink.url + "/api/v4",
        token="glt",
        repository="group/ml",
        sha="b" * 40,
        verdict=Status.PASS,
        description="ok",
        target_url="http://af/run",
        context="assay",
    )
    (req,) = sink.requests
    assert req.path == f"/api/v4/projects/group%2Fml/statuses/{'b' * 40}"
    assert (
        req.query["state"] == ["success"] and {k.lower(): v for k, v in req.headers.items()}["private-token"] == "glt"
    )


def test_http_error_raises():
    s = HttpSink(status=422, reply=b"{}")
    try:
        with pytest.raises(requests.HTTPError):
            post_commit_status(
                provider="github",
                api_url=s.url,
                token=None,
                repository="a/b",
                sha="c" * 40,
                verdict=Status.ERROR,
                description="x",
                target_url="u",
                context="c",
            )
    finally:
        s.close()
