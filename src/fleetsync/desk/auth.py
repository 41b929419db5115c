"""Signing in and out, and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fleetsync.desk import i18n
from fleetsync.desk.web import DeskRoute, Visit, page, redirect, visit
from fleetsync.services.staff import SignInRefused, sign_in, sign_out

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

Seen = Annotated[Visit, Depends(visit)]


def _next(value: str | None) -> str:
    """Where to go after signing in: a page of the desk, never another site."""
    if not value:
        return "/desk"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk") or "\\" in value:
        return "/desk"
    return parts.path


@router.get("/sign-in")
def sign_in_page(seen: Seen, next: str | None = None, ended: int = 0) -> Response:
    if seen.staff is not None:
        return redirect(_next(next))
    return page(seen, "sign_in.html", {"next": _next(next), "ended": bool(ended), "error": None})


@router.post("/sign-in")
async def sign_in_post(seen: Seen, request: Request) -> Response:
    fields = await seen.form()
    target = _next(fields.get("next"))
    address = request.client.host if request.client else "unknown"
    desk = seen.desk
    error: str | None = None
    if desk.addresses.blocked(address):
        error = seen._("Too many failed sign-ins from this computer. Wait a quarter of an hour.")
    else:
        with desk.api.ledger.transaction() as db:
            try:
                member = sign_in(
                    db,
                    username=fields.get("username", ""),
                    password=fields.get("password", ""),
                    throttle=desk.throttle,
                )
            except SignInRefused as refused:
                # Committed all the same: the failure counts towards the throttle.
                error = (
                    seen._("Too many failed sign-ins for this account. Try again later.")
                    if refused.throttled
                    else seen._("The username or the password is not right.")
                )
                member = None
        if member is None:
            desk.addresses.failed(address)
    if error is not None:
        return page(
            seen, "sign_in.html", {"next": target, "ended": False, "error": error}, status=401
        )
    assert member is not None
    seen.session.staff, seen.session.epoch = member.id, member.session_epoch
    # A new form token with the new session: one seen before signing in is no use after.
    seen.session.csrf = secrets.token_urlsafe(24)
    return redirect(target)


@router.post("/sign-out")
async def sign_out_post(seen: Seen) -> Response:
    await seen.form()
    if seen.session.staff is not None:
        with seen.desk.api.ledger.transaction() as db:
            sign_out(db, staff_id=seen.session.staff)
    seen.session.staff = None
    seen.session.csrf = secrets.token_urlsafe(24)
    return redirect("/desk/sign-in?signed_out=1")


@router.post("/language")
async def switch_language(seen: Seen) -> Response:
    fields = await seen.form()
    code = fields.get("language", "")
    response = redirect(_next(fields.get("next")))
    if code in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            path="/desk",
            httponly=True,
            samesite="strict",
            secure=seen.request.url.scheme == "https",
        )
    return response
