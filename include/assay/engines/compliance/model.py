"""The compliance audit's core types: what a check is given (:class:`CheckContext`) and what it returns
(:class:`ResourceResult` with :class:`Evidence`), and the per-control :class:`Outcome`.

A check looks at resources (a store, a model version, a user, an audit-log row) and returns one
:class:`ResourceResult` per resource: PASS, FAIL, ERROR or NOT_APPLICABLE, a one-line message naming what is
at fault, and the evidence it collected. Evidence carries what was collected (``content``, JSON-safe, never
secrets), by which ``method`` (``sql`` / ``http`` / ``file`` / ``computed``) from which ``source`` (the query
text, the API call, the file path), when, when it expires, and the SHA-256 of its canonical JSON.

:class:`StoreResolver` opens the named SQL stores of ``compliance.stores`` and :class:`ApiClient` calls the
running service under test with a role's token; both raise :class:`~assay.errors.TargetError` (retryable)
when the target is unreachable, so the control is ERROR and the audit is retried, never PASS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import ConfigError, TargetError
from assay.store.records import evidence_content, evidence_sha256

if TYPE_CHECKING:
    import requests
    from pydantic import BaseModel
    from sqlalchemy.engine import Engine

    from assay.inventory import PersonalDataInventory

__all__ = [
    "RESOURCE_OUTCOMES",
    "ApiClient",
    "CheckContext",
    "Evidence",
    "Outcome",
    "ResourceResult",
    "StoreResolver",
    "canonical_json",
]


class Outcome(StrEnum):
    """A control's outcome (and, for PASS / FAIL / ERROR / NOT_APPLICABLE, one resource's)."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    MANUAL = "MANUAL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    WAIVED = "WAIVED"


#: What a check may say about one resource; MANUAL and WAIVED are decided by the audit, never by a check.
RESOURCE_OUTCOMES = frozenset({Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.NOT_APPLICABLE})


#: The usual evidence methods (others allowed, at most METHOD_MAX characters: the store's column).
METHODS = ("sql", "http", "file", "computed")
METHOD_MAX = 40


def canonical_json(content: Any) -> str:
    """The text an evidence hash is taken of: sorted keys, no spaces, unknown types as ``str``."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)


def _utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware (UTC), got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Evidence:
    """What a check collected, how, when, until when it is kept, and its content hash."""

    name: str
    method: str
    source: str
    content: Any
    collected_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "collected_at", _utc(self.collected_at, "Evidence.collected_at"))
        object.__setattr__(self, "expires_at", _utc(self.expires_at, "Evidence.expires_at"))
        if not isinstance(self.method, str) or not 0 < len(self.method) <= METHOD_MAX:
            raise ValueError(
                f"evidence {self.name!r}: method must be a short word such as {', '.join(METHODS)}, got {self.method!r}"
            )
        if self.expires_at < self.collected_at:
            raise ValueError(f"evidence {self.name!r} expires before it was collected")

    @property
    def sha256(self) -> str:
        """Of the canonical JSON of the content as stored (:func:`assay.store.records.evidence_content`: the
        content itself when it is plain JSON without credentials), so the report and the DB row agree."""
        return evidence_sha256(evidence_content(self.content))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: content as collected (canonicalised through JSON), times as ISO strings, the hash."""
        return {
            "name": self.name,
            "method": self.method,
            "source": self.source,
            "collected_at": self.collected_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "sha256": self.sha256,
            "content": evidence_content(self.content),
        }


@dataclass
class ResourceResult:
    """One resource a check looked at: its outcome, the one-line reason, the evidence."""

    resource: str
    status: Outcome
    message: str
    evidence: list[Evidence] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = Outcome(self.status)
        if self.status not in RESOURCE_OUTCOMES:
            raise ValueError(
                f"resource {self.resource!r}: a check returns PASS, FAIL, ERROR or NOT_APPLICABLE, "
                f"not {self.status.value} (the audit decides MANUAL and WAIVED)"
            )
        self.evidence = list(self.evidence)


