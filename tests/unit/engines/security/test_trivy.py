"""Trivy: the parser against golden reports of Trivy's own test suite, the real binary (offline, no DB) on a
fixture repository built at test time with secrets generated at test time, and the failure paths (root
outside the workspace, binary missing, a hanging scanner, malformed JSON) with stand-in scripts."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import string
import sys
import time
from pathlib import Path

import pytest

from assay.engines.security.config import TrivyConfig
from assay.engines.security.model import ScanFinding
from assay.engines.security.trivy import (
    db_metadata,
    db_present,
    download_db,
    parse_trivy_report,
    redact_trivy_report,
    resolve_scan_root,
    trivy_cache_dir,
    trivy_config,
    trivy_fs,
    trivy_image,
)
from assay.errors import ConfigError, ToolError

GOLDEN = Path(__file__).resolve().parents[3] / "fixtures" / "security" / "trivy"
TRIVY = shutil.which("trivy") or str(Path(sys.executable).parent / "trivy")
needs_trivy = pytest.mark.skipif(not Path(TRIVY).is_file(), reason=f"no trivy binary ({TRIVY})")
BASE62 = string.ascii_letters + string.digits


def golden(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def vulns(findings: list[ScanFinding]) -> list[tuple]:
    return [
        (f.rule_id, f.package, f.installed_version, f.fixed_version, f.severity, f.location)
        for f in findings
        if f.category == "vulnerability"
    ]


# -- parser on golden reports ---------------------------------------------------------------------------


def test_golden_pip_vulnerabilities():
    findings, n = parse_trivy_report(golden("pip.json"), "trivy_fs")
    assert n == 1
    assert vulns(findings) == [
        ("CVE-2019-14806", "Werkzeug", "0.11", "0.15.3", "HIGH", "requirements.txt"),
        ("CVE-2020-28724", "Werkzeug", "0.11", "0.11.6", "MEDIUM", "requirements.txt"),
    ]
    first = findings[0]
    assert first.tool == "trivy" and first.category == "vulnerability"
    assert first.title == "python-werkzeug: insufficient debugger PIN randomness vulnerability"
    assert first.detail["purl"] == "pkg:pypi/werkzeug@0.11"
    assert first.detail["status"] == "fixed"
    assert first.detail["scanner"] == "trivy_fs"
    assert len({f.fingerprint for f in findings}) == 2


def test_golden_alpine_os_package_vulnerabilities():
    findings, n = parse_trivy_report(golden("alpine-310.json"), "trivy_image")
    target = "testdata/fixtures/images/alpine-310.tar.gz (alpine 3.10.2)"
    assert n == 1
    assert vulns(findings) == [
        ("CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", "MEDIUM", target),
        ("CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2", "MEDIUM", target),
        ("CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", "MEDIUM", target),
        ("CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2", "MEDIUM", target),
    ]
    assert [f.title for f in findings[:2]] == [
        "openssl: information disclosure in fork()",
        "openssl: Integer overflow in RSAZ modular exponentiation on x86_64",
    ]
    # one CVE in two packages: two findings, two fingerprints
    assert len({f.fingerprint for f in findings}) == 4


def test_golden_dockerfile_misconfiguration():
    findings, n = parse_trivy_report(golden("dockerfile.json"), "trivy_config")
    assert n == 1
    assert [(f.category, f.rule_id, f.severity, f.location, f.line, f.title) for f in findings] == [
        ("misconfiguration", "DS-0002", "HIGH", "Dockerfile", None, "Image user should not be 'root'")
    ]
    assert (
        findings[0].detail["message"] == "Specify at least 1 USER command in Dockerfile with non-root user as argument"
    )
    assert findings[0].detail["primary_url"] == "https://avd.aquasec.com/misconfig/ds-0002"


def test_golden_secrets_keep_rule_file_line_only():
    data = golden("secrets.json")
    findings, n = parse_trivy_report(data, "trivy_fs")
    assert n == 1
    assert [(f.category, f.rule_id, f.severity, f.location, f.line, f.fingerprint_key) for f in findings] == [
        ("secret", "aws-access-key-id", "CRITICAL", "deploy.sh", 3, "0"),
        ("secret", "mysecret", "HIGH", "deploy.sh", 7, "0"),
    ]
    text = repr(findings)
    for leaked in ("AWS_ACCESS_KEY_ID", "****", "echo", "GITHUB_PAT", "Match", "Code"):
        assert leaked not in text
    redacted = redact_trivy_report(data)
    for s in redacted["Results"][0]["Secrets"]:
        assert "Match" not in s and "Code" not in s
    assert "AWS_ACCESS_KEY_ID" not in json.dumps(redacted)


# -- parser details ---------------------------------------------------------------------------------------


def _report(*results: dict) -> dict:
    return {"SchemaVersion": 2, "ArtifactName": ".", "Results": list(results)}


def test_two_secrets_of_one_rule_in_one_file_are_told_apart_by_occurrence():
    data = _report(
        {
            "Target": "conf.env",
            "Class": "secret",
            "Secrets": [
                {"RuleID": "github-pat", "Severity": "CRITICAL", "Title": "GitHub PAT", "StartLine": 9, "Match": "x"},
                {"RuleID": "github-pat", "Severity": "CRITICAL", "Title": "GitHub PAT", "StartLine": 2, "Match": "y"},
                {"RuleID": "slack-access-token", "Severity": "HIGH", "Title": "Slack", "StartLine": 5},
            ],
        }
    )
    findings, _ = parse_trivy_report(data, "trivy_fs")
    assert [(f.rule_id, f.line, f.fingerprint_key) for f in findings] == [
        ("github-pat", 2, "0"),
        ("slack-access-token", 5, "0"),
        ("github-pat", 9, "1"),
    ]
    assert len({f.fingerprint for f in findings}) == 3


def test_misconfigurations_only_failures_and_ids_stable_across_trivy_versions():
    old_style = {
        "Type": "Dockerfile Security Check",
        "ID": "DS002",
        "AVDID": "AVD-DS-0002",
        "Title": "Image user should not be 'root'",
        "Message": "Specify at least 1 USER command",
        "Severity": "HIGH",
        "Status": "FAIL",
        "CauseMetadata": {"StartLine": 4, "EndLine": 4},
    }
    passed = {**old_style, "ID": "DS001", "AVDID": "AVD-DS-0001", "Status": "PASS"}
    exception = {**old_style, "ID": "DS005", "AVDID": "AVD-DS-0005", "Status": "EXCEPTION"}
    findings, _ = parse_trivy_report(
        _report({"Target": "Dockerfile", "Class": "config", "Misconfigurations": [old_style, passed, exception]}),
        "trivy_config",
    )
    assert [(f.rule_id, f.line, f.detail["trivy_id"]) for f in findings] == [("DS-0002", 4, "DS002")]
    new_style = {**old_style, "ID": "DS-0002"}
    new_style.pop("AVDID")
    again, _ = parse_trivy_report(
        _report({"Target": "Dockerfile", "Class": "config", "Misconfigurations": [new_style]}), "trivy_config"
    )
    assert again[0].fingerprint == findings[0].fingerprint


def test_a_misconfiguration_on_a_secret_line_does_not_quote_it():
    token = "ghp_" + "".join(secrets.choice(BASE62) for _ in range(36))
    data = _report(
        {
            "Target": "Dockerfile",
            "Class": "config",
            "Secrets": [{"RuleID": "github-pat", "Severity": "CRITICAL", "StartLine": 3, "EndLine": 3}],
            "Misconfigurations": [
                {
                    "ID": "DS-0029",
                    "Title": "'apt-get' missing '--no-install-recommends'",
                    "Message": f"'--no-install-recommends' flag is missed: 'curl -H {token} && apt-get install x'",
                    "Severity": "HIGH",
                    "Status": "FAIL",
                    "CauseMetadata": {
                        "StartLine": 3,
                        "EndLine": 3,
                        "Code": {"Lines": [{"Number": 3, "Content": f"RUN curl -H {token}"}]},
                    },
                }
            ],
        }
    )
    findings, _ = parse_trivy_report(data, "trivy_fs")
    assert token not in repr(findings)
    assert token[4:] not in repr(findings)
    assert token not in json.dumps(redact_trivy_report(data))


def test_licenses():
    data = _report(
        {
            "Target": "Python",
            "Class": "license",
            "Licenses": [
                {
                    "Severity": "HIGH",
                    "Category": "restricted",
                    "PkgName": "somepkg",
                    "FilePath": "venv/lib/somepkg/METADATA",
                    "Name": "GPL-3.0-only",
                    "Confidence": 1,
                    "Link": "",
                }
            ],
        },
        {"Target": "LICENSE", "Class": "license-file", "Licenses": [{"Severity": "LOW", "Name": "MIT"}]},
    )
    findings, n = parse_trivy_report(data, "trivy_fs")
    assert n == 2
    assert [(f.category, f.rule_id, f.severity, f.location, f.package) for f in findings] == [
        ("license", "GPL-3.0-only", "HIGH", "venv/lib/somepkg/METADATA", "somepkg"),
        ("license", "MIT", "LOW", "LICENSE", None),
    ]
    assert findings[0].detail["license_category"] == "restricted"


def test_a_report_without_results_is_empty_and_garbage_is_a_tool_error():
    assert parse_trivy_report({"SchemaVersion": 2, "ArtifactName": "."}, "trivy_fs") == ([], 0)
    with pytest.raises(ToolError):
        parse_trivy_report(["not", "a", "report"], "trivy_fs")  # type: ignore[arg-type]
    with pytest.raises(ToolError):
        parse_trivy_report({"SchemaVersion": 2, "Results": "x"}, "trivy_fs")


# -- where things are -------------------------------------------------------------------------------------


def test_cache_dir_from_config_then_env_then_assay_home(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSAY_TRIVY_CACHE_DIR", raising=False)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    assert trivy_cache_dir(TrivyConfig()) == tmp_path / "home" / "trivy-cache"
    monkeypatch.setenv("ASSAY_TRIVY_CACHE_DIR", str(tmp_path / "shared"))
    assert trivy_cache_dir(TrivyConfig()) == tmp_path / "shared"
    assert trivy_cache_dir(TrivyConfig(cache_dir=str(tmp_path / "own"))) == tmp_path / "own"


def test_db_present_and_metadata(tmp_path):
    cfg = TrivyConfig(cache_dir=str(tmp_path))
    assert not db_present(cfg) and db_metadata(cfg) is None
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "trivy.db").write_bytes(b"bolt")
    assert not db_present(cfg)  # no metadata.json: an interrupted download
    (tmp_path / "db" / "metadata.json").write_text('{"Version": 2, "UpdatedAt": "2026-01-01T00:00:00Z"}')
    assert db_present(cfg)
    assert db_metadata(cfg)["UpdatedAt"] == "2026-01-01T00:00:00Z"


def test_scan_root_must_resolve_inside_the_workspace(tmp_path):
    ws = tmp_path / "ws"
    (ws / "repo" / "src").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (ws / "repo" / "escape").symlink_to(outside)
    assert resolve_scan_root(ws / "repo", [ws]) == (ws / "repo").resolve()
    assert resolve_scan_root(ws / "repo" / "src" / "..", [ws]) == (ws / "repo").resolve()
    for bad in (outside, ws / "repo" / ".." / ".." / "elsewhere", ws / "repo" / "escape", Path("/")):
        with pytest.raises(ConfigError, match="outside the allowed workspace"):
            resolve_scan_root(bad, [ws])
    with pytest.raises(ConfigError, match="not a directory"):
        resolve_scan_root(ws / "missing", [ws])
    with pytest.raises(ConfigError, match="outside the allowed workspace"):
        trivy_fs(ws / "repo" / "escape", TrivyConfig(binary=TRIVY), tmp_path / "work", allowed_roots=[ws])


def test_root_that_is_not_a_directory_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("x")
    for fn in (trivy_fs, trivy_config):
        with pytest.raises(ConfigError, match="not a directory"):
            fn(tmp_path / "file", TrivyConfig(binary=TRIVY), tmp_path / "work")


def test_image_scan_needs_an_image_or_rootfs(tmp_path):
    with pytest.raises(ConfigError, match="security.trivy.image"):
        trivy_image(TrivyConfig(binary=TRIVY), tmp_path)
    with pytest.raises(ConfigError, match="not a directory"):
        trivy_image(TrivyConfig(binary=TRIVY, rootfs=str(tmp_path / "none")), tmp_path)


# -- failure paths with stand-in scripts ------------------------------------------------------------------


def test_binary_missing_says_what_to_install(tmp_path):
    (tmp_path / "repo").mkdir()
    with pytest.raises(ToolError, match="security.trivy.binary") as exc:
        trivy_fs(tmp_path / "repo", TrivyConfig(binary="/nonexistent/trivy"), tmp_path / "work")
    assert exc.value.retryable is False
    with pytest.raises(ToolError, match="security.trivy.binary"):
        download_db(TrivyConfig(binary="/nonexistent/trivy", cache_dir=str(tmp_path / "c")), tmp_path / "work")


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(0o755)
    return str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not running: look at its state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_hanging_scanner_is_killed_with_its_process_group(tmp_path):
    pids = tmp_path / "pids"
    binary = _script(
        tmp_path / "hang.sh",
        f"echo $$ > {pids}\nsleep 60 &\necho $! >> {pids}\nwait\n",
    )
    (tmp_path / "repo").mkdir()
    cfg = TrivyConfig(binary=binary, timeout_s=1, scanners=["secret", "misconfig"], cache_dir=str(tmp_path / "c"))
    started = time.monotonic()
    with pytest.raises(ToolError, match=r"timeout_s=1 s; its process group was killed"):
        trivy_fs(tmp_path / "repo", cfg, tmp_path / "work")
    assert time.monotonic() - started < 10
    leader, child = (int(x) for x in pids.read_text().split())
    deadline = time.monotonic() + 5
    while (_alive(leader) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(leader) and not _alive(child)


_WRITE_TO_OUTPUT = """out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--output" ]; then out="$2"; fi
  shift
