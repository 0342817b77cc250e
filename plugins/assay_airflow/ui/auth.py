"""Every Assay endpoint requires an authenticated Airflow user, checked exactly as the public REST API checks it.

Plugin apps are not protected by Airflow: this dependency calls the API server's own ``get_user`` (the JWT of
an ``Authorization: Bearer`` header, else of the UI's ``_token`` cookie, validated by the configured auth
manager). No token: 401; an invalid or expired one: 401/403 as the REST API answers. The app turns a refusal of
a page (not of ``/assay/api/...``) into a redirect to the auth manager's login page, which comes back here.
A run's detail also needs the auth manager's read access to that DAG's runs (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import bearer_scheme, get_user
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials


async def authenticated_user(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
) -> BaseUser:
    """The Airflow user of this request (the REST API's own check), or HTTPException 401/403."""
    return await get_user(request, None, bearer)


User = Annotated[BaseUser, Depends(authenticated_user)]


def require_dag_run_access(user: BaseUser, dag_id: str) -> None:
    """403 unless the auth manager lets ``user`` read the runs of ``dag_id``."""
    allowed = get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )
    if not allowed:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no read access to the runs of DAG {dag_id!r}")


def login_url(request: Request) -> str:
    """The auth manager's login page, returning to the page asked for."""
    return get_auth_manager().get_url_login(next_url=str(request.url))
