"""Runtime settings of the serving API, from arguments or ``DEMO_*`` environment variables."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from serving.errors import SettingsError
from serving.tokens import TokenTable, demo_tokens, load_tokens_file

ENV_DB_URL = "DEMO_DB_URL"
ENV_TOKENS_FILE = "DEMO_TOKENS_FILE"
ENV_MODEL_PATH = "DEMO_MODEL_PATH"
ENV_TRAIN_MODEL = "DEMO_TRAIN_MODEL"
ENV_RATE_PER_S = "DEMO_RATE_LIMIT_PER_S"
ENV_RATE_BURST = "DEMO_RATE_LIMIT_BURST"
ENV_TEST_MODE = "DEMO_TEST_MODE"
ENV_TIMINGS_CAPACITY = "DEMO_TIMINGS_CAPACITY"
ENV_COMPLIANCE_SEED = "DEMO_COMPLIANCE_SEED"
ENV_COMPLIANCE_FAULTS = "DEMO_COMPLIANCE_FAULTS"
ENV_COMPLIANCE_COMMIT_SHA = "DEMO_COMPLIANCE_COMMIT_SHA"
# or: the git repository whose HEAD the active model version was deployed from (the demo deploys its main head)
ENV_COMPLIANCE_REPO = "DEMO_COMPLIANCE_REPO"
ENV_PHI_KEY = "DEMO_PHI_KEY"
ENV_AUDIT_MAX_PENDING = "DEMO_AUDIT_MAX_PENDING"

# A well-known Fernet key, like the demo tokens: fine for the demo, never for anything else.
DEMO_PHI_KEY = "5BenH36VM9wPBBm8ruX0d9roVzn2qt0cPKLdnk_MZIw="
# The commit the seeded active model version was deployed from (Assay's tests record a passing run for it).
DEMO_COMMIT_SHA = "3f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_db_url() -> str:
    """A SQLite file in the system temp dir, so a bare start never writes into the repository."""
    return f"sqlite:///{Path(tempfile.gettempdir()) / 'demo-platform-serving.db'}"


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs. ``tokens`` maps bearer tokens to principals."""

    db_url: str = field(default_factory=default_db_url)
    tokens: TokenTable = field(default_factory=demo_tokens)
    model_path: str | None = None
    train_model: bool = True
    rate_limit_per_s: float = 1000.0
    rate_limit_burst: int = 2000
    test_mode: bool = False
    timings_capacity: int = 100_000
    compliance_seed: bool = False  # seed the demo's personal-data and governance records (serving.compliance)
    compliance_faults: frozenset[str] = frozenset()  # broken variants for Assay's negative controls
    compliance_commit_sha: str = DEMO_COMMIT_SHA
    phi_key: str = DEMO_PHI_KEY
    audit_max_pending: int = 10_000

    def __post_init__(self) -> None:
        from serving.compliance import FAULTS  # the fault names live with the code they break

        unknown = set(self.compliance_faults) - set(FAULTS)
        if unknown:
            raise SettingsError(f"unknown compliance faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if self.audit_max_pending < 1:
            raise SettingsError(f"audit_max_pending must be >= 1, got {self.audit_max_pending}")
        if self.rate_limit_per_s <= 0:
            raise SettingsError(f"rate_limit_per_s must be > 0, got {self.rate_limit_per_s}")
        if self.rate_limit_burst < 1:
            raise SettingsError(f"rate_limit_burst must be >= 1, got {self.rate_limit_burst}")
        if self.timings_capacity < 1:
            raise SettingsError(f"timings_capacity must be >= 1, got {self.timings_capacity}")
        if self.model_path is not None and not Path(self.model_path).is_file():
            raise SettingsError(
                f"model_path {self.model_path!r} is not a file; save one with fraud.artifacts "
                "(python -m fraud.artifacts train --out PATH --seed 0) or leave it unset to train at startup"
            )
        if not self.db_url.strip():
            raise SettingsError("db_url is empty; pass a SQLAlchemy URL such as sqlite:///serving.db")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Build settings from ``DEMO_*`` variables; unset ones keep their defaults."""
        env = dict(os.environ if env is None else env)
        kwargs: dict[str, object] = {}
        if env.get(ENV_DB_URL):
            kwargs["db_url"] = env[ENV_DB_URL]
        if env.get(ENV_TOKENS_FILE):
            kwargs["tokens"] = load_tokens_file(env[ENV_TOKENS_FILE])
        if env.get(ENV_MODEL_PATH):
            kwargs["model_path"] = env[ENV_MODEL_PATH]
        if ENV_TRAIN_MODEL in env:
            kwargs["train_model"] = _flag(env, ENV_TRAIN_MODEL)
        if ENV_TEST_MODE in env:
            kwargs["test_mode"] = _flag(env, ENV_TEST_MODE)
        if env.get(ENV_RATE_PER_S):
            kwargs["rate_limit_per_s"] = _number(env, ENV_RATE_PER_S, float)
        if env.get(ENV_RATE_BURST):
            kwargs["rate_limit_burst"] = _number(env, ENV_RATE_BURST, int)
        if env.get(ENV_TIMINGS_CAPACITY):
            kwargs["timings_capacity"] = _number(env, ENV_TIMINGS_CAPACITY, int)
        if ENV_COMPLIANCE_SEED in env:
            kwargs["compliance_seed"] = _flag(env, ENV_COMPLIANCE_SEED)
        if env.get(ENV_COMPLIANCE_FAULTS):
            kwargs["compliance_faults"] = frozenset(
                f.strip() for f in env[ENV_COMPLIANCE_FAULTS].split(",") if f.strip()
            )
        if env.get(ENV_COMPLIANCE_COMMIT_SHA):
            kwargs["compliance_commit_sha"] = env[ENV_COMPLIANCE_COMMIT_SHA]
        elif env.get(ENV_COMPLIANCE_REPO):
            kwargs["compliance_commit_sha"] = _head_commit(env[ENV_COMPLIANCE_REPO])
        if env.get(ENV_PHI_KEY):
            kwargs["phi_key"] = env[ENV_PHI_KEY]
        if env.get(ENV_AUDIT_MAX_PENDING):
            kwargs["audit_max_pending"] = _number(env, ENV_AUDIT_MAX_PENDING, int)
        return cls(**kwargs)  # type: ignore[arg-type]


def _flag(env: dict[str, str], name: str) -> bool:
    value = env[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={env[name]!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def _number(env: dict[str, str], name: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(env[name])
    except ValueError:
        raise SettingsError(f"{name}={env[name]!r} is not a valid {kind.__name__}") from None


def _head_commit(repo: str) -> str:
    """The HEAD commit of ``repo`` (``DEMO_COMPLIANCE_REPO``); a repository that cannot be read is a clear error."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--verify", "HEAD^{commit}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        raise SettingsError(
            f"{ENV_COMPLIANCE_REPO}={repo}: not a git repository with a HEAD commit: {detail}"
        ) from None
    return out.stdout.strip()
