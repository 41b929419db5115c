"""The desk's pages: Find, and (from there) the device and the borrower."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from fleetsync.desk.web import DeskRoute, Visit, page, require
from fleetsync.domain.staff import Permission

__all__ = ["router"]

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)

LookUp = Annotated[Visit, Depends(require(Permission.LOOK_UP))]


@router.get("")
def home(seen: LookUp) -> Response:
    return page(seen, "home.html", {"query": "", "message": None, "borrowers": []})
