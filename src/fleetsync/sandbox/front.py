"""Google's front door: what every call goes through before and after its method's handler.

In order: route (from the discovery documents), bearer token, scope, query parameters, customer,
admin privilege, request body, ``fields`` mask, quotas, injected failure; then the handler runs
under the tenant lock, the mask is applied, and the call is logged and counted. Batches and the
token endpoint come in here too.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fleetsync.sandbox.auth import TokenIssuer, check_scopes
from fleetsync.sandbox.batch import BatchPart, PartReply, parse_batch, write_batch
from fleetsync.sandbox.calls import Call
from fleetsync.sandbox.discovery import Route, discovery
from fleetsync.sandbox.errors import Api, ApiError
from fleetsync.sandbox.faults import ConcurrencyGate, FaultInjector, Faults, QuotaMeter, Quotas
from fleetsync.sandbox.fields import apply_mask, compile_mask
from fleetsync.sandbox.requestlog import RequestLog
from fleetsync.sandbox.routes import HANDLERS
from fleetsync.sandbox.tenant import Tenant

__all__ = ["Front", "Reply", "api_of", "error_reply"]

log = logging.getLogger("fleetsync.sandbox")

_JSON = "application/json; charset=UTF-8"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = _JSON
    headers: dict[str, str] = field(default_factory=dict)
    #: The call took effect but its answer is lost: the connection drops instead.
    drop: bool = False


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def error_reply(error: ApiError, api: Api) -> Reply:
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(int(error.retry_after))
    if error.status == 401:
        headers["WWW-Authenticate"] = (
            'Bearer realm="https://accounts.google.com/", error="invalid_token"'
        )
    return Reply(error.status, _json(error.body(api)), headers=headers)


def _sandbox_bug(route: Route, bug: Exception) -> ApiError:
    """Google's answer to a failure of its own (500 ``backendError``) for an exception the
    sandbox did not mean to raise: a sandbox bug, logged with its traceback. The answer names
    the exception's type only (its text may quote a tenant's names or addresses)."""
    log.error("sandbox bug answering %s", route.method_id, exc_info=bug)
    return ApiError(
        500,
        "backendError",
        f"Internal error in the fleetsync sandbox while answering {route.method_id} "
        f"({type(bug).__name__}): a sandbox bug, not a fault of the call; the traceback is in "
        "the sandbox's log.",
    )


def api_of(path: str) -> Api:
    if path.startswith("gmail/"):
        return "gmail"
    return "chromepolicy" if path.startswith("v1/") else "admin"


class Front:
    def __init__(
        self,
        tenant: Tenant,
        *,
        faults: Faults | None = None,
        quotas: Quotas | None = None,
        log: RequestLog | None = None,
    ) -> None:
        self.tenant = tenant
        self.discovery = discovery()
        self.issuer = TokenIssuer(
            tenant.account,
            subject_exists=tenant.subject_exists,
            delegated_scopes=lambda: tenant.delegated_scopes,
            oauth_clients=tenant.oauth,
        )
        self.faults = FaultInjector(faults or Faults())
        self.quotas = quotas or Quotas()
        self.meter = QuotaMeter(self.quotas)
        self.gate = ConcurrencyGate(self.quotas)
        self.log = log or RequestLog()

    # --------------------------------------------------------------------- one call
    def call(
        self,
        http_method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        *,
        in_batch: bool = False,
    ) -> Reply:
        """Answer one Google API call (a plain request or a batch part)."""
        started = time.perf_counter()
        path, _, query_string = target.partition("?")
        path = path.lstrip("/")
        matched = self.discovery.match(http_method, path)
        if matched is None:
            error = ApiError(
                404,
                "notFound",
                f"The sandbox serves no {http_method} {target} (neither API's discovery "
                "document has it).",
            )
            reply = error_reply(error, api_of(path))
            self.log.record(
                method="unknown",
                http_method=http_method,
                path=path,
                status=404,
                reason="notFound",
                in_batch=in_batch,
            )
            return reply
        route, path_params = matched
        user = ""
        try:
            user, reply = self._answer(route, path_params, query_string, headers, body)
        except ApiError as error:
            reply = error_reply(error, route.api)
            reason = error.reason
        except Exception as bug:  # a sandbox bug: answered as Google answers its own failures
            internal = _sandbox_bug(route, bug)
            reply = error_reply(internal, route.api)
            reason = internal.reason
        else:
            reason = ""
        self.log.record(
            method=route.method_id,
            http_method=http_method,
            path=path,
            status=reply.status,
            reason=reason,
            user=user,
            in_batch=in_batch,
            seconds=time.perf_counter() - started,
        )
        return reply

    def _answer(
        self,
        route: Route,
        path_params: dict[str, str],
        query_string: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[str, Reply]:
        tenant = self.tenant
        query = parse_qs(query_string, keep_blank_values=True)
        tokens = query.get("access_token") or query.get("oauth_token")
        query_token = tokens[0] if tokens else None
        principal = self.issuer.authenticate(headers.get("authorization"), query_token)
        check_scopes(principal, route.scopes)
        params = self.discovery.check_query(route, query)
        params.update(path_params)
        if "customerId" in path_params:
            tenant.check_customer(path_params["customerId"])
        if route.api == "chromepolicy" and "customer" in path_params:
            tenant.check_customer(path_params["customer"].removeprefix("customers/"))
        if route.api == "gmail":
            # Gmail acts as a mailbox of the domain (the token's subject), not as an admin.
            if not tenant.subject_exists(principal.subject):
                raise ApiError(400, "failedPrecondition", "Mail service not enabled")
        elif not tenant.is_admin(principal.subject):
            message = (
                "The caller does not have permission"
                if route.api == "chromepolicy"
                else "Not Authorized to access this resource/api"
            )
            raise ApiError(403, "forbidden", message)
        handler = HANDLERS.get(route.method_id)
        if handler is None:
            raise ApiError(
                501,
                "notImplemented",
                f"{route.method_id} is not implemented by the fleetsync sandbox (see "
                "docs/sandbox.md for what it implements).",
            )
        payload: Any = None
        if route.request_schema is not None:
            try:
                payload = json.loads(body) if body.strip() else {}
            except ValueError:
                raise ApiError(
                    400, "parseError", "Invalid JSON payload received. Unexpected token."
                ) from None
            self.discovery.check_body(route, payload)
        mask = None
        if params.get("fields"):
            mask = compile_mask(route.api, route.response_schema, str(params["fields"]))
        self.meter.charge(
            route.method_id, route.api, str(params.get("quotaUser") or principal.subject)
        )
        injected = self.faults.error_for(route.method_id)
        if injected is not None:
            raise injected
        call = Call(
            tenant=tenant, route=route, params=params, body=payload, principal=principal, mask=mask
        )
        with tenant.lock:
            result = handler(call)
        drop = self.faults.drop_after(route.method_id)
        if result is None:
            return principal.subject, Reply(204, drop=drop)
        if mask is not None and not call.mask_applied:
            result = apply_mask(mask, result)
        return principal.subject, Reply(200, _json(result), drop=drop)

    # ------------------------------------------------------------------------ batch
    def batch(self, content_type: str, headers: dict[str, str], body: bytes) -> Reply:
        try:
            parts = parse_batch(content_type, body)
        except ApiError as error:
            return error_reply(error, "admin")
        apis = {api_of(part.target.lstrip("/")) for part in parts}
        if len(apis) > 1:
            mixed = ApiError(
                400,
                "invalid",
                "A batch may only contain calls to one API (Directory or Chrome Policy), as "
                "each has its own batch endpoint at Google.",
            )
            return error_reply(mixed, "admin")
        answers: list[tuple[BatchPart, PartReply]] = []
        for part in parts:
            part_headers = dict(part.headers)
            if "authorization" not in part_headers and "authorization" in headers:
                part_headers["authorization"] = headers["authorization"]
            reply = self.call(part.http_method, part.target, part_headers, part.body, in_batch=True)
            extra = dict(reply.headers)
            if reply.status != 204:
                extra["Content-Type"] = reply.content_type
            answers.append((part, PartReply(reply.status, reply.body, extra)))
        batch_type, batch_body = write_batch(answers)
        return Reply(200, batch_body, content_type=batch_type)

    # ------------------------------------------------------------------------ token
    def token(self, body: bytes, token_uri: str, authorization: str | None = None) -> Reply:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        status, answer = self.issuer.exchange(form, token_uri, authorization=authorization)
        return Reply(status, _json(answer))
