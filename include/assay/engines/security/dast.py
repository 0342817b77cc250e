"""API security tests against a running service, from its OpenAPI document: three scanners, one
:class:`~assay.engines.security.model.ScanReport` each, findings of category ``api`` located at
``"METHOD /path"``.

* :func:`run_fuzz` (``dast_fuzz``): the real schemathesis CLI, every operation with valid credentials.
* :func:`run_auth_matrix` (``dast_authz``): every operation × caller (no token, an unknown token, an expired
  token, each configured role) against what ``DastConfig`` says each caller must get.
* :func:`run_injection_probes` (``dast_injection``): SQL injection, XSS and path-traversal payloads in every
  path and query parameter and the string fields of a JSON body.

The bearer token never appears in an argv, a message, a finding, a report or a file these scanners write:
schemathesis reads it from an environment variable its config file expands (``${ASSAY_DAST_TOKEN}``), its
sanitised output shows ``[Filtered]``, and every file written under the work dir is scrubbed of it anyway.

An unreachable service, or an OpenAPI document that cannot be fetched or is not JSON, is a
:class:`~assay.errors.TargetError` naming the URL and the reason.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import secrets
import shlex
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from assay.engines.security.config import DastConfig
from assay.engines.security.model import ScanFinding, ScanReport
from assay.errors import TargetError, ToolError
from assay.process import run_command, target_env

__all__ = [
    "FUZZ_SEVERITY",
    "Operation",
    "list_operations",
    "load_openapi",
    "run_auth_matrix",
    "run_fuzz",
    "run_injection_probes",
]

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
TOKEN_ENV = "ASSAY_DAST_TOKEN"
REDACTED = "[REDACTED]"
TOKEN_PLACEHOLDER = "$API_TOKEN"
_RETRIES_429 = 3


# -- the OpenAPI document --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document: ``label`` is ``"METHOD /path"``."""

    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)
    parameters: tuple[dict[str, Any], ...] = field(default=(), repr=False)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def declares_security(self) -> bool:
        return bool(self.spec.get("security"))


