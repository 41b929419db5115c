"""The loan desk's web app at ``/desk``: staff sign in, find, lend, hand over the slip, take back.

Server-rendered pages (Jinja2, in ``templates/``) with one small script of our own
(``static/desk.js``), all served by fleetsync itself; built on the same business actions
(:mod:`fleetsync.services`) as the webhooks and the command line. docs/desk.md.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from fleetsync.desk import auth, lending, lists, pages, returns, slip, staff
from fleetsync.desk.web import STATIC_DIR, DeskState, SharedState

__all__ = ["mount"]


def mount(app: FastAPI, state: SharedState) -> None:
    """Add the desk's pages and static files to the API's app."""
    app.state.desk = DeskState.build(state)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(lending.router)
    app.include_router(slip.router)
    app.include_router(returns.router)
    app.include_router(lists.router)
    app.include_router(staff.router)
    app.mount("/desk/static", StaticFiles(directory=STATIC_DIR), name="desk-static")