done
"""


def test_malformed_json_is_a_tool_error(tmp_path):
    binary = _script(tmp_path / "bad.sh", _WRITE_TO_OUTPUT + 'printf "{not json" > "$out"\necho scanned\n')
    (tmp_path / "repo").mkdir()
    cfg = TrivyConfig(binary=binary, scanners=["secret"], cache_dir=str(tmp_path / "c"))
    with pytest.raises(ToolError, match="not JSON"):
        trivy_fs(tmp_path / "repo", cfg, tmp_path / "work")
    assert not (tmp_path / "work" / "trivy_fs.raw.json").exists()
    assert not (tmp_path / "work" / "trivy_fs.json").exists()


def test_empty_report_and_json_that_is_no_report_are_tool_errors(tmp_path):
    (tmp_path / "repo").mkdir()
    empty = _script(tmp_path / "empty.sh", _WRITE_TO_OUTPUT + ': > "$out"\n')
    with pytest.raises(ToolError, match="wrote no report"):
        trivy_config(tmp_path / "repo", TrivyConfig(binary=empty), tmp_path / "work")
    other = _script(tmp_path / "other.sh", _WRITE_TO_OUTPUT + 'echo "[1, 2]" > "$out"\n')
    with pytest.raises(ToolError, match="not a Trivy report"):
        trivy_config(tmp_path / "repo", TrivyConfig(binary=other), tmp_path / "work")


def test_failure_without_report_carries_the_log_tail(tmp_path):
    binary = _script(tmp_path / "fail.sh", 'echo "FATAL something broke here" >&2\nexit 2\n')
    (tmp_path / "repo").mkdir()
    with pytest.raises(ToolError, match="(?s)exited with code 2.*something broke here"):
        trivy_config(tmp_path / "repo", TrivyConfig(binary=binary), tmp_path / "work")


# -- the real binary ----------------------------------------------------------------------------------------


def _token(prefix: str, n: int, alphabet: str = BASE62) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


DOCKERFILE = """FROM python:latest
ADD app.py /app/app.py
RUN apt-get update && apt-get install -y curl
CMD ["python", "/app/app.py"]
"""
POD = """apiVersion: v1
kind: Pod
metadata:
  name: bad
