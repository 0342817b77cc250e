from __future__ import annotations

import pytest

from assay.config import parse_config
from assay.engines.per_commit.request import validate_commit_request
from assay.errors import ConfigError

CFG = parse_config({"targets": {"demo": {"repo": "/srv/demo"}, "other": {"repo": "/srv/other"}}})


def test_valid_request_is_normalised():
    req = validate_commit_request(CFG.targets, {"target": "demo", "sha": " ABCDEF1 ", "branch": "feature/x-1.2"})
    assert req.as_dict() == {"target": "demo", "sha": "abcdef1", "branch": "feature/x-1.2"}


def test_branch_only_and_empty_sha():
    assert validate_commit_request(CFG.targets, {"target": "demo", "sha": "", "branch": "main"}).sha is None


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"target": "nope", "branch": "main"}, "target 'nope' is not configured; configured targets: demo, other"),
        ({"branch": "main"}, "'target' is required"),
        ({"target": "demo"}, "give a commit 'sha', a 'branch', or both"),
        ({"target": "demo", "sha": "abc"}, "7 to 40 hexadecimal"),
        ({"target": "demo", "sha": "g" * 40}, "7 to 40 hexadecimal"),
        ({"target": "demo", "sha": "a" * 41}, "7 to 40 hexadecimal"),
        ({"target": "demo", "sha": 1234567}, "must be a string"),
    ],
)
def test_bad_params_say_what_is_wrong(params, fragment):
    with pytest.raises(ConfigError) as err:
        validate_commit_request(CFG.targets, params)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "evil",
    [
        "main; rm -rf /",
        "main && curl x",
        "$(whoami)",
        "`id`",
        "a|b",
        "x > /etc/passwd",
        "-ffoo",
        "--upload-pack=evil",
        "a..b",
        "a b",
        "feature/../x",
        ".hidden",
        "refs/heads/x.lock",
        "x/",
        "a\nb",
        "a'b",
        'a"b',
        "a*",
        "a?",
        "a[1]",
    ],
)
def test_shell_metacharacters_and_unsafe_refs_are_rejected(evil):
    with pytest.raises(ConfigError, match="branch"):
        validate_commit_request(CFG.targets, {"target": "demo", "branch": evil})
    with pytest.raises(ConfigError, match="sha"):
        validate_commit_request(CFG.targets, {"target": "demo", "sha": evil})
    with pytest.raises(ConfigError, match="target"):
        validate_commit_request(CFG.targets, {"target": evil, "branch": "main"})


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as err:
        validate_commit_request(CFG.targets, {"target": "x;y", "sha": "zz", "branch": "a..b"})
    text = str(err.value)
    assert "target" in text and "sha" in text and "branch" in text
