"""Who is calling: the bearer token of a desk or an administrator, as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fleetsync.api.problems import Problem
from fleetsync.api.state import ApiState, api_state
from fleetsync.api.tokens import Principal

__all__ = ["Admin", "Caller"]

_bearer = HTTPBearer(
    auto_error=False,
    description="A loan desk's API token (its own loans) or an admin token (everything).",
)


async def _caller(
    state: Annotated[ApiState, Depends(api_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise Problem(
            401,
            "unauthorized",
            "this endpoint needs a bearer token: send 'Authorization: Bearer <token>' with the "
            "desk's API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    holder = state.tokens.holder(credentials.credentials)
    if holder is None:
        raise Problem(
            401,
            "unauthorized",
            "the bearer token is not one fleetsync knows; use the desk's current API token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return holder


async def _admin(caller: Annotated[Principal, Depends(_caller)]) -> Principal:
    if not caller.is_admin:
        raise Problem(403, "forbidden", "this endpoint needs an admin token")
    return caller


Caller = Annotated[Principal, Depends(_caller)]
Admin = Annotated[Principal, Depends(_admin)]