spec:
  containers:
    - name: app
      image: nginx:latest
      securityContext:
        privileged: true
"""
COMPOSE = """services:
  web:
    image: nginx:latest
    privileged: true
    user: root
"""
EXPECTED_MISCONFIG = {
    ("DS-0001", "Dockerfile"),  # FROM ...:latest
    ("DS-0002", "Dockerfile"),  # runs as root
    ("DS-0005", "Dockerfile"),  # ADD instead of COPY
    ("DS-0026", "Dockerfile"),  # no HEALTHCHECK
    ("DS-0029", "Dockerfile"),  # apt-get without --no-install-recommends
    *(
        (f"KSV-{n:04d}", "k8s/pod.yaml")
        for n in (1, 3, 4, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 30, 104, 106, 110, 118)
    ),  # KSV-0017 privileged, KSV-0011/0018 no CPU/memory limits, ...
}
EXPECTED_SECRETS = {
    ("github-pat", "app/settings.py"),
    ("slack-access-token", "app/settings.py"),
    ("private-key", "deploy/id_rsa"),
}


@pytest.fixture
def bad_repo(tmp_path) -> tuple[Path, list[str]]:
    """A repository with known-bad infrastructure files and secrets generated now (never committed)."""
    repo = tmp_path / "ws" / "repo"
    for d in ("app", "k8s", "deploy", ".venv/lib", "node_modules/pkg"):
        (repo / d).mkdir(parents=True)
    (repo / "Dockerfile").write_text(DOCKERFILE)
    (repo / "k8s" / "pod.yaml").write_text(POD)
    (repo / "docker-compose.yaml").write_text(COMPOSE)
    github = _token("ghp_", 36)
    slack = "xoxb-" + _token("", 12, string.digits) + "-" + _token("", 13, string.digits) + "-" + _token("", 24)
    body = base64.b64encode(secrets.token_bytes(1200)).decode()
    key = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    (repo / "app" / "settings.py").write_text(f'GITHUB_TOKEN = "{github}"\nSLACK_TOKEN = "{slack}"\n')
    (repo / "deploy" / "id_rsa").write_text(f"-----BEGIN RSA PRIVATE KEY-----\n{key}\n-----END RSA PRIVATE KEY-----\n")
    # skipped directories: a secret there is not a finding
    (repo / ".venv" / "lib" / "vendored.py").write_text(f'T = "{_token("ghp_", 36)}"\n')
    (repo / "node_modules" / "pkg" / "index.js").write_text(f'const t = "{_token("ghp_", 36)}";\n')
    # the distinctive parts of each value (Trivy's own masking leaves a Slack token's tail visible)
    fragments = [github, github[4:], slack, slack[-24:], slack[5:17], key.splitlines()[3], body[100:160]]
    return repo, fragments


def _assert_nothing_leaks(report, work: Path, fragments: list[str]) -> None:
    text = repr(report) + json.dumps(report.summary)
    for frag in fragments:
        assert frag not in text
    for path in work.rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8", errors="replace")
            for frag in fragments:
                assert frag not in content, f"a secret leaked into {path.name}"


@needs_trivy
@pytest.mark.slow
def test_real_trivy_fs_offline_without_db(bad_repo, tmp_path):
    """vuln asked for, empty cache, offline: the vulnerability part is ERROR with how to get a DB, and
    the secret and misconfiguration findings are all there."""
    repo, fragments = bad_repo
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    cfg = TrivyConfig(binary=TRIVY, cache_dir=str(cache), offline=True)
    work = tmp_path / "work"
    report = trivy_fs(repo, cfg, work, allowed_roots=[tmp_path / "ws"])
    assert report.scanner == "trivy_fs" and report.tool == "trivy"
    assert report.tool_version and report.tool_version[0].isdigit()
    assert len(report.errors) == 1
    assert "vulnerabilities NOT scanned" in report.errors[0]
    assert "--download-db-only" in report.errors[0] and "db_repository" in report.errors[0]
    assert str(cache) in report.errors[0]
    assert report.summary["scanners_run"] == ["secret", "misconfig", "license"]
    assert report.summary["db"]["present"] is False
    assert report.summary["checks"] == "embedded"
    assert not any(f.category == "vulnerability" for f in report.findings)
    got_secrets = {(f.rule_id, f.location) for f in report.findings if f.category == "secret"}
    got_misconfig = {(f.rule_id, f.location) for f in report.findings if f.category == "misconfiguration"}
    assert got_secrets == EXPECTED_SECRETS
    assert got_misconfig == EXPECTED_MISCONFIG  # nothing for docker-compose.yaml: not a Trivy config type
    assert report.summary["by_category"] == {"misconfiguration": len(EXPECTED_MISCONFIG), "secret": 3}
    assert report.scanned == report.summary["files"] == 5  # .venv and node_modules skipped
    assert report.report_path == str(work / "trivy_fs.json")
    assert report.summary["artefact"] == report.report_path
    raw = json.loads(Path(report.report_path).read_text())
    assert raw["ArtifactType"] == "filesystem"
    assert all("Match" not in s and "Code" not in s for r in raw["Results"] for s in r.get("Secrets", []))
    assert not (work / "trivy_fs.raw.json").exists()
    _assert_nothing_leaks(report, work, fragments)
    assert len({f.fingerprint for f in report.findings}) == len(report.findings)

    # the same tree again: the same fingerprints (a scan is comparable with the last one)
    again = trivy_fs(repo, cfg, tmp_path / "work2")
    assert {f.fingerprint for f in again.findings} == {f.fingerprint for f in report.findings}


@needs_trivy
@pytest.mark.slow
def test_real_trivy_fs_when_the_db_download_fails(bad_repo, tmp_path):
    """Not offline, but the DB cannot be downloaded (an unreachable mirror): same ERROR, the download's
    error in the summary, the other scanners' findings kept."""
    repo, fragments = bad_repo
    cfg = TrivyConfig(
        binary=TRIVY,
        cache_dir=str(tmp_path / "cache"),
        db_repository="127.0.0.1:9/nowhere/trivy-db:2",
        scanners=["vuln", "secret"],
        timeout_s=60,
    )
    report = trivy_fs(repo, cfg, tmp_path / "work")
    assert len(report.errors) == 1 and "vulnerabilities NOT scanned" in report.errors[0]
    assert "127.0.0.1:9/nowhere/trivy-db:2" in report.errors[0]
    assert "download-db-only failed" in report.summary["db"]["download_error"]
    assert {(f.rule_id, f.location) for f in report.findings} == EXPECTED_SECRETS
    _assert_nothing_leaks(report, tmp_path / "work", fragments)
    with pytest.raises(ToolError, match="download-db-only failed"):
        download_db(cfg, tmp_path / "work")
    offline = download_db(cfg.model_copy(update={"offline": True}), tmp_path / "work")
    assert offline["downloaded"] is False and offline["present"] is False


