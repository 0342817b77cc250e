"""Run parameters are fully matched (no trailing newline slips through) and credentials in URLs never
reach a record."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import jsonschema
import pytest

from assay.config import parse_config
from assay.engines.per_commit.request import BRANCH_RE, SHA_RE, validate_commit_request
from assay.errors import ConfigError
from assay.params import json_schema_pattern
from assay.redaction import strip_url_credentials
from assay.store import CheckRecord, RunKey, SuiteRunRecord, TestCaseRecord

CONFIG = parse_config({"targets": {"demo": {"repo": "/tmp/x"}}})


@pytest.mark.parametrize("sha", ["deadbeef\n", "deadbeef\nrm -rf /", "dead beef", "deadbeef\r"])
def test_a_sha_with_a_newline_or_space_inside_is_refused(sha):
    with pytest.raises(ConfigError, match="7 to 40 hexadecimal"):
        validate_commit_request(CONFIG.targets, {"target": "demo", "sha": sha})


def test_a_branch_with_a_trailing_newline_is_refused():
    with pytest.raises(ConfigError, match="may only contain"):
        validate_commit_request(CONFIG.targets, {"target": "demo", "branch": "main\n"})


@pytest.mark.parametrize(
    "regex, good, bad",
    [
        (SHA_RE, "deadbeef", ["deadbeef\n", "xdeadbeef", "deadbeefx", ""]),
        (BRANCH_RE, "release/1.2", ["main\n", "-x", "main; ls"]),
    ],
)
def test_the_form_pattern_is_anchored_at_both_ends(regex, good, bad):
    schema = {"type": "string", "pattern": json_schema_pattern(regex)}
    jsonschema.validate(good, schema)
    for value in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, schema)
    # the same pattern in the browser's dialect: no Python-only construct
    assert r"\Z" not in schema["pattern"] and "(?P" not in schema["pattern"]
    assert re.search(schema["pattern"], good + "\n") is None


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "cannot clone https://alice:ghp_s3cr3t@github.com/acme/x.git: 403",
            "cannot clone https://***@github.com/acme/x.git: 403",
        ),
        ("fetch https://oauth2:glpat-XYZ@gitlab.example.com/g/p", "fetch https://***@gitlab.example.com/g/p"),
        ("ssh://git:pw@host:22/repo and https://tok@h/x", "ssh://***@host:22/repo and https://***@h/x"),
        (
            "mail me at ops@example.com, see https://example.com/a@b",
            "mail me at ops@example.com, see https://example.com/a@b",
        ),
    ],
)
def test_credentials_are_stripped_from_urls(text, expected):
    assert strip_url_credentials(text) == expected


def test_records_never_carry_url_credentials():
    now = datetime.now(UTC)
    rec = SuiteRunRecord(
        key=RunKey("d", "r", "t"),
        kind="checkout",
        name="checkout",
        status="ERROR",
        started_at=now,
        finished_at=now,
        message="cannot clone https://u:TOKEN@host/r.git",
        summary={"params": {"repo": "https://u:TOKEN@host/r.git"}},
        test_cases=(TestCaseRecord("t::a", "failed", 0.0, "GET https://u:TOKEN@host failed"),),
        checks=(CheckRecord("c", "ERROR", message="https://u:TOKEN@host"),),
    )
    flat = repr(rec.to_dict())
    assert "TOKEN" not in flat and flat.count("***@host") == 4