def load_openapi(base_url: str, cfg: DastConfig) -> dict[str, Any]:
    """The service's OpenAPI document (``base_url + cfg.openapi_path``); TargetError when it cannot be had."""
    url = base_url.rstrip("/") + cfg.openapi_path
    try:
        with _session() as session:
            response = session.get(url, timeout=cfg.request_timeout_s)
    except requests.RequestException as exc:
        raise TargetError(f"cannot fetch the OpenAPI document {url}: {_reason(exc)}") from None
    if response.status_code != 200:
        raise TargetError(f"cannot fetch the OpenAPI document {url}: HTTP {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise TargetError(
            f"the OpenAPI document {url} is not valid JSON ({kind}): {response.text[:80]!r}", retryable=False
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise TargetError(f"{url} is not an OpenAPI document (no 'paths' object)", retryable=False)
    return document


def list_operations(openapi: Mapping[str, Any]) -> list[Operation]:
    """Every operation of the document, in its order; path-level parameters are merged into each operation's."""
    ops: list[Operation] = []
    for path, item in (openapi.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        shared = [_deref(openapi, p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            own = [_deref(openapi, p) for p in spec.get("parameters", [])]
            names = {(p.get("name"), p.get("in")) for p in own}
            params = [p for p in shared if (p.get("name"), p.get("in")) not in names] + own
            ops.append(Operation(method.upper(), path, spec, tuple(params)))
    return ops


def _deref(openapi: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with a local ``$ref`` (``#/components/...``) followed (to a bounded depth)."""
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {}
        target: Any = openapi
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node


def _matches(label: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(label, p) for p in patterns)


# -- simple valid values from a schema -------------------------------------------------------------------------

_STRING_CANDIDATES = ("assay", "1", "a1", "1.0.0", "assay-1", "a")


def sample_value(openapi: Mapping[str, Any], schema: Any, depth: int = 0) -> Any:
    """A small value valid for ``schema``: its example, default or first enum value, else the simplest value of
    its type that meets its bounds (objects: the required properties only)."""
    schema = _deref(openapi, schema)
    if not isinstance(schema, dict) or depth > 8:
        return "assay"
    for key in ("example", "default", "const"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples") and isinstance(schema["examples"], list):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if _deref(openapi, o).get("type") != "null"]
        if options:
            if key == "allOf":
                merged: dict[str, Any] = {}
                for option in options:
                    merged.update(_deref(openapi, option))
                return sample_value(openapi, merged, depth + 1)
            return sample_value(openapi, options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample_value(openapi, props.get(name, {}), depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 0) or 0)) if schema.get("minItems") else 0
        return [sample_value(openapi, schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        if isinstance(schema.get("exclusiveMinimum"), int | float) and "minimum" not in schema:
            low = schema["exclusiveMinimum"] + 1
        value = low if isinstance(low, int | float) else 1
        high = schema.get("maximum")
        if isinstance(high, int | float) and value > high:
            value = high
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _sample_string(schema)


def _sample_string(schema: Mapping[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2024-01-01T00:00:00Z"
    if fmt == "date":
        return "2024-01-01"
    if fmt in ("uuid",):
        return "00000000-0000-4000-8000-000000000001"
    low, high = int(schema.get("minLength", 0) or 0), schema.get("maxLength")
    pattern = schema.get("pattern")
    for candidate in _STRING_CANDIDATES:
        value = candidate + "1" * max(0, low - len(candidate))
        if isinstance(high, int):
            value = value[:high]
        if pattern is None or _search(pattern, value):
            return value
    return "1" * max(low, 1)


def _search(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True


@dataclass
class _Request:
    method: str
    path: str  # filled template
    query: dict[str, Any]
    body: Any = None
    has_body: bool = False


def _base_request(openapi: Mapping[str, Any], op: Operation) -> _Request:
    """A request for ``op`` with simple valid path parameters, its required query parameters and a minimal body."""
    path, query = op.path, {}
    for param in op.parameters:
        where, name = param.get("in"), param.get("name")
        if where == "path":
            value = _param_sample(openapi, param)
            path = path.replace("{" + str(name) + "}", quote(str(value), safe=""))
        elif where == "query" and param.get("required"):
            query[name] = _param_sample(openapi, param)
    body, has_body = None, False
    content = (_deref(openapi, op.spec.get("requestBody")) or {}).get("content", {})
    json_type = next((t for t in content if "json" in t), None)
    if json_type is not None:
        media = content[json_type]
        has_body = True
        body = media.get("example") if "example" in media else sample_value(openapi, media.get("schema", {}))
    return _Request(op.method, path, query, body, has_body)


def _param_sample(openapi: Mapping[str, Any], param: Mapping[str, Any]) -> Any:
    if "example" in param:
        return param["example"]
    examples = param.get("examples")
    if isinstance(examples, dict) and examples:
        first = _deref(openapi, next(iter(examples.values())))
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    value = sample_value(openapi, param.get("schema", {}))
    return "1" if value in ("assay", "") and param.get("in") == "path" else value


# -- HTTP -------------------------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """A short reason for a requests error (the innermost cause's words, never a header)."""
    text = str(exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "Max retries exceeded"):
        if marker in text:
            return marker.lower() if marker != "Max retries exceeded" else "connection failed"
    return type(exc).__name__


def _session() -> requests.Session:
    """A session that ignores the worker's proxy variables and ``~/.netrc`` (which could add credentials to the
    calls that must go without)."""
    session = requests.Session()
    session.trust_env = False
    return session


class _Client:
    """One session for a scanner's requests: retries a 429 after its Retry-After (bounded), counts answers."""

    def __init__(self, base_url: str, cfg: DastConfig) -> None:
        self.base_url = base_url.rstrip("/")
        self.cfg = cfg
        self.session = _session()
        self.answered = 0
        self.last_error: str | None = None

    def send(self, req: _Request, token: str | None) -> requests.Response | None:
        headers = {"Accept": "*/*"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"params": req.query, "headers": headers, "timeout": self.cfg.request_timeout_s}
        if req.has_body:
            kwargs["json"] = req.body
        for attempt in range(_RETRIES_429 + 1):
            try:
                response = self.session.request(req.method, self.base_url + req.path, **kwargs)
            except requests.RequestException as exc:
                self.last_error = _reason(exc)
                return None
            if response.status_code != 429 or attempt == _RETRIES_429:
                self.answered += 1
                return response
            time.sleep(min(_retry_after(response), 2.0))
        return None  # pragma: no cover

    def close(self) -> None:
        self.session.close()


def _retry_after(response: requests.Response) -> float:
    try:
        return max(0.05, float(response.headers.get("retry-after", "0.2")))
    except ValueError:
        return 0.2


def _unreachable(base_url: str, client: _Client) -> TargetError:
    return TargetError(f"the service at {base_url} did not answer: {client.last_error or 'no answer'}")


# -- fuzzing: schemathesis ---------------------------------------------------------------------------------------

#: severity of a failed schemathesis check; a check not listed is MEDIUM
FUZZ_SEVERITY: dict[str, str] = {
    "not_a_server_error": "HIGH",
    "response_schema_conformance": "MEDIUM",
    "content_type_conformance": "MEDIUM",
    "response_headers_conformance": "LOW",
    "status_code_conformance": "LOW",
    "negative_data_rejection": "MEDIUM",
    "positive_data_acceptance": "LOW",
    "missing_required_header": "LOW",
    "unsupported_method": "LOW",
    "ignored_auth": "CRITICAL",
    "use_after_free": "HIGH",
    "ensure_resource_availability": "MEDIUM",
}


def run_fuzz(base_url: str, token: str | None, cfg: DastConfig, work_dir: Path) -> ScanReport:
    """Fuzz every operation of the service with schemathesis (``python -m schemathesis.cli run``).

    Valid credentials (``token`` as a bearer token) on every request; ``cfg.fuzz_checks`` (default
    ``not_a_server_error``, ``response_schema_conformance``, ``content_type_conformance``); at most
    ``cfg.max_examples`` generated cases per operation and phase, one worker, ``cfg.fuzz_seed`` when set;
    operations matching ``cfg.fuzz_exclude`` are left out. The run is killed after ``cfg.time_budget_s``: what
    finished by then is kept (its NDJSON event stream is written as it goes) and the summary says the budget ran
    out; a run that finished nothing is a ToolError.

    One finding per (operation, failed check): ``rule_id`` is the check's name, ``location`` the operation,
    severity from :data:`FUZZ_SEVERITY` (a server error is HIGH, a response that violates its declared schema or
    content type MEDIUM), ``detail`` the failure's code, title and message, the response status, how many cases
    failed it and a curl command reproducing the first one, with ``$API_TOKEN`` where the token goes.

    ``scanned`` is the number of operations schemathesis tested. Reports (JSON, NDJSON, JUnit XML) and the log go
    to ``work_dir/dast-fuzz``; ``report_path`` is the JSON run report.
    """
    started = time.monotonic()
    secrets_ = [token] if token else []
    openapi = load_openapi(base_url, cfg)
    ops = list_operations(openapi)
    selected = [op for op in ops if not _matches(op.label, cfg.fuzz_exclude)]
    out = Path(work_dir) / "dast-fuzz"
    out.mkdir(parents=True, exist_ok=True)
    config_file = out / "schemathesis.toml"
    # The config file names the variable, never the token: schemathesis expands ${ASSAY_DAST_TOKEN} itself.
    config_file.write_text(
        f'headers = {{ Authorization = "Bearer ${{{TOKEN_ENV}}}" }}\n' if token else "", encoding="utf-8"
    )
    json_path, ndjson_path, junit_path = out / "report.json", out / "events.ndjson", out / "junit.xml"
    for stale in (json_path, ndjson_path, junit_path):
        stale.unlink(missing_ok=True)
    schema_url = base_url.rstrip("/") + cfg.openapi_path
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file),
        "run",
        schema_url,
        "--url",
        base_url.rstrip("/"),
        "--checks",
        ",".join(cfg.fuzz_checks),
        "--max-examples",
        str(cfg.max_examples),
        "--workers",
        "1",
        "--request-timeout",
        f"{cfg.request_timeout_s:g}",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--output-sanitize",
        "true",
        "--no-color",
        "--report",
        "json,ndjson,junit",
        "--report-dir",
        str(out),
        "--report-json-path",
        str(json_path),
        "--report-ndjson-path",
        str(ndjson_path),
        "--report-junit-path",
        str(junit_path),
    ]
    if cfg.fuzz_seed is not None:
        argv += ["--seed", str(cfg.fuzz_seed)]
    if cfg.fuzz_exclude:
        argv += ["--exclude-name-regex", "|".join(f"(?:{fnmatch.translate(p)})" for p in cfg.fuzz_exclude)]
    env = target_env({TOKEN_ENV: token} if token else None)  # the worker's ASSAY_* variables are scrubbed
    result = run_command(
        argv, cwd=out, timeout_s=cfg.time_budget_s, log_path=out / "schemathesis.log", env=env, grace_s=5.0
    )
    _scrub_files(out, secrets_)
    events = _read_events(ndjson_path)
    events.tested &= {op.label for op in ops}  # not schemathesis's "Stateful tests" scenario
    run_report = _read_json(json_path)
    tail = _scrub(result.output_tail, secrets_)
    if result.timed_out and not events.tested:
        raise ToolError(
            f"schemathesis finished no operation within the time budget of {cfg.time_budget_s:g} s "
            f"(log {result.log_path}): {tail[-600:]}"
        )
    if not result.timed_out and run_report is None:
        raise ToolError(f"schemathesis exited with {result.returncode} and wrote no report: {tail[-1500:]}")

    findings = [
        ScanFinding(
            tool="schemathesis",
            category="api",
            rule_id=check,
            severity=FUZZ_SEVERITY.get(check, "MEDIUM"),
            title=f"{failure.get('title') or check} ({check})",
            location=label,
            detail=_scrub_obj(detail, secrets_),
        )
        for (label, check), (failure, detail) in sorted(events.failures.items())
    ]
    errors: list[str] = []
    if run_report is not None:
        errors += [_scrub(_error_text(e), secrets_) for e in run_report.get("errors") or []]
        tested = int((run_report.get("operations") or {}).get("tested", len(events.tested)))
    else:
        tested = len(events.tested)
    warnings = {k: v for k, v in ((run_report or {}).get("warnings") or {}).items() if v}
    budget_ran_out = result.timed_out
    summary: dict[str, Any] = {
        "operations": len(ops),
        "selected": len(selected),
        "excluded": [op.label for op in ops if op not in selected],
        "tested": tested,
        "tested_operations": sorted(events.tested),
        "checks": list(cfg.fuzz_checks),
        "max_examples": cfg.max_examples,
        "seed": str((run_report or {}).get("seed", cfg.fuzz_seed)),  # 128-bit: text, JSON-safe everywhere
        "test_cases": (run_report or {}).get("test_cases", {"generated": events.cases}),
        "failures": len(findings),
        "warnings": warnings,
        "budget_exhausted": budget_ran_out,
        "exit_code": result.returncode,
        "reports": {"json": str(json_path), "ndjson": str(ndjson_path), "junit": str(junit_path)},
        "log": str(result.log_path),
    }
    if budget_ran_out:
        summary["message"] = (
            f"time budget of {cfg.time_budget_s:g} s ran out before schemathesis finished: kept the "
            f"{events.cases} cases it ran, on {len(events.tested)} of {len(selected)} operations"
        )
    else:
        summary["message"] = f"{tested} of {len(selected)} operations fuzzed, {len(findings)} failed checks"
    return ScanReport(
        scanner="dast_fuzz",
        tool="schemathesis",
        tool_version=_version("schemathesis"),
        findings=findings,
        scanned=tested,
        duration_s=time.monotonic() - started,
        report_path=str(json_path) if run_report is not None else str(ndjson_path),
        errors=errors,
        summary=summary,
    )


@dataclass
class _Events:
    tested: set[str] = field(default_factory=set)
    cases: int = 0
    failures: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)


def _read_events(path: Path) -> _Events:
    """What the NDJSON event stream says: operations tested, and the first failing case of each (operation,
    check) with its request and response. A line cut short by a kill is skipped."""
    events = _Events()
    if not path.exists():
        return events
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            finished = event.get("ScenarioFinished") if isinstance(event, dict) else None
            if not isinstance(finished, dict) or finished.get("status") == "skip":
                continue
            recorder = finished.get("recorder") or {}
            label = recorder.get("label")
            if not label:
                continue
            events.tested.add(label)
            cases, interactions = recorder.get("cases") or {}, recorder.get("interactions") or {}
            for case_id, checks in (recorder.get("checks") or {}).items():
                events.cases += 1
                for check in checks or []:
                    if check.get("status") != "failure":
                        continue
                    failure = ((check.get("failure_info") or {}).get("failure")) or {}
                    key = (failure.get("operation") or label, check.get("name") or failure.get("type") or "?")
                    if key in events.failures:
                        events.failures[key][1]["failed_cases"] += 1
                        continue
                    interaction = interactions.get(case_id) or {}
                    response = interaction.get("response") or {}
                    detail = {
                        "check": key[1],
                        "code": failure.get("code"),
                        "title": failure.get("title"),
                        "message": (failure.get("message") or "")[:1000],
                        "status_code": response.get("status_code"),
                        "phase": (((cases.get(case_id) or {}).get("value") or {}).get("meta") or {})
                        .get("phase", {})
                        .get("name"),
                        "curl": _curl(interaction.get("request") or {}),
                        "failed_cases": 1,
                    }
                    events.failures[key] = (failure, detail)
    return events


def _curl(request: Mapping[str, Any]) -> str:
    """A curl command reproducing a recorded request; the Authorization value is ``$API_TOKEN``."""
    if not request:
        return ""
    parts = ["curl", "-X", str(request.get("method", "GET"))]
    for name, values in (request.get("headers") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            if name.lower() == "authorization":
                value = f"Bearer {TOKEN_PLACEHOLDER}"
                parts += ["-H", f'"{name}: {value}"']
                continue
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    body = request.get("body")
    if isinstance(body, dict) and "$base64" in body:
        try:
            text = base64.b64decode(body["$base64"]).decode("utf-8", errors="replace")
        except ValueError:
            text = ""
        if text:
            parts += ["-d", shlex.quote(text[:2000])]
    parts.append(shlex.quote(str(request.get("uri", ""))))
    return " ".join(parts)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        label = error.get("label") or error.get("operation") or ""
        text = error.get("message") or error.get("title") or json.dumps(error)[:300]
        return f"{label}: {text}" if label else str(text)
    return str(error)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _scrub(text: str, secrets_: Iterable[str]) -> str:
    for secret in secrets_:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _scrub_obj(value: Any, secrets_: list[str]) -> Any:
    if isinstance(value, str):
        return _scrub(value, secrets_)
    if isinstance(value, dict):
        return {k: _scrub_obj(v, secrets_) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_obj(v, secrets_) for v in value]
    return value


def _scrub_files(root: Path, secrets_: list[str]) -> None:
    """Replace every secret in every file under ``root`` (reports, logs) with ``[REDACTED]``."""
    needles = [s.encode() for s in secrets_ if s]
    if not needles:
        return
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        cleaned = data
        for needle in needles:
            cleaned = cleaned.replace(needle, REDACTED.encode())
        if cleaned != data:
            path.write_bytes(cleaned)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


# -- authentication / authorization matrix -----------------------------------------------------------------------

ANONYMOUS, BAD_TOKEN, EXPIRED = "anonymous", "unknown_token", "expired_token"


def run_auth_matrix(
    base_url: str,
    tokens: Mapping[str, str],
    expired_token: str | None,
    cfg: DastConfig,
    openapi: dict[str, Any] | None = None,
    *,
    work_dir: Path | None = None,
) -> ScanReport:
    """Call every operation as every caller and compare each answer with what the config says it must be.

    Callers: no token (must get ``cfg.unauthenticated_status``), an unknown token and the expired token (must get
    ``cfg.bad_token_status``), and each role of ``cfg.roles`` with its token from ``tokens`` (allowed, i.e. not 401
    or 403, where one of the role's patterns matches ``"METHOD /path"`` with fnmatch; else
    ``cfg.forbidden_status``). Every operation not in ``cfg.public_operations`` is protected, whether or not it
    declares a security requirement (a route that forgot its auth declares none); a public operation is called
    without a token and only recorded. A request carries simple valid path and query parameters and a minimal
    body from the schema, so a 404 or 422 for an allowed role is fine: authorization passed. A 429 is retried
    after its Retry-After.

    Each violated cell is a finding: ``authz.unauthenticated_allowed``, ``authz.bad_token_accepted`` and
    ``authz.expired_token_accepted`` (CRITICAL: the request got past authentication), ``authz.role_forbidden_allowed``
    (HIGH: a role did what it may not), ``authz.role_allowed_denied`` (LOW: a role was refused what it may do),
    and ``authz.<caller>_wrong_status`` (LOW: refused, but with a status the config does not expect). A call that
    got no answer (or stayed rate limited) is an error: the matrix is incomplete. A column without a token (no
    expired token, a role of ``cfg.roles`` missing from ``tokens``, as for a service reached by connection) is
    named in ``summary["not_checked"]`` and the message.

    The full matrix (operation × caller → status, expected, ok) is in ``summary["matrix"]`` and, with
    ``work_dir``, in ``work_dir/dast-authz-matrix.json`` (``report_path``).
    """
    started = time.monotonic()
    secrets_ = [t for t in [*tokens.values(), expired_token] if t]
    document = openapi if openapi is not None else load_openapi(base_url, cfg)
    ops = list_operations(document)
    client = _Client(base_url, cfg)
    unknown = "assay-unknown-" + secrets.token_urlsafe(18)
    callers: list[tuple[str, str | None]] = [(ANONYMOUS, None), (BAD_TOKEN, unknown)]
    errors: list[str] = []
    not_checked: list[str] = []  # columns without a token (a reached service has no expired token, maybe no roles)
    if expired_token:
        callers.append((EXPIRED, expired_token))
    else:
        not_checked.append("expired_token: no expired token was given")
    for role in cfg.roles:
        if tokens.get(role):
            callers.append((role, tokens[role]))
        else:
            not_checked.append(f"{role}: the config's role has no token")
    findings: list[ScanFinding] = []
    matrix: list[dict[str, Any]] = []
    exercised = 0
    try:
        for op in ops:
            req = _base_request(document, op)
            public = _matches(op.label, cfg.public_operations)
            row: dict[str, Any] = {
                "operation": op.label,
                "public": public,
                "declares_security": op.declares_security,
                "cells": {},
            }
            matrix.append(row)
            answered = False
            for caller, token in callers if not public else [(ANONYMOUS, None)]:
                response = client.send(req, token)
                status = response.status_code if response is not None else None
                expected, kind = _expected(caller, op.label, cfg, public)
                cell = {"status": status, "expected": expected}
                row["cells"][caller] = cell
                if status is None:
                    cell["ok"] = False
                    errors.append(f"{op.label} as {caller}: no answer ({client.last_error})")
                    continue
                answered = True
                violation = None if public else _judge(kind, caller, status, cfg)
                cell["ok"] = violation is None
                if status == 429:
                    cell["ok"] = False
                    errors.append(f"{op.label} as {caller}: still rate limited (429) after {_RETRIES_429} retries")
                    continue
                if violation is not None:
                    rule, severity, title = violation
                    findings.append(
                        ScanFinding(
                            tool="assay-authz",
                            category="api",
                            rule_id=rule,
                            severity=severity,
                            title=title,
                            location=op.label,
                            fingerprint_key=caller,
                            detail={
                                "caller": caller,
                                "status_code": status,
                                "expected": expected,
                                "request": f"{req.method} {req.path}",
                                "declares_security": op.declares_security,
                            },
                        )
                    )
            exercised += answered
    finally:
        client.close()
    if ops and client.answered == 0:
        raise _unreachable(base_url, client)
    summary: dict[str, Any] = {
        "operations": len(ops),
        "public": [r["operation"] for r in matrix if r["public"]],
        "callers": [c for c, _ in callers],
        "not_checked": not_checked,
        "violations": len(findings),
        "matrix": {
            r["operation"]: {c: f"{v['status']} (expected {v['expected']})" for c, v in r["cells"].items()}
            for r in matrix
        },
        "message": f"{exercised} operations × {len(callers)} callers, {len(findings)} violated cells"
        + (f"; not checked: {'; '.join(not_checked)}" if not_checked else ""),
    }
    report_path = None
    if work_dir is not None:
        path = Path(work_dir) / "dast-authz-matrix.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"base_url": base_url, "operations": matrix}, indent=1), encoding="utf-8")
        report_path = str(path)
        summary["matrix_file"] = report_path
    return ScanReport(
        scanner="dast_authz",
        tool="assay-authz",
        tool_version=None,
        findings=findings,
        scanned=exercised,
        duration_s=time.monotonic() - started,
        report_path=report_path,
        errors=errors,
        summary=_scrub_obj(summary, secrets_),
    )


def _expected(caller: str, label: str, cfg: DastConfig, public: bool) -> tuple[str, str]:
    """(what the cell expects, as text; the kind of caller)."""
    if public:
        return "public", "public"
    if caller == ANONYMOUS:
        return "/".join(map(str, cfg.unauthenticated_status)), "anonymous"
    if caller in (BAD_TOKEN, EXPIRED):
        return "/".join(map(str, cfg.bad_token_status)), "bad"
    if _matches(label, cfg.roles.get(caller, [])):
        return "allowed", "allowed"
    return "/".join(map(str, cfg.forbidden_status)), "forbidden"


_DENIED = (401, 403)


def _judge(kind: str, caller: str, status: int, cfg: DastConfig) -> tuple[str, str, str] | None:
    """None when the cell is as expected, else (rule_id, severity, title)."""
    if status == 429:
        return None
    if kind == "allowed":
        if status in _DENIED:
            return ("authz.role_allowed_denied", "LOW", f"role {caller!r} is refused an operation it may call")
        return None
    expected = {
        "anonymous": cfg.unauthenticated_status,
        "bad": cfg.bad_token_status,
        "forbidden": cfg.forbidden_status,
    }[kind]
    if status in expected:
        return None
    if kind == "anonymous":
        name = "unauthenticated"
    elif kind == "bad":
        name = "expired_token" if caller == EXPIRED else "bad_token"
    else:
        name = "role_forbidden"
    if status in _DENIED:
        return (f"authz.{name}_wrong_status", "LOW", f"{caller} is refused with {status}, not as configured")
    if kind == "anonymous":
        return ("authz.unauthenticated_allowed", "CRITICAL", "operation answers without a token")
    if kind == "bad":
        what = "an expired token" if caller == EXPIRED else "an unknown token"
        return (f"authz.{name}_accepted", "CRITICAL", f"operation answers with {what}")
    return ("authz.role_forbidden_allowed", "HIGH", f"role {caller!r} may call an operation it must not")


# -- injection probes ---------------------------------------------------------------------------------------------

_MARK = "assay" + secrets.token_hex(4)
PROBES: dict[str, tuple[str, ...]] = {
    "sql": ("' OR '1'='1", "1' UNION SELECT NULL--", "1; DROP TABLE users--", '" OR ""="', "1' AND SLEEP(0)--"),
    "xss": (f'<script>alert("{_MARK}")</script>', f'"><img src=x onerror=alert("{_MARK}")>'),
    "path_traversal": (
        "../../../../../../../../etc/passwd",
        "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/etc/passwd",
        "....//....//....//....//etc/passwd",
    ),
}
_STACK_TRACE = re.compile(r'Traceback \(most recent call last\)|File "[^"\n]+", line \d+')
_SQL_ERRORS = (
    "sqlite3.OperationalError",
    "sqlite3.ProgrammingError",
    "syntax error at or near",
    "You have an error in your SQL syntax",
    "unterminated quoted string",
    "unrecognized token:",
    "psycopg2.errors",
    "psycopg.errors",
    "sqlalchemy.exc",
    "ORA-00933",
    "SQLSTATE[",
    "quoted string not properly terminated",
)
_PASSWD = re.compile(r"root:[x*]?:0:0:")
_INJECTION_RULES: dict[str, tuple[str, str]] = {
    "injection.path_traversal": ("CRITICAL", "a path-traversal payload returned a system file"),
    "injection.sql_error_leak": ("HIGH", "an SQL error is shown to the caller"),
    "injection.xss_reflected": ("HIGH", "an XSS payload is reflected unescaped"),
    "injection.stack_trace_leak": ("MEDIUM", "a stack trace is shown to the caller"),
    "injection.server_error": ("MEDIUM", "an injection payload makes the service fail (5xx)"),
}


def run_injection_probes(
    base_url: str, token: str | None, cfg: DastConfig, openapi: dict[str, Any] | None = None
) -> ScanReport:
    """Send SQL-injection, XSS and path-traversal payloads (:data:`PROBES`) in every path and query parameter of
    every operation, and in each top-level string field of a JSON object body; the other inputs keep simple
    valid values and ``token`` authenticates every request.

    Each answer must: not be a 5xx (``injection.server_error``, MEDIUM); not show a stack trace
    (``injection.stack_trace_leak``, MEDIUM) or a database error text such as ``sqlite3.OperationalError`` or
    ``syntax error at or near`` (``injection.sql_error_leak``, HIGH); not reflect an XSS payload unescaped in a
    response that a browser renders, i.e. any content type but JSON (``injection.xss_reflected``, HIGH); and
    not return ``/etc/passwd`` content (``injection.path_traversal``, CRITICAL). One finding per (operation,
    parameter, probe kind, rule) with the first payload that triggered it.

    ``scanned`` counts the operations that answered their baseline request (valid values, no payload).
    """
    started = time.monotonic()
    secrets_ = [token] if token else []
    document = openapi if openapi is not None else load_openapi(base_url, cfg)
    ops = list_operations(document)
    client = _Client(base_url, cfg)
    found: dict[tuple[str, str, str, str], ScanFinding] = {}
    errors: list[str] = []
    exercised, probes_sent = 0, 0
    per_op: dict[str, int] = {}
    try:
        for op in ops:
            base = _base_request(document, op)
            baseline = client.send(base, token)
            if baseline is None:
                errors.append(f"{op.label}: no answer ({client.last_error})")
                continue
            exercised += 1
            sent = 0
            for target, req in _injections(document, op, base):
                for kind, payloads in PROBES.items():
                    for payload in payloads:
                        response = client.send(req(payload), token)
                        if response is None:
                            errors.append(f"{op.label} {target} ({kind}): no answer ({client.last_error})")
                            continue
                        sent += 1
                        for rule in _inspect(kind, payload, response):
                            key = (op.label, target, kind, rule)
                            if key not in found:
                                found[key] = _injection_finding(op, target, kind, rule, payload, response)
            per_op[op.label] = sent
            probes_sent += sent
    finally:
        client.close()
    if ops and client.answered == 0:
        raise _unreachable(base_url, client)
    findings = [replace(f, detail=_scrub_obj(f.detail, secrets_)) for f in found.values()]
    summary = {
        "operations": len(ops),
        "probed": exercised,
        "probes_sent": probes_sent,
        "probes_per_operation": per_op,
        "without_inputs": [label for label, n in per_op.items() if n == 0],
        "findings": len(findings),
        "message": f"{probes_sent} payloads into {exercised} operations, {len(findings)} findings",
    }
    return ScanReport(
        scanner="dast_injection",
        tool="assay-injection",
        tool_version=None,
        findings=findings,
        scanned=exercised,
        duration_s=time.monotonic() - started,
        errors=[_scrub(e, secrets_) for e in errors],
        summary=_scrub_obj(summary, secrets_),
    )


def _injections(openapi: Mapping[str, Any], op: Operation, base: _Request) -> Iterator[tuple[str, Any]]:
    """(where the payload goes, ``payload -> request``) for every injectable input of ``op``."""
    for param in op.parameters:
        where, name = param.get("in"), str(param.get("name"))
        if where == "path":

            def in_path(payload: str, name: str = name) -> _Request:
                path = op.path
                for other in op.parameters:
                    if other.get("in") == "path":
                        value = payload if other.get("name") == name else _param_sample(openapi, other)
                        path = path.replace("{" + str(other.get("name")) + "}", quote(str(value), safe=""))
                return _Request(base.method, path, dict(base.query), base.body, base.has_body)

            yield f"path:{name}", in_path
        elif where == "query":

            def in_query(payload: str, name: str = name) -> _Request:
                return _Request(base.method, base.path, {**base.query, name: payload}, base.body, base.has_body)

            yield f"query:{name}", in_query
    if base.has_body and isinstance(base.body, dict):
        content = (_deref(openapi, op.spec.get("requestBody")) or {}).get("content", {})
        schema = _deref(openapi, next((m.get("schema", {}) for t, m in content.items() if "json" in t), {}))
        for prop, prop_schema in (schema.get("properties") or {}).items():
            if _is_string(openapi, prop_schema):

                def in_body(payload: str, prop: str = prop) -> _Request:
                    return _Request(base.method, base.path, dict(base.query), {**base.body, prop: payload}, True)

                yield f"body:{prop}", in_body


def _is_string(openapi: Mapping[str, Any], schema: Any) -> bool:
    schema = _deref(openapi, schema)
    if not isinstance(schema, dict):
        return False
    if schema.get("type") == "string":
        return True
    options = schema.get("anyOf") or schema.get("oneOf") or []
    return any(_deref(openapi, o).get("type") == "string" for o in options)


def _inspect(kind: str, payload: str, response: requests.Response) -> list[str]:
    rules = []
    text = response.text[:200_000]
    if response.status_code >= 500:
        rules.append("injection.server_error")
    if any(marker in text for marker in _SQL_ERRORS):
        rules.append("injection.sql_error_leak")
    if _STACK_TRACE.search(text):
        rules.append("injection.stack_trace_leak")
    content_type = response.headers.get("content-type", "").lower()
    if kind == "xss" and payload in text and "json" not in content_type:
        rules.append("injection.xss_reflected")
    if kind == "path_traversal" and _PASSWD.search(text):
        rules.append("injection.path_traversal")
    return rules


def _injection_finding(
    op: Operation, target: str, kind: str, rule: str, payload: str, response: requests.Response
) -> ScanFinding:
    severity, title = _INJECTION_RULES[rule]
    return ScanFinding(
        tool="assay-injection",
        category="api",
        rule_id=rule,
        severity=severity,
        title=f"{title} ({target})",
        location=op.label,
        fingerprint_key=f"{target}:{kind}",
        detail={
            "parameter": target,
            "probe": kind,
            "payload": payload,
            "status_code": response.status_code,
            "content_type": response.headers.get("content-type"),
            "excerpt": _excerpt(response.text, payload),
        },
    )


def _excerpt(text: str, payload: str, width: int = 200) -> str:
    at = text.find(payload)
    if at < 0:
        return text[:width]
    return text[max(0, at - 60) : at + len(payload) + 60]
