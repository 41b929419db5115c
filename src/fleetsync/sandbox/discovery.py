"""The contract: the discovery documents shipped inside google-api-python-client.

Routes (path templates, HTTP methods, parameters, scopes, request and response schemas) are read
from ``admin.directory_v1.json`` and ``chromepolicy.v1.json``, exactly the documents fleetsync's
clients are built from, so the sandbox accepts what they describe and refuses the rest as Google
does: an unknown parameter, a bad enum, a value out of range, a missing required field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from fleetsync.sandbox.errors import Api, ApiError

__all__ = [
    "DOCUMENTED_LIMITS",
    "SERVED_APIS",
    "Discovery",
    "Param",
    "Route",
    "bundled_document",
    "discovery",
]

_DOCUMENTS: dict[Api, str] = {
    "admin": "admin.directory_v1.json",
    "chromepolicy": "chromepolicy.v1.json",
    "gmail": "gmail.v1.json",
}

#: The APIs the sandbox routes, each from its bundled discovery document (``discovery_docs.py``
#: serves the same documents to clients that fetch them).
SERVED_APIS: tuple[Api, ...] = tuple(_DOCUMENTS)

#: Limits Google documents in prose but not in the discovery document.
DOCUMENTED_LIMITS: dict[tuple[str, str], int] = {
    ("directory.chromeosdevices.list", "maxResults"): 300,
}


@dataclass(frozen=True)
class Param:
    name: str
    location: str
    type: str = "string"
    required: bool = False
    repeated: bool = False
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    default: str | None = None


@dataclass(frozen=True)
class Route:
    api: Api
    method_id: str
    http_method: str
    template: str
    regex: re.Pattern[str]
    params: dict[str, Param]
    scopes: frozenset[str]
    request_schema: str | None
    response_schema: str | None
    required_body_fields: tuple[str, ...] = ()
    literal_length: int = field(default=0, compare=False)


def _load(api: Api) -> dict[str, Any]:
    package = resources.files("googleapiclient") / "discovery_cache" / "documents"
    data: dict[str, Any] = json.loads((package / _DOCUMENTS[api]).read_text(encoding="utf-8"))
    return data


@cache
def bundled_document(api: Api) -> dict[str, Any]:
    """``api``'s discovery document as google-api-python-client bundles it (do not mutate)."""
    return _load(api)


