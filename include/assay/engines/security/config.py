"""The ``security`` section of a target in ``assay.yaml`` (pydantic and the standard library only: DAG files
load it at parse time)::

    targets:
      my-platform:
        security:
          scanners: [trivy_fs, trivy_config, bandit, dast_fuzz, dast_authz, dast_injection]   # default: all
          suppressions: .assay/security-suppressions.yaml   # in the target's repo (or an absolute path)
          gates: {critical_max: 0, high_warn_max: 5, secrets_max: 0}
          trivy:
            cache_dir: ${ASSAY_HOME}/trivy-cache            # shared by every scan (a volume in compose)
            scanners: [vuln, secret, misconfig, license]    # what `trivy fs` looks for
            image: null                                     # `trivy image <name>` when set
            offline: false                                  # true: never try to download the DB
          bandit: {paths: [src], exclude: [tests]}
          dast:
            openapi_path: /openapi.json
            max_examples: 25                                # per operation
            time_budget_s: 60
            public_operations: ["GET /health"]              # answered without a token
            roles: {admin: ["*"], viewer: ["GET *"]}        # role -> operations it may call (fnmatch)
            fuzz_exclude: ["* /admin/faults"]               # never fuzzed (fnmatch on "METHOD /path")

A security scan runs every scanner named in ``scanners`` that applies (``trivy_image`` only with an image,
the DAST scanners only with a service); each one's findings are judged by the ``gates``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ALL_SCANNERS",
    "SERVICE_SCANNERS",
    "applicable_scanners",
    "BanditConfig",
    "DastConfig",
    "SecurityGates",
    "SecurityTargetConfig",
    "TrivyConfig",
]

Scanner = Literal["trivy_fs", "trivy_config", "trivy_image", "bandit", "dast_fuzz", "dast_authz", "dast_injection"]
ALL_SCANNERS: tuple[str, ...] = (
    "trivy_fs",
    "trivy_config",
    "trivy_image",
    "bandit",
    "dast_fuzz",
    "dast_authz",
    "dast_injection",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrivyConfig(_Strict):
    """How Trivy runs: the binary, its shared cache (vulnerability DB), what `trivy fs` scans for."""

    binary: str = "trivy"
    cache_dir: str | None = None  # None: $ASSAY_TRIVY_CACHE_DIR, else ${ASSAY_HOME}/trivy-cache
    timeout_s: float = Field(default=600.0, gt=0)
    scanners: list[Literal["vuln", "secret", "misconfig", "license"]] = Field(
        default_factory=lambda: ["vuln", "secret", "misconfig", "license"]
    )
    offline: bool = False  # never download the vulnerability DB (a missing DB is then ERROR)
    db_repository: str | None = None  # a mirror of ghcr.io/aquasecurity/trivy-db
    # a DB older than this (hours since its UpdatedAt) makes the vulnerability part ERROR; None: any age
    db_max_age_h: float | None = Field(default=168.0, gt=0)
    image: str | None = None  # container image for `trivy image`
    rootfs: str | None = None  # or an unpacked image directory for `trivy rootfs`
    skip_dirs: list[str] = Field(default_factory=lambda: [".git", ".venv", "node_modules"])


class BanditConfig(_Strict):
    """Bandit (Python SAST) over the target's source."""

    paths: list[str] = Field(default_factory=lambda: ["."])
    exclude: list[str] = Field(default_factory=lambda: [".git", ".venv", "node_modules"])
    timeout_s: float = Field(default=300.0, gt=0)
    min_confidence: Literal["LOW", "MEDIUM", "HIGH"] = "MEDIUM"


class DastConfig(_Strict):
    """API security tests against the target's service (started for the run, or its ``api_conn_id``)."""

    openapi_path: str = "/openapi.json"
    max_examples: int = Field(default=25, ge=1, le=10_000)
    time_budget_s: float = Field(default=60.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    public_operations: list[str] = Field(default_factory=list)  # "METHOD /path" answered without a token
    roles: dict[str, list[str]] = Field(default_factory=dict)  # role -> operations it may call (fnmatch)
    unauthenticated_status: list[int] = Field(default_factory=lambda: [401])
    bad_token_status: list[int] = Field(default_factory=lambda: [401, 403])
    forbidden_status: list[int] = Field(default_factory=lambda: [403])
    # schemathesis checks of the fuzzing run (`schemathesis run --checks`)
    fuzz_checks: list[str] = Field(
        default_factory=lambda: ["not_a_server_error", "response_schema_conformance", "content_type_conformance"],
        min_length=1,
    )
    fuzz_exclude: list[str] = Field(default_factory=list)  # "METHOD /path" (fnmatch) never fuzzed, e.g. fault hooks
    fuzz_seed: int | None = None  # a fixed seed makes two fuzzing runs generate the same cases


class SecurityGates(_Strict):
    """critical findings > critical_max: FAIL; high > high_warn_max: WARN; secrets > secrets_max: FAIL. A
    scanner that crashed, timed out or produced no report is ERROR whatever the gates say."""

    critical_max: int = Field(default=0, ge=0)
    high_warn_max: int = Field(default=5, ge=0)
    secrets_max: int = Field(default=0, ge=0)


class SecurityTargetConfig(_Strict):
    scanners: list[Scanner] = Field(default_factory=lambda: list(ALL_SCANNERS))
    suppressions: str | None = None
    gates: SecurityGates = Field(default_factory=SecurityGates)
    trivy: TrivyConfig = Field(default_factory=TrivyConfig)
    bandit: BanditConfig = Field(default_factory=BanditConfig)
    dast: DastConfig = Field(default_factory=DastConfig)
    timeout_s: float = Field(default=1800.0, gt=0)  # the whole scanner task (Airflow's execution_timeout)


SERVICE_SCANNERS: tuple[str, ...] = ("dast_fuzz", "dast_authz", "dast_injection")


def applicable_scanners(cfg: SecurityTargetConfig, *, has_service: bool, wanted: list[str] | None = None) -> list[str]:
    """The scanners a scan of this target runs: those configured (and ``wanted``, when given) that apply:
    ``trivy_image`` only with an image or rootfs, the DAST scanners only with a service to call."""
    out = []
    for name in cfg.scanners:
        if wanted and name not in wanted:
            continue
        if name == "trivy_image" and not (cfg.trivy.image or cfg.trivy.rootfs):
            continue
        if name in SERVICE_SCANNERS and not has_service:
            continue
        out.append(name)
    return out
