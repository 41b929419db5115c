"""Partial responses: Google's ``fields`` parameter (``nextPageToken,chromeosdevices(deviceId)``).

A mask is parsed once, checked against the method's response schema (an unknown field is a 400
``invalidParameter``, as Google answers), cached, and applied to the answer.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fleetsync.sandbox.discovery import discovery
from fleetsync.sandbox.errors import Api, ApiError

__all__ = ["Mask", "apply_mask", "compile_mask"]

#: ``{"chromeosdevices": {"deviceId": None}}``: None selects the whole value.
Mask = dict[str, "Mask | None"]


def _invalid(selection: str) -> ApiError:
    return ApiError(
        400, "invalidParameter", f"Invalid field selection {selection}", location="fields"
    )


def _parse(text: str) -> Mask:
    mask: Mask = {}
    position = 0

    def parse_list(end: str | None) -> Mask:
        nonlocal position
        result: Mask = {}
        while position < len(text):
            start = position
            while position < len(text) and text[position] not in ",()":
                position += 1
            path = text[start:position].strip()
            if not path:
                raise _invalid(text)
            sub: Mask | None = None
            if position < len(text) and text[position] == "(":
                position += 1
                sub = parse_list(")")
                if position >= len(text) or text[position] != ")":
                    raise _invalid(text)
                position += 1
            _merge(result, path.split("/"), sub)
            if position < len(text) and text[position] == ",":
                position += 1
                continue
            if position < len(text) and text[position] == ")":
                if end != ")":
                    raise _invalid(text)
                return result
        if end is not None:
            raise _invalid(text)
        return result

    mask = parse_list(None)
    return mask


def _merge(target: Mask, names: list[str], sub: Mask | None) -> None:
    head, rest = names[0], names[1:]
    if not head:
        raise _invalid("/".join(names))
    if rest:
        existing = target.get(head, {})
        if existing is None:
            return  # already selected whole
        target[head] = existing
        _merge(existing, rest, sub)
        return
    if sub is None or target.get(head, {}) is None:
        target[head] = None
        return
    existing = target.setdefault(head, {})
    assert existing is not None
    for key, value in sub.items():
        _merge(existing, [key], value)


def _check(api: Api, schema: dict[str, Any] | None, mask: Mask) -> None:
    schemas = discovery().schemas[api]
    for name, sub in mask.items():
        if schema is None:
            continue  # a free-form object (policy values, User "any" fields): anything goes
        resolved = _resolve(schemas, schema)
        properties = resolved.get("properties")
        if properties is None:
            continue
        if name == "*":
            for spec in properties.values():
                if sub is not None:
                    _check(api, spec, sub)
            continue
        if name not in properties:
            raise _invalid(name)
        if sub is not None:
            _check(api, properties[name], sub)


def _resolve(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in schema:
            schema = schemas.get(schema["$ref"], {})
        elif schema.get("type") == "array":
            schema = schema.get("items", {})
        else:
            return schema


@lru_cache(maxsize=1024)
def compile_mask(api: Api, response_schema: str | None, text: str) -> Mask:
    """Parse and check a ``fields`` value against a response schema (cached)."""
    mask = _parse(text)
    if response_schema is not None:
        _check(api, {"$ref": response_schema}, mask)
    return mask


def apply_mask(mask: Mask | None, value: Any) -> Any:
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply_mask(mask, item) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in mask:
        every = mask["*"]
        return {key: apply_mask(every, item) for key, item in value.items()}
    return {key: apply_mask(sub, value[key]) for key, sub in mask.items() if key in value}
