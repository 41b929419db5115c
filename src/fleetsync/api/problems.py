"""Every error the API answers, as RFC 9457 problem details (``application/problem+json``).

One place maps exceptions to answers: fleetsync's own errors (refused → 409, not found → 404,
invalid input → 422), :class:`Problem` raised by the API itself, request validation, unknown routes,
and, last, anything unexpected (a 500 that says nothing of the internals; the log has the rest).
Bad input never becomes a 500.

A problem body: ``type`` (a link to its explanation in docs/api.md), ``title``, ``status``,
``detail`` (for a person: what went wrong and what to do), ``code`` (stable, for machines; the
domain errors' codes), and ``errors`` naming each invalid field by a JSON pointer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_core import ErrorDetails
from starlette.exceptions import HTTPException

from fleetsync.domain.errors import FleetsyncError, InvalidInput, NotFound, Refused
from fleetsync.log import get_logger

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "ProblemBody",
    "field_errors",
    "install_problem_handlers",
    "invalid",
    "problem_of",
    "problem_response",
    "problem_responses",
    "problem_schemas",
]

PROBLEM_JSON = "application/problem+json"
DOCS = "https://github.com/fleetsync/fleetsync/blob/main/docs/api.md"
_log = get_logger(__name__)


class FieldError(BaseModel):
    #: A JSON pointer into the request: ``#/data/borrower/region``; ``#/`` the body itself.
    pointer: str
    detail: str


class ProblemBody(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str = Field(examples=[f"{DOCS}#device_state"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(
        examples=[
            "device 5CD1234XYZ is on loan to borrower B-1017 since 2026-09-01 (loan L-88); "
            "return it first"
        ]
    )
    code: str = Field(examples=["device_state"])
    errors: list[FieldError] | None = None


class Problem(Exception):
    """An answer other than success, raised wherever the API decides it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        body = ProblemBody(
            type=f"{DOCS}#{self.code}",
            title=HTTPStatus(self.status).phrase,
            status=self.status,
            detail=self.detail,
            code=self.code,
            errors=list(self.errors) or None,
        )
        return body.model_dump(exclude_none=True)


def problem_responses(described: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses, each a problem (``application/problem+json``).
    The app adds :class:`ProblemBody` to the document's schemas (see :func:`problem_schemas`)."""
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemBody"}}}
    return {status: {"description": text, "content": content} for status, text in described.items()}


def problem_schemas() -> dict[str, Any]:
    """:class:`ProblemBody` and what it refers to, as OpenAPI component schemas."""
    schema = ProblemBody.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "ProblemBody": schema}


def problem_of(exc: FleetsyncError) -> Problem:
    """fleetsync's own errors, with their messages and codes."""
    if isinstance(exc, Refused):
        return Problem(409, exc.code, str(exc))
    if isinstance(exc, NotFound):
        return Problem(404, exc.code, str(exc))
    if isinstance(exc, InvalidInput):
        return Problem(422, exc.code, str(exc))
    return Problem(400, exc.code, str(exc))


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem.body(), status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def field_errors(errors: Iterable[ErrorDetails], *, skip: Iterable[str] = ()) -> list[FieldError]:
    """pydantic's errors as RFC 9457 ``errors``. ``skip``: location parts that are not in the
    request (a discriminated union puts the tag it chose into the location). Never echoes the
    value: it may be a borrower's name."""
    skipped = set(skip)
    found = []
    for error in errors:
        parts = [str(p) for p in error["loc"] if str(p) not in skipped]
        if error["type"] in {"union_tag_not_found", "union_tag_invalid"}:
            parts.append("type")
        found.append(FieldError(pointer="#/" + "/".join(parts), detail=error["msg"]))
    return found


def _describe(errors: Sequence[FieldError]) -> str:
    first = errors[0]
    where = first.pointer.removeprefix("#/").replace("/", ".") or "the body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.detail}{more}"


def invalid(what: str, errors: Sequence[FieldError]) -> Problem:
    """A 422 naming the first invalid field in ``detail`` and every one in ``errors``."""
    return Problem(422, "invalid_input", f"invalid {what}: {_describe(errors)}", errors=errors)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc)

    async def on_fleetsync_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FleetsyncError)
        return problem_response(problem_of(exc))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(invalid("request", field_errors(exc.errors())))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = HTTPStatus(exc.status_code).name.lower()
        return problem_response(
            Problem(exc.status_code, code, str(exc.detail), headers=exc.headers)
        )

    async def on_anything(request: Request, exc: Exception) -> JSONResponse:
        _log.error("request failed", method=request.method, path=request.url.path, exc_info=exc)
        return problem_response(
            Problem(
                500,
                "internal_error",
                "fleetsync failed to answer this request; try again, and if it persists, the "
                "service's log says why",
            )
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(FleetsyncError, on_fleetsync_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_anything)
