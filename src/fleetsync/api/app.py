"""The app factory: one FastAPI app around an open ledger.

``create_app(settings, ledger, drain=...)`` checks the desks' secrets and the tokens (a
:class:`~fleetsync.settings.ConfigError` names what to fix), mounts the routes, puts every error
into problem details, and runs the outbox worker for the app's lifetime when given a ``drain``.
The caller owns the ledger: it opens it before and closes it after (``fleetsync serve`` does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from fleetsync import __version__, services
from fleetsync.api import health, loans, lookups, webhooks
from fleetsync.api.committer import Committer
from fleetsync.api.outbox import Drain, OutboxWorker
from fleetsync.api.problems import install_problem_handlers, problem_schemas
from fleetsync.api.signing import DeskKeys
from fleetsync.api.state import ApiState
from fleetsync.api.tokens import Tokens
from fleetsync.ledger import Ledger
from fleetsync.settings import Settings

__all__ = ["DOCS_ASSETS", "create_app"]

#: Where /docs finds Swagger UI's script, style sheet and icon.
DOCS_ASSETS = "/docs/assets"

_DESCRIPTION = """\
The loan desk's signed webhooks, the status of its loans and the borrowers' first passwords, its
look-ups (a device, a borrower, its loans a page at a time), plus health and metrics. Events,
signing, status fields, errors and tokens: docs/api.md."""


def create_app(settings: Settings, ledger: Ledger, *, drain: Drain | None = None) -> FastAPI:
    """The API on ``ledger``. ``drain`` runs the targeted reconcile for pending outbox entries
    (``fleetsync.sync.drain_outbox`` bound to the ledger, in ``fleetsync serve``); ``None``
    leaves the outbox to another process (the daemon)."""
    worker = (
        None
        if drain is None
        else OutboxWorker(drain, interval_seconds=settings.daemon.outbox_interval_seconds)
    )
    state = ApiState(
        settings=settings,
        ledger=ledger,
        programme=services.Programme.from_settings(settings),
        desks=DeskKeys.from_settings(settings.api),
        tokens=Tokens.from_settings(settings.api),
        worker=worker,
        committer=Committer(ledger),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.committer.start()
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            state.committer.stop()
            if worker is not None:
                worker.stop()

    # /docs is Swagger UI with its assets served from the package (fastapi-offline), never from
    # a CDN: the page works on a desk's network that reaches only fleetsync.
    app = FastAPIOffline(
        title="fleetsync",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        static_url=DOCS_ASSETS,
    )
    app.state.fleetsync = state
    install_problem_handlers(app)
    app.include_router(webhooks.router)
    app.include_router(lookups.router)
    app.include_router(loans.router)
    app.include_router(health.router)
    _add_event_schemas(app)
    # The desk web app's pages (fleetsync.desk), on the same app and state; the desk does not
    # import the API (it names what it uses of the state: desk.web.SharedState).
    from fleetsync import desk

    desk.mount(app, state)
    return app


def _add_event_schemas(app: FastAPI) -> None:
    # The webhook reads its body raw (to verify the signature on the exact bytes), and errors are
    # answered as problem+json, so FastAPI knows neither the events' models nor the problem's:
    # add them to the document it generates.
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(webhooks.SCHEMA_COMPONENTS)
            schemas.update(problem_schemas())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
