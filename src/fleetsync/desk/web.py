"""What every desk page shares: the app's desk state, the rendering of a page in the reader's
language with the security headers, the session, and who may see what.

Every answer of ``/desk`` carries a strict Content-Security-Policy (only this origin's own script
and style files: no inline script, no CDN), ``frame-ancestors 'none'``, ``no-referrer`` and
``Cache-Control: no-store`` (a page may name a borrower), and the session cookie issued anew.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import jinja2
from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from fleetsync.desk import i18n, labels, refusals
from fleetsync.desk.sessions import AddressThrottle, DeskSession, SessionCookies
from fleetsync.domain.errors import FleetsyncError
from fleetsync.domain.progress import Targets
from fleetsync.domain.staff import Permission, SignInThrottle, StaffRole, may
from fleetsync.ledger import Ledger
from fleetsync.services import Programme
from fleetsync.services.staff import StaffMember, staff_member
from fleetsync.settings import Settings

__all__ = [
    "CsrfRefused",
    "DeskRoute",
    "DeskState",
    "NotAllowed",
    "SharedState",
    "SignInNeeded",
    "Visit",
    "desk_state",
    "page",
    "redirect",
    "require",
    "visit",
]

_HERE = Path(__file__).parent
STATIC_DIR = _HERE / "static"
TEMPLATE_DIR = _HERE / "templates"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Wakeable(Protocol):
    def wake(self) -> None: ...


class SharedState(Protocol):
    """What the desk uses of the web app's shared state (:class:`fleetsync.api.state.ApiState`
    has it). The API's app mounts the desk, so the desk names what it needs rather than importing
    the API: the layers contract in pyproject.toml keeps the arrow one way."""

    @property
    def settings(self) -> Settings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def programme(self) -> Programme: ...
    @property
    def worker(self) -> Wakeable | None:
        """Drains the outbox in this process, if anything does: woken so a reconcile starts now."""

    def targets(self, region: str) -> Targets:
        """Where the settings want a loan of this region's borrower to end up in Google."""


@dataclass
class DeskState:
    api: SharedState
    cookies: SessionCookies
    throttle: SignInThrottle
    addresses: AddressThrottle
    environments: dict[str, jinja2.Environment]

    @classmethod
    def build(cls, api: SharedState) -> DeskState:
        settings = api.settings.desk
        return cls(
            api=api,
            cookies=SessionCookies(
                key=api.programme.key, idle_seconds=settings.session_idle_minutes * 60
            ),
            throttle=SignInThrottle(
                attempts=settings.sign_in_attempts,
                lockout=timedelta(minutes=settings.lockout_minutes),
            ),
            addresses=AddressThrottle(limit=50, window_seconds=15 * 60),
            environments={code: _environment(code) for code in i18n.LANGUAGES},
        )


def _environment(code: str) -> jinja2.Environment:
    language = i18n.language(code)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(language.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["date"] = language.date
    env.filters["datetime"] = language.datetime
    env.filters["number"] = language.number
    env.globals["language"] = language
    env.globals["labels"] = labels
    env.globals["languages"] = i18n.LANGUAGES
    return env


def desk_state(request: Request) -> DeskState:
    state: DeskState = request.app.state.desk
    return state


class SignInNeeded(Exception):
    """No session (or an idle one): the page sends the reader to sign in."""


class NotAllowed(Exception):
    """Signed in, but the role does not allow this page."""


class CsrfRefused(Exception):
    """A form came without this session's token (an old page, or another site's form)."""


@dataclass
class Visit:
    """One request's view: the session, the language, and who is signed in."""

    request: Request
    desk: DeskState
    session: DeskSession
    language: i18n.Language
    staff: StaffMember | None

    def _(self, message: str) -> str:
        return self.language.gettext(message)

    def refusal(self, error: FleetsyncError) -> str:
        """A business action's refusal in the reader's language (:mod:`.refusals`)."""
        return refusals.words(self.language, error)

    def may(self, permission: Permission) -> bool:
        return self.staff is not None and may(self.staff.role, permission)

    @property
    def actor(self) -> str:
        assert self.staff is not None
        return self.staff.actor

    @property
    def all_desks(self) -> bool:
        """An admin: sees and acts on the loans and borrowers of every desk."""
        return self.may(Permission.ALL_DESKS)

    @property
    def own_desk(self) -> str:
        assert self.staff is not None
        return self.staff.desk

    @property
    def scope(self) -> str | None:
        """Whose loans and borrowers the pages show: the staff member's desk, or every desk's
        (``None``) for an admin."""
        return None if self.all_desks else self.own_desk

    async def form(self) -> dict[str, str]:
        """The posted form's fields, once its CSRF token is this session's
        (:class:`CsrfRefused` otherwise)."""
        fields = await self.request.form()
        token = fields.get("csrf")
        if not isinstance(token, str) or not self.session.csrf_ok(token):
            raise CsrfRefused
        return {k: v for k, v in fields.items() if isinstance(v, str)}


def visit(request: Request) -> Visit:
    """The request's session and staff member (``None`` when not signed in, or the account
    was disabled, reset or signed out since the cookie was issued)."""
    cached: Visit | None = getattr(request.state, "desk_visit", None)
    if cached is not None:
        return cached
    desk = desk_state(request)
    session = desk.cookies.load(request)
    staff = None
    if session.staff is not None:
        with desk.api.ledger.read() as db:
            found = staff_member(db, session.staff)
        if found is not None and not found.disabled and found.session_epoch == session.epoch:
            staff = found
        else:
            session.staff = None
    seen = Visit(request, desk, session, i18n.choose(request), staff)
    request.state.desk_visit = seen
    return seen


def require(permission: Permission) -> Callable[[Request], Coroutine[Any, Any, Visit]]:
    """A dependency: the visit of a signed-in staff member whose role allows ``permission``."""

    async def dependency(request: Request) -> Visit:
        seen = visit(request)
        if seen.staff is None:
            raise SignInNeeded
        if not may(seen.staff.role, permission):
            raise NotAllowed
        return seen

    return dependency


def page(
    seen: Visit,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    env = seen.desk.environments[seen.language.code]
    html = env.get_template(template).render(
        {
            "staff": seen.staff,
            "csrf": seen.session.csrf,
            "path": seen.request.url.path,
            "may": seen.may,
            "Permission": Permission,
            "StaffRole": StaffRole,
            **(context or {}),
        }
    )
    return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    """After a form: 303 See Other, so that reloading the next page posts nothing again."""
    return RedirectResponse(url, status_code=303)


def sign_in_url(next_path: str) -> str:
    return "/desk/sign-in?next=" + quote(next_path, safe="/")


class DeskRoute(APIRoute):
    """Adds the security headers and the refreshed session cookie to every answer, and turns a
    missing session or role into the sign-in page or a 403 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInNeeded:
                seen = visit(request)
                target = request.url.path if request.method == "GET" else "/desk"
                response = redirect(sign_in_url(target))
                if seen.session.expired:
                    response = redirect(sign_in_url(target) + "&ended=1")
            except NotAllowed:
                response = page(visit(request), "forbidden.html", status=403)
            except CsrfRefused:
                response = page(visit(request), "csrf.html", status=403)
            finish(request, response)
            return response

        return route


def finish(request: Request, response: Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    seen = visit(request)
    seen.desk.cookies.store(request, response, seen.session)