@needs_trivy
@pytest.mark.slow
def test_real_trivy_only_vuln_without_db_runs_nothing_and_says_so(bad_repo, tmp_path):
    repo, _ = bad_repo
    cfg = TrivyConfig(binary=TRIVY, cache_dir=str(tmp_path / "cache"), offline=True, scanners=["vuln"])
    report = trivy_fs(repo, cfg, tmp_path / "work")
    assert report.findings == [] and report.report_path is None
    assert report.scanned == 0
    assert report.errors and "vulnerabilities NOT scanned" in report.errors[0]


@needs_trivy
@pytest.mark.slow
def test_real_trivy_config(bad_repo, tmp_path):
    repo, fragments = bad_repo
    cfg = TrivyConfig(binary=TRIVY, cache_dir=str(tmp_path / "cache"), offline=True)
    report = trivy_config(repo, cfg, tmp_path / "work")
    assert report.scanner == "trivy_config" and report.errors == []
    assert {(f.rule_id, f.location) for f in report.findings} == EXPECTED_MISCONFIG
    assert report.scanned == report.summary["config_files"] == 2
    lines = {f.rule_id: f.line for f in report.findings if f.location == "Dockerfile"}
    assert lines == {"DS-0001": 1, "DS-0002": None, "DS-0005": 2, "DS-0026": None, "DS-0029": 3}
    privileged = next(f for f in report.findings if f.rule_id == "KSV-0017")
    assert privileged.severity == "HIGH" and privileged.title == "Privileged"
    assert report.summary["by_severity"]["HIGH"] == 5
    _assert_nothing_leaks(report, tmp_path / "work", fragments)


