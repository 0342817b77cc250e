"""Bandit, the real tool, on fixture trees built at test time: exact findings, no quoted code or password
anywhere in what Assay keeps, unparsable files and a scan of nothing reported."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from assay.engines.security.bandit import bandit_exclude_patterns, redact_bandit_report, run_bandit
from assay.engines.security.config import BanditConfig
from assay.errors import ConfigError

APP = """import subprocess

import yaml


def run(cmd):
    return subprocess.call(cmd, shell=True)


def load(text):
    return yaml.load(text)


DB_PASSWORD = "{password}"


def check(x):
    assert x > 0
    return x
"""


@pytest.fixture
def project(tmp_path) -> tuple[Path, str]:
    password = "pw-" + secrets.token_hex(12)
    root = tmp_path / "proj"
    for d in ("src/pkg", "tests", ".github/scripts", ".git/hooks"):
        (root / d).mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "app.py").write_text(APP.format(password=password))
    (root / "src" / "pkg" / "broken.py").write_text("def broken(:\n    pass\n")
    (root / "tests" / "test_app.py").write_text("def test_x():\n    assert 1\n")
    # `.git` excluded must not exclude `.github` (bandit's own plain-string exclusion is a substring test)
    (root / ".github" / "scripts" / "release.py").write_text("import os\n\nos.system('make ' + os.environ['V'])\n")
    (root / ".git" / "hooks" / "hook.py").write_text("assert True\n")
    return root, password


def test_real_bandit_exact_findings_without_code_or_password(project, tmp_path):
    root, password = project
    work = tmp_path / "work"
    report = run_bandit(root, BanditConfig(exclude=[".git", "tests"]), work)
    assert report.scanner == "bandit" and report.tool == "bandit"
    assert report.tool_version == "1.9.4"
    assert {(f.rule_id, f.location, f.line) for f in report.findings} == {
        ("B404", "src/pkg/app.py", 1),  # import subprocess
        ("B602", "src/pkg/app.py", 7),  # shell=True
        ("B506", "src/pkg/app.py", 11),  # yaml.load
        ("B105", "src/pkg/app.py", 14),  # hard-coded password
        ("B101", "src/pkg/app.py", 18),  # assert
        ("B605", ".github/scripts/release.py", 3),  # os.system with a built string
    }
    by_rule = {f.rule_id: f for f in report.findings}
    assert by_rule["B602"].severity == "HIGH" and by_rule["B506"].severity == "MEDIUM"
    assert by_rule["B105"].title == "Possible hardcoded password"
    assert by_rule["B602"].detail == {
        "confidence": "HIGH",
        "cwe": 78,
        "test_name": "subprocess_popen_with_shell_equals_true",
        "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b602_subprocess_popen_with_shell_equals_true.html",
    }
    assert all(f.category == "code" and f.fingerprint_key == "0" for f in report.findings)
    assert report.errors == []
    assert report.scanned == 3  # __init__.py, app.py, release.py; broken.py could not be parsed
    assert report.summary["errors"] == [
        {"file": "src/pkg/broken.py", "reason": "syntax error while parsing AST from file"}
    ]
    assert report.summary["by_severity"] == {"HIGH": 2, "MEDIUM": 1, "LOW": 3}
    assert report.report_path == str(work / "bandit.json")
    # the password is nowhere: not in the report, not in any file Assay leaves in the work dir
    assert password not in repr(report) and password not in json.dumps(report.summary)
    for path in work.rglob("*"):
        assert password not in path.read_text(errors="replace"), path.name
    kept = json.loads(Path(report.report_path).read_text())
    assert all("code" not in r for r in kept["results"])
    assert not (work / "bandit.raw.json").exists()


def test_min_confidence_and_paths(project, tmp_path):
    root, _ = project
    report = run_bandit(root, BanditConfig(paths=["src"], exclude=[], min_confidence="HIGH"), tmp_path / "w")
    # B105 is MEDIUM confidence: left out at HIGH; .github is not under src
    assert {f.rule_id for f in report.findings} == {"B404", "B602", "B506", "B101"}
    assert report.scanned == 2


def test_two_findings_of_one_rule_in_one_file_are_told_apart(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "a.py").write_text("def f(x):\n    assert x\n    assert not x\n")
    report = run_bandit(tmp_path / "p", BanditConfig(exclude=[]), tmp_path / "w")
    assert [(f.rule_id, f.line, f.fingerprint_key) for f in report.findings] == [("B101", 2, "0"), ("B101", 3, "1")]
    assert len({f.fingerprint for f in report.findings}) == 2


def test_no_python_file_is_an_error_not_a_clean_scan(tmp_path):
    (tmp_path / "p" / "docs").mkdir(parents=True)
    (tmp_path / "p" / "docs" / "index.md").write_text("# docs\n")
    report = run_bandit(tmp_path / "p", BanditConfig(), tmp_path / "w")
    assert report.findings == [] and report.scanned == 0
    assert len(report.errors) == 1 and "examined no Python file" in report.errors[0]


def test_only_unparsable_files_is_an_error(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "bad.py").write_text("def (:\n")
    report = run_bandit(tmp_path / "p", BanditConfig(), tmp_path / "w")
    assert report.scanned == 0 and report.errors
    assert report.summary["errors"][0]["file"] == "bad.py"


def test_bad_roots_and_paths_are_config_errors(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "f.py").write_text("x = 1\n")
    with pytest.raises(ConfigError, match="not a directory"):
        run_bandit(tmp_path / "missing", BanditConfig(), tmp_path / "w")
    with pytest.raises(ConfigError, match="outside the scanned root"):
        run_bandit(tmp_path / "p", BanditConfig(paths=[".."]), tmp_path / "w")
    with pytest.raises(ConfigError, match="does not exist"):
        run_bandit(tmp_path / "p", BanditConfig(paths=["src"]), tmp_path / "w")


def test_exclude_patterns_and_redaction():
    assert bandit_exclude_patterns(["tests", "build/gen", "*.pyi", ""]) == [
        "tests/*",
        "*/tests/*",
        "*/tests",
        "build/gen",
        "*.pyi",
    ]
    data = {
        "results": [
            {"test_id": "B106", "issue_text": "Possible hardcoded password: 'abc123'", "code": "pw='abc123'"},
            {"test_id": "B602", "issue_text": "subprocess call with shell=True identified", "code": "x"},
        ]
    }
    redacted = redact_bandit_report(data)
    assert "abc123" not in json.dumps(redacted)
    assert [r["issue_text"] for r in redacted["results"]] == [
        "Possible hardcoded password",
        "subprocess call with shell=True identified",
    ]
