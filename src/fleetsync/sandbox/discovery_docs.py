"""The discovery documents, served where Google serves them, pointing at this sandbox.

A client that builds itself at start-up (instead of using a bundled copy) fetches one of:

    GET /$discovery/rest?version=directory_v1          https://admin.googleapis.com/$discovery/...
    GET /$discovery/rest?version=v1                    https://chromepolicy.googleapis.com/...
    GET /discovery/v1/apis/admin/directory_v1/rest     https://www.googleapis.com/discovery/v1/...
    GET /discovery/v1/apis                             the directory of the APIs served here

The documents are the copies bundled in google-api-python-client (the same ones the sandbox routes
by), with ``rootUrl``, ``baseUrl`` and ``mtlsRootUrl`` pointing at the address the client reached
the sandbox by: every call a client built from them makes (batches included) comes here. On the
one-host form (``/$discovery/rest``) Google tells APIs apart by host name; here the ``Host``
header's first label does the same (``chromepolicy.sandbox.test:8765``, through a hosts entry or
a proxy). Without one, the version decides; a version several served APIs share goes to the
first of them (Chrome Policy's ``v1``: the address clients of it have always used here).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from fleetsync.sandbox.discovery import SERVED_APIS, bundled_document
from fleetsync.sandbox.errors import Api
from fleetsync.sandbox.front import Reply

__all__ = ["DISCOVERY_METHODS", "answer", "document_text"]

#: What the request log calls these fetches: the Discovery API's own method ids.
DISCOVERY_METHODS = ("discovery.apis.getRest", "discovery.apis.list")

_JSON = "application/json; charset=UTF-8"
_REST_PATH = re.compile(r"/discovery/v1/apis/(?P<api>[^/]+)/(?P<version>[^/]+)/rest\Z")
#: A Host header the sandbox may echo into a URL (a name or an address, and a port).
_HOST = re.compile(r"\A[A-Za-z0-9.\-]+(:\d{1,5})?\Z|\A\[[0-9A-Fa-f:.]+\](:\d{1,5})?\Z")


def _versions() -> dict[Api, str]:
    return {api: str(bundled_document(api)["version"]) for api in SERVED_APIS}


@lru_cache(maxsize=32)
def document_text(api: Api, root_url: str) -> bytes:
    """``api``'s discovery document with its URLs pointing at ``root_url`` (cached: a client
    fetches it on every start, and the Directory API's is 400 kB)."""
    document: dict[str, Any] = dict(bundled_document(api))
    document["rootUrl"] = root_url
    document["mtlsRootUrl"] = root_url
    document["baseUrl"] = root_url + str(document.get("servicePath") or "")
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def _error(status: int, message: str) -> Reply:
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
    body = {"error": {"code": status, "message": message, "status": names[status]}}
    return Reply(status, json.dumps(body).encode("utf-8"), content_type=_JSON)


def _root(host: str | None, fallback: str) -> str:
    return f"http://{host}/" if host and _HOST.match(host) else fallback


def _by_version(version: str, host: str | None) -> Api | Reply:
    """The API a ``$discovery/rest?version=`` request names, or the error Google answers."""
    candidates = [api for api in SERVED_APIS if _versions()[api] == version]
    label = (host or "").split(".", 1)[0].lower()
    named = [api for api in candidates if api == label]
    if named:
        return named[0]
    if candidates:
        return candidates[0]
    served = ", ".join(f"{api} {v}" for api, v in sorted(_versions().items()))
    return _error(404, f"No API served here has version {version!r} (served: {served}).")


def _directory(root: str, query: dict[str, list[str]]) -> dict[str, Any]:
    names = query.get("name")
    wanted = names[0] if names else None
    items = []
    for api in SERVED_APIS:
        document = bundled_document(api)
        if wanted is not None and document["name"] != wanted:
            continue
        items.append(
            {
                "kind": "discovery#directoryItem",
                "id": document["id"],
                "name": document["name"],
                "version": document["version"],
                "title": document.get("title", ""),
                "description": document.get("description", ""),
                "discoveryRestUrl": f"{root}discovery/v1/apis/{api}/{document['version']}/rest",
                "icons": document.get("icons", {}),
                "documentationLink": document.get("documentationLink", ""),
                "preferred": True,
            }
        )
    body: dict[str, Any] = {"kind": "discovery#directoryList", "discoveryVersion": "v1"}
    if items:
        body["items"] = items
    return body


def answer(target: str, host: str | None, fallback_root: str) -> tuple[str, Reply] | None:
    """(method id, reply) for a discovery request, or None when ``target`` is not one.

    ``host`` is the request's Host header; ``fallback_root`` the sandbox's own URL, used when
    the request has no usable Host."""
    path, _, query_string = target.partition("?")
    query = parse_qs(query_string, keep_blank_values=True)
    root = _root(host, fallback_root)
    if path == "/$discovery/rest":
        versions = query.get("version") or []
        if not versions or not versions[0]:
            return DISCOVERY_METHODS[0], _error(400, "Required parameter: version")
        chosen = _by_version(versions[0], host)
        if isinstance(chosen, Reply):
            return DISCOVERY_METHODS[0], chosen
        return DISCOVERY_METHODS[0], Reply(200, document_text(chosen, root), content_type=_JSON)
    if path.rstrip("/") == "/discovery/v1/apis":
        body = json.dumps(_directory(root, query), indent=1).encode("utf-8")
        return DISCOVERY_METHODS[1], Reply(200, body, content_type=_JSON)
    found = _REST_PATH.match(path)
    if found is None:
        return None
    name, version = found.group("api"), found.group("version")
    served = next((api for api, v in _versions().items() if (api, v) == (name, version)), None)
    if served is None:
        return DISCOVERY_METHODS[0], _error(
            404, f"Discovery document not found for API service: {name} version: {version}"
        )
    return DISCOVERY_METHODS[0], Reply(200, document_text(served, root), content_type=_JSON)