@needs_trivy
@pytest.mark.slow
def test_real_trivy_rootfs_without_db(tmp_path):
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text('ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux"\n')
    token = _token("ghp_", 36)
    (rootfs / "etc" / "app.conf").write_text(f"token={token}\n")
    cfg = TrivyConfig(
        binary=TRIVY, cache_dir=str(tmp_path / "cache"), offline=True, rootfs=str(rootfs), scanners=["vuln", "secret"]
    )
    report = trivy_image(cfg, tmp_path / "work")
    assert report.scanner == "trivy_image"
    assert report.errors and "vulnerabilities NOT scanned" in report.errors[0]
    assert [(f.rule_id, f.location) for f in report.findings] == [("github-pat", "etc/app.conf")]
    assert report.scanned >= 1
    _assert_nothing_leaks(report, tmp_path / "work", [token, token[4:]])


def _recording_trivy(tmp_path: Path) -> tuple[str, Path]:
    """A stand-in that records its arguments and writes an empty (valid) Trivy report."""
    args = tmp_path / "args"
    body = f'printf "%s\\n" "$@" > {args}\n' + _WRITE_TO_OUTPUT
    body += """[ -n "$out" ] && printf '{"SchemaVersion": 2, "Trivy": {"Version": "9.9.9"}}' > "$out"\nexit 0\n"""
    return _script(tmp_path / "rec.sh", body), args