def _walk_methods(resources_: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for resource in resources_.values():
        found.extend(resource.get("methods", {}).values())
        found.extend(_walk_methods(resource.get("resources", {})))
    return found


def _param(name: str, spec: dict[str, Any]) -> Param:
    def number(key: str) -> int | None:
        return int(spec[key]) if key in spec else None

    return Param(
        name=name,
        location=spec.get("location", "query"),
        type=spec.get("type", "string"),
        required=bool(spec.get("required", False)),
        repeated=bool(spec.get("repeated", False)),
        enum=tuple(spec.get("enum", ())),
        minimum=number("minimum"),
        maximum=number("maximum"),
        pattern=spec.get("pattern"),
        default=spec.get("default"),
    )


def _compile(template: str, params: dict[str, Param]) -> tuple[re.Pattern[str], int]:
    parts: list[str] = []
    literal = 0
    position = 0
    for match in re.finditer(r"\{(\+?)([^}]+)\}", template):
        text = template[position : match.start()]
        parts.append(re.escape(text))
        literal += len(text)
        reserved, name = match.group(1) == "+", match.group(2)
        param = params.get(name)
        if reserved:
            inner = param.pattern.strip("^$") if param and param.pattern else ".+"
            parts.append(f"(?P<{name}>{inner})")
        else:
            parts.append(f"(?P<{name}>[^/]+)")
        position = match.end()
    text = template[position:]
    parts.append(re.escape(text))
    literal += len(text)
    return re.compile("".join(parts) + r"\Z"), literal


def _required_fields(
    schemas: dict[str, Any], ref: str | None, method_id: str, prefix: str = "", depth: int = 0
) -> list[str]:
    if ref is None or depth > 3:
        return []
    found: list[str] = []
    for name, spec in schemas.get(ref, {}).get("properties", {}).items():
        path = f"{prefix}{name}"
        if method_id in spec.get("annotations", {}).get("required", ()):
            found.append(path)
        found.extend(_required_fields(schemas, spec.get("$ref"), method_id, f"{path}.", depth + 1))
    return found


class Discovery:
    """Both APIs' routes, and the schemas their bodies and ``fields`` masks are checked against."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.schemas: dict[Api, dict[str, Any]] = {}
        self.by_id: dict[str, Route] = {}
        for api in _DOCUMENTS:
            doc = bundled_document(api)
            self.schemas[api] = doc["schemas"]
            global_params = {n: _param(n, s) for n, s in doc.get("parameters", {}).items()}
            for method in _walk_methods(doc["resources"]):
                params = dict(global_params)
                params.update({n: _param(n, s) for n, s in method.get("parameters", {}).items()})
                regex, literal = _compile(method["path"], params)
                request = method.get("request", {}).get("$ref")
                route = Route(
                    api=api,
                    method_id=method["id"],
                    http_method=method["httpMethod"],
                    template=method["path"],
                    regex=regex,
                    params=params,
                    scopes=frozenset(method.get("scopes", ())),
                    request_schema=request,
                    response_schema=method.get("response", {}).get("$ref"),
                    required_body_fields=tuple(
                        _required_fields(doc["schemas"], request, method["id"])
                    ),
                    literal_length=literal,
                )
                self.routes.append(route)
                self.by_id[route.method_id] = route
        # The most literal template wins: ``.../chromeos/moveDevicesToOu`` before ``{deviceId}``.
        self.routes.sort(key=lambda r: -r.literal_length)
        self._by_verb: dict[str, list[Route]] = {}
        for route in self.routes:
            self._by_verb.setdefault(route.http_method, []).append(route)

    def match(self, http_method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for ``path`` (no leading slash, still percent-encoded) and its path params."""
        for route in self._by_verb.get(http_method, ()):
            found = route.regex.match(path)
            if found is not None:
                return route, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    # ----------------------------------------------------------------------- parameters
    def check_query(self, route: Route, query: dict[str, list[str]]) -> dict[str, Any]:
        """Typed query parameters, or the 400 Google answers for the first bad one."""
        values: dict[str, Any] = {}
        for name, raw in query.items():
            param = route.params.get(name)
            if param is None or param.location != "query":
                raise ApiError(
                    400,
                    "invalid",
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                    f"parameter. Field '{name}' could not be found in request message.",
                    location=name,
                )
            if len(raw) > 1 and not param.repeated:
                raise ApiError(
                    400,
                    "invalid",
                    f"Parameter {name} may be given once; it was given {len(raw)} times.",
                    location=name,
                )
            converted = [self._convert(route, param, item) for item in raw]
            values[name] = converted if param.repeated else converted[0]
        for name, param in route.params.items():
            if param.location == "query" and param.required and name not in values:
                raise ApiError(400, "required", f"Required parameter: {name}", location=name)
        return values

    def _convert(self, route: Route, param: Param, raw: str) -> Any:
        name = param.name
        if param.enum and raw not in param.enum:
            raise ApiError(
                400,
                "invalid",
                f"Invalid value '{raw}' for {name}. Values must be one of: "
                f"[{', '.join(param.enum)}]",
                location=name,
            )
        if param.type == "boolean":
            if raw.lower() not in {"true", "false"}:
                raise ApiError(
                    400, "invalid", f"Invalid boolean value '{raw}' for {name}.", location=name
                )
            return raw.lower() == "true"
        if param.type == "integer":
            try:
                number = int(raw)
            except ValueError:
                raise ApiError(
                    400,
                    "invalid",
                    f"Invalid value '{raw}' for {name}: not an integer.",
                    location=name,
                ) from None
            lowest = param.minimum
            highest = DOCUMENTED_LIMITS.get((route.method_id, name), param.maximum)
            if (lowest is not None and number < lowest) or (
                highest is not None and number > highest
            ):
                bounds = f"[{lowest if lowest is not None else ''}, {highest or ''}]"
                raise ApiError(
                    400,
                    "invalid",
                    f"Invalid value '{raw}'. Values must be within the range: {bounds}",
                    location=name,
                )
            return number
        return raw

    # ---------------------------------------------------------------------------- bodies
    def check_body(self, route: Route, body: Any) -> None:
        """Unknown fields, wrong JSON types and missing required fields, as Google refuses them."""
        if route.request_schema is None:
            return
        schemas = self.schemas[route.api]
        _check_value(schemas, {"$ref": route.request_schema}, body, "")
        for dotted in route.required_body_fields:
            value: Any = body
            for part in dotted.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value in (None, "", []):
                raise ApiError(
                    400,
                    "required",
                    f"Missing required field: {dotted}.",
                    location=dotted,
                    location_type="body",
                )


def _check_value(schemas: dict[str, Any], schema: dict[str, Any], value: Any, at: str) -> None:
    if value is None:
        return  # null clears a field in a patch
    ref = schema.get("$ref")
    if ref is not None:
        schema = schemas.get(ref, {})
    kind = schema.get("type")
    where = f" at '{at}'" if at else ""
    if kind == "object":
        if not isinstance(value, dict):
            raise _payload_error(f"Invalid value{where}: expected an object, got {value!r}")
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            path = f"{at}.{key}" if at else key
            if properties is not None and key in properties:
                _check_value(schemas, properties[key], item, path)
            elif extra is not None:
                _check_value(schemas, extra, item, path)
            elif properties is not None:
                raise _payload_error(
                    f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                    "Cannot find field."
                )
    elif kind == "array":
        if not isinstance(value, list):
            raise _payload_error(f"Invalid value{where}: expected a list, got {value!r}")
        for index, item in enumerate(value):
            _check_value(schemas, schema.get("items", {}), item, f"{at}[{index}]")
    elif kind == "string":
        numeric = schema.get("format") in {"int64", "uint64"} and isinstance(value, int)
        if not isinstance(value, str) and not numeric:
            raise _payload_error(f"Invalid value{where}: expected a string, got {value!r}")
        if schema.get("enum") and value not in schema["enum"]:
            raise _payload_error(f"Invalid value{where} ({value!r}): not one of its enum values")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise _payload_error(f"Invalid value{where}: expected true or false, got {value!r}")
    elif kind == "integer" and (isinstance(value, bool) or not isinstance(value, int | str)):
        raise _payload_error(f"Invalid value{where}: expected an integer, got {value!r}")


def _payload_error(message: str) -> ApiError:
    return ApiError(400, "invalid", message)


@cache
def discovery() -> Discovery:
    """The one parsed copy of both documents (parsing them takes a moment)."""
    return Discovery()
