"""Bearer-token authentication, role authorization and rate limiting, as one route dependency.

No ``Authorization`` header → 401; a token past its ``expires_at`` → 401 ``bearer token expired``; a
malformed header or unknown token → 403; a role below the
route's → 403; too many requests for this caller → 429 with ``Retry-After``. The caller's actor
name is put on ``request.state.actor`` for the audit trail (unknown tokens appear as a short digest,
never as the token).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, HTTPException, Request

from serving.ratelimit import retry_after_header
from serving.schemas import ErrorOut
from serving.services import Services, get_services
from serving.tokens import Principal, Role, token_digest

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="demo-platform"'}
EXPIRED_CHALLENGE = {
    "WWW-Authenticate": 'Bearer realm="demo-platform", error="invalid_token", error_description="token expired"'
}

BEARER_SCHEME = "bearerAuth"
#: what every protected route may answer, declared in its OpenAPI operation (``include_router(responses=...)``)
AUTH_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "no bearer token, or the token has expired"},
    403: {"model": ErrorOut, "description": "unknown or malformed token, or a role below the route's"},
    429: {"model": ErrorOut, "description": "rate limit exceeded; retry after the Retry-After header's seconds"},
}


def _bearer_token(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the authenticated principal, if its role is at least ``role``."""

    async def dependency(request: Request, services: Services = Depends(get_services)) -> Principal:  # noqa: B008
        header = request.headers.get("authorization")
        token = _bearer_token(header) if header else None
        principal = services.settings.tokens.lookup(token) if token else None
        if principal is not None:
            request.state.actor = principal.actor
            limit_key = f"actor:{principal.actor}"
        else:
            if header:
                request.state.actor = f"unknown-token:{token_digest(token or header)[:12]}"
            limit_key = f"client:{request.client.host if request.client else '?'}"
        wait_s = services.limiter.acquire(limit_key)
        if wait_s > 0:
            raise HTTPException(
                429,
                f"rate limit of {services.limiter.rate_per_s:g} requests/s (burst {services.limiter.burst}) "
                f"exceeded; retry in {wait_s:.2f} s",
                headers={"Retry-After": retry_after_header(wait_s)},
            )
        if header is None:
            raise HTTPException(401, "missing bearer token: send 'Authorization: Bearer <token>'", BEARER_CHALLENGE)
        if principal is not None and principal.expired():
            raise HTTPException(401, "bearer token expired: ask for a new token", EXPIRED_CHALLENGE)
        if principal is None:
            reason = "unknown bearer token" if token else "malformed Authorization header; expected 'Bearer <token>'"
            raise HTTPException(403, reason)
        if principal.role < role:
            raise HTTPException(
                403, f"role {principal.role.label!r} of {principal.actor!r} may not do this; requires {role.label!r}"
            )
        return principal

    return dependency


reader = require(Role.READER)
ml_engineer = require(Role.ML_ENGINEER)
admin = require(Role.ADMIN)