def _fake_db(cache: Path, updated: str, next_update: str) -> None:
    (cache / "db").mkdir(parents=True)
    (cache / "db" / "trivy.db").write_bytes(b"bolt")
    meta = {"Version": 2, "UpdatedAt": updated, "NextUpdate": next_update, "DownloadedAt": updated}
    (cache / "db" / "metadata.json").write_text(json.dumps(meta))


def test_offline_flags_and_nothing_read_from_the_scanned_repo(tmp_path):
    binary, args = _recording_trivy(tmp_path)
    cache = tmp_path / "cache"
    _fake_db(cache, "2099-01-01T00:00:00.123456789Z", "2099-01-02T00:00:00Z")
    (tmp_path / "repo").mkdir()
    cfg = TrivyConfig(binary=binary, cache_dir=str(cache), offline=True, timeout_s=90, skip_dirs=[".venv", "a/b"])
    report = trivy_fs(tmp_path / "repo", cfg, tmp_path / "work")
    argv = args.read_text().splitlines()
    assert argv[0] == "fs"
    assert argv[argv.index("--scanners") + 1] == "vuln,secret,misconfig,license"
    for flag in ("--skip-db-update", "--skip-check-update", "--offline-scan", "--skip-java-db-update"):
        assert flag in argv
    for flag in ("--config", "--ignorefile", "--secret-config"):
        assert argv[argv.index(flag) + 1] == ""  # nothing in the scanned repo or the cwd configures Trivy
    assert argv[argv.index("--cache-dir") + 1] == str(cache)
    assert argv[argv.index("--timeout") + 1] == "90s"
    assert argv[argv.index("--format") + 1] == "json"
    skips = [argv[i + 1] for i, a in enumerate(argv) if a == "--skip-dirs"]
    assert skips == [".venv", "**/.venv", "a/b"]
    assert argv[-1] == str((tmp_path / "repo").resolve())
    assert report.errors == [] and report.findings == [] and report.tool_version == "9.9.9"
    assert report.summary["db"]["present"] is True