class StoreResolver:
    """The named SQL stores of ``compliance.stores`` (name -> SQLAlchemy URL): ``.url(name)``, ``.engine(name)``.

    An unknown name is a ConfigError (fix the config or the inventory); a store that does not answer is a
    retryable TargetError. Engines are created once per name and checked with one connection;
    :meth:`dispose` closes them.
    """

    def __init__(self, urls: Mapping[str, str] | None = None, *, connect_timeout_s: float = 10.0) -> None:
        self._urls = dict(urls or {})
        self._engines: dict[str, Engine] = {}
        self.connect_timeout_s = connect_timeout_s

    @property
    def names(self) -> list[str]:
        return sorted(self._urls)

    def url(self, name: str) -> str:
        try:
            return self._urls[name]
        except KeyError:
            known = ", ".join(self.names) or "none"
            raise ConfigError(f"store {name!r} is not configured in compliance.stores (configured: {known})") from None

    def engine(self, name: str) -> Engine:
        if name in self._engines:
            return self._engines[name]
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        url = self.url(name)
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(f"store {name!r}: {url!r} is not a SQLAlchemy URL: {exc}") from None
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, int(self.connect_timeout_s))
        elif parsed.get_backend_name() == "sqlite":
            connect_args["timeout"] = self.connect_timeout_s
        try:
            engine = create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise TargetError(f"store {name!r} is unreachable: {type(exc).__name__}: {exc}") from None
        except ImportError as exc:
            raise ConfigError(f"store {name!r}: no driver for {parsed.drivername}: {exc}") from None
        self._engines[name] = engine
        return engine

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


class ApiClient:
    """The running service under test: ``.request(method, path, role=..., json=...)`` -> ``requests.Response``.

    ``tokens`` maps a role to its bearer token (from config); ``role=None`` calls without a token (to see a
    401). A connection failure or timeout is a retryable TargetError; an HTTP error status is returned, for
    the check to judge.
    """

    def __init__(self, base_url: str, tokens: Mapping[str, str] | None = None, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = dict(tokens or {})
        self.timeout_s = timeout_s
        self._session: requests.Session | None = None

    @property
    def roles(self) -> list[str]:
        return sorted(self._tokens)

    def token(self, role: str) -> str:
        try:
            return self._tokens[role]
        except KeyError:
            known = ", ".join(self.roles) or "none"
            raise ConfigError(f"API role {role!r} has no token in compliance.api.roles (configured: {known})") from None

    def request(
        self, method: str, path: str, *, role: str | None = None, json: Any = None, **kwargs: Any
    ) -> requests.Response:
        import requests

        if self._session is None:
            self._session = requests.Session()
        headers = dict(kwargs.pop("headers", None) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {self.token(role)}"
        url = f"{self.base_url}/{path.lstrip('/')}"
        try:
            return self._session.request(
                method.upper(), url, json=json, headers=headers, timeout=kwargs.pop("timeout", self.timeout_s), **kwargs
            )
        except requests.RequestException as exc:
            raise TargetError(f"API {method.upper()} {url} failed: {type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


@dataclass
class CheckContext:
    """Everything a check may use: its validated params, the audit's clock, the stores, the API, the
    personal-data inventory, Assay's own metrics DB, a work dir, and how long evidence is kept."""

    params: BaseModel | None
    now: datetime
    stores: StoreResolver
    api: ApiClient | None
    inventory: PersonalDataInventory | None
    metrics_url: str | None
    work_dir: Path
    evidence_days: int

    def __post_init__(self) -> None:
        self.now = _utc(self.now, "CheckContext.now")
        self.work_dir = Path(self.work_dir)

    def evidence(self, name: str, method: str, source: str, content: Any) -> Evidence:
        """Evidence collected now, kept ``evidence_days`` days."""
        return Evidence(
            name=name,
            method=method,
            source=source,
            content=content,
            collected_at=self.now,
            expires_at=self.now + timedelta(days=self.evidence_days),
        )
