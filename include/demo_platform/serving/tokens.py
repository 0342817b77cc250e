"""Bearer tokens, the principals they stand for, and their roles.

Tokens are kept only as SHA-256 digests in memory, so neither the audit trail nor an error message
ever contains a usable token. A tokens file is JSON::

    {"tokens": [{"token": "s3cret", "actor": "alice", "role": "ml-engineer"},
                {"token": "0ld-s3cret", "actor": "bob", "role": "reader", "expires_at": "2026-01-31T00:00:00Z"}]}

A token with ``expires_at`` (ISO 8601; a time without an offset is UTC) is refused from that instant on with
401 ``bearer token expired`` (:mod:`serving.auth`); a token without one never expires.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import SettingsError


class Role(IntEnum):
    """Roles are ordered: each one may do everything the roles below it may."""

    READER = 1  # read the registry, request predictions
    ML_ENGINEER = 2  # + register and retire models
    ADMIN = 3  # + timings, faults, audit trail

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> Role:
        for role in cls:
            if role.label == text:
                return role
        known = ", ".join(r.label for r in cls)
        raise ValueError(f"unknown role {text!r}; known roles: {known}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an actor name (what the audit trail shows) and a role."""

    actor: str
    role: Role
    expires_at: datetime | None = None  # aware (UTC); None: never expires

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or datetime.now(UTC)) >= self.expires_at


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    """Look up the principal of a presented bearer token."""

    def __init__(self, entries: Iterable[tuple[str, Principal]]) -> None:
        self._by_digest: dict[str, Principal] = {}
        for token, principal in entries:
            digest = token_digest(token)
            if digest in self._by_digest:
                raise ValueError(f"token of actor {principal.actor!r} is listed twice")
            self._by_digest[digest] = principal

    def __len__(self) -> int:
        return len(self._by_digest)

    def digests(self) -> list[tuple[str, Principal]]:
        """(SHA-256 digest, principal) of every token not yet expired, for the demo's token-ownership records."""
        return [(d, p) for d, p in self._by_digest.items() if not p.expired()]

    def lookup(self, token: str) -> Principal | None:
        """The token's principal, expired or not (the caller refuses an expired one with its own answer)."""
        return self._by_digest.get(token_digest(token))

    @classmethod
    def from_mapping(cls, tokens: Mapping[str, tuple[str, str]]) -> TokenTable:
        """``{token: (actor, role label)}`` → table; convenient for tests and the demo defaults."""
        return cls((tok, Principal(actor, Role.parse(role))) for tok, (actor, role) in tokens.items())


DEMO_TOKENS: dict[str, tuple[str, str]] = {
    "demo-reader-token": ("demo-reader", "reader"),
    "demo-engineer-token": ("demo-ml-engineer", "ml-engineer"),
    "demo-admin-token": ("demo-admin", "admin"),
}


def demo_tokens() -> TokenTable:
    """The well-known demo tokens (documented in the README); use a tokens file for anything else."""
    return TokenTable.from_mapping(DEMO_TOKENS)


class _TokenEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8)
    actor: str = Field(min_length=1, max_length=128)
    role: str
    expires_at: datetime | None = None

    def principal(self) -> Principal:
        expires = self.expires_at
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return Principal(self.actor, Role.parse(self.role), expires)


class _TokensFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokens: list[_TokenEntry] = Field(min_length=1)


def load_tokens_file(path: str | Path) -> TokenTable:
    """Read and validate a tokens file; every problem is reported with the file name."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        parsed = _TokensFile.model_validate(raw)
        return TokenTable((e.token, e.principal()) for e in parsed.tokens)
    except OSError as exc:
        raise SettingsError(f"cannot read tokens file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"tokens file {path} is not valid JSON: {exc}") from None
    except ValidationError as exc:
        raise SettingsError(
            f"tokens file {path} must look like "
            f'{{"tokens": [{{"token": "...", "actor": "...", "role": "reader|ml-engineer|admin", '
            f'"expires_at": "<optional ISO 8601 time>"}}]}}: {exc}'
        ) from None
    except ValueError as exc:  # unknown role, duplicated token
        raise SettingsError(f"tokens file {path}: {exc}") from None