def test_a_stale_db_is_used_but_reported(tmp_path):
    binary, args = _recording_trivy(tmp_path)
    cache = tmp_path / "cache"
    _fake_db(cache, "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
    (tmp_path / "repo").mkdir()
    cfg = TrivyConfig(binary=binary, cache_dir=str(cache), offline=True, scanners=["vuln"], db_max_age_h=24)
    report = trivy_fs(tmp_path / "repo", cfg, tmp_path / "work")
    assert "vuln" in args.read_text().splitlines()
    assert len(report.errors) == 1 and "db_max_age_h=24" in report.errors[0]
    assert report.summary["scanners_run"] == ["vuln"]
    no_limit = trivy_fs(tmp_path / "repo", cfg.model_copy(update={"db_max_age_h": None}), tmp_path / "work")
    assert no_limit.errors == []


def test_image_archive_is_read_with_input(tmp_path):
    binary, args = _recording_trivy(tmp_path)
    archive = tmp_path / "img.tar"
    archive.write_bytes(b"")
    cfg = TrivyConfig(binary=binary, cache_dir=str(tmp_path / "c"), offline=True, image=str(archive))
    cfg = cfg.model_copy(update={"scanners": ["secret"]})
    report = trivy_image(cfg, tmp_path / "work")
    argv = args.read_text().splitlines()
    assert argv[0] == "image" and argv[-2:] == ["--input", str(archive.resolve())]
    assert report.scanner == "trivy_image" and report.errors == []
    by_name = trivy_image(cfg.model_copy(update={"image": "registry.local/app:1.2"}), tmp_path / "work")
    assert args.read_text().splitlines()[-1] == "registry.local/app:1.2" and by_name.errors == []


def test_deployment_shares_one_trivy_cache_that_the_default_points_at(monkeypatch):
    """docker-compose: every Airflow service mounts one named Trivy cache volume where ASSAY_TRIVY_CACHE_DIR
    points (the default of security.trivy.cache_dir); the image creates it for the airflow user."""
    import yaml

    repo = Path(__file__).resolve().parents[4]
    compose = yaml.safe_load((repo / "docker-compose.yaml").read_text())
    common_env = compose["x-airflow-common"]["environment"]
    cache = common_env["ASSAY_TRIVY_CACHE_DIR"]
    assert "trivy-cache" in compose["volumes"]
    for name, svc in compose["services"].items():
        if name.startswith("airflow-"):
            assert f"trivy-cache:{cache}" in svc["volumes"], name
            assert (svc.get("environment") or common_env)["ASSAY_TRIVY_CACHE_DIR"] == cache, name
    monkeypatch.setenv("ASSAY_TRIVY_CACHE_DIR", cache)
    assert trivy_cache_dir(TrivyConfig()) == Path(cache)
    dockerfile = (repo / "Dockerfile").read_text()
    assert f"ASSAY_TRIVY_CACHE_DIR={cache}" in dockerfile
    assert "sha256sum -c" in dockerfile  # the release tarball is checked before it is unpacked
