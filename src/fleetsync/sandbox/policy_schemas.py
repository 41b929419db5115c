"""The Chrome policy schemas the sandbox knows, and how a value is checked against one.

Only the schemas fleetsync uses are defined (managed bookmarks, app install type, plus one more
app schema so ``chrome.users.apps.*`` means several); a value naming any other schema is refused
as Google refuses an unknown one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fleetsync.sandbox.errors import ApiError

__all__ = ["KNOWN_NAMESPACES", "SCHEMAS", "FieldSpec", "PolicySchema", "namespace_of"]

_APP_ID = re.compile(r"^(chrome:[a-p]{32}|web:https?://\S+|android:[A-Za-z0-9_.]+)$")
_URL = re.compile(r"^(https?|chrome|file)://\S+$")
_MAX_BOOKMARK_DEPTH = 10


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "enum" | "bool" | "bookmarks"
    description: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PolicySchema:
    name: str
    description: str
    category: str
    fields: tuple[FieldSpec, ...]
    key_names: tuple[tuple[str, str], ...] = ()

    @property
    def namespace(self) -> str:
        return namespace_of(self.name)

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    def check(self, value: dict[str, Any], mask: list[str]) -> None:
        """Google's INVALID_ARGUMENT for a mask or value this schema does not accept."""
        for name in mask:
            spec = self.field(name)
            if spec is None:
                raise _invalid(f"Field {name!r} in updateMask is not a field of {self.name}.")
            if name not in value:
                raise _invalid(
                    f"Field {name!r} is in updateMask but has no value in policyValue.value."
                )
            _check_field(spec, value[name], self.name)
        for name in value:
            if self.field(name) is None:
                raise _invalid(f"Unknown field {name!r} for policy schema {self.name}.")

    def to_json(self, customer: str) -> dict[str, Any]:
        message = self.name.rsplit(".", 1)[1]
        return {
            "name": f"customers/{customer}/policySchemas/{self.name}",
            "schemaName": self.name,
            "policyDescription": self.description,
            "categoryTitle": self.category,
            "additionalTargetKeyNames": [
                {"key": key, "keyDescription": text} for key, text in self.key_names
            ],
            "fieldDescriptions": [
                {
                    "field": spec.name,
                    "name": spec.name,
                    "description": spec.description,
                    **(
                        {
                            "knownValueDescriptions": [
                                {"value": v, "description": d} for v, d in spec.values
                            ]
                        }
                        if spec.values
                        else {}
                    ),
                }
                for spec in self.fields
            ],
            "definition": {
                "messageType": [
                    {
                        "name": message,
                        "field": [
                            {
                                "name": spec.name,
                                "number": index + 1,
                                "label": "LABEL_OPTIONAL",
                                "type": {"enum": "TYPE_ENUM", "bool": "TYPE_BOOL"}.get(
                                    spec.kind, "TYPE_MESSAGE"
                                ),
                            }
                            for index, spec in enumerate(self.fields)
                        ],
                    }
                ]
            },
            "supportedPlatforms": ["CHROME_OS"],
            "validTargetResources": ["ORG_UNIT"],
            "policyApiLifecycle": {"policyApiLifecycleStage": "API_CURRENT"},
        }

    def check_keys(self, keys: dict[str, str]) -> None:
        expected = {key for key, _ in self.key_names}
        if set(keys) != expected:
            raise _invalid(
                f"Policy schema {self.name} needs additionalTargetKeys {sorted(expected)}; "
                f"got {sorted(keys)}."
            )
        app_id = keys.get("app_id")
        if app_id is not None and not _APP_ID.match(app_id):
            raise _invalid(
                f"Invalid app_id {app_id!r}: expected chrome:<32-letter id>, web:<url> or "
                "android:<package>."
            )


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid", message)


def _check_field(spec: FieldSpec, value: Any, schema: str) -> None:
    if spec.kind == "enum":
        allowed = [v for v, _ in spec.values]
        if value not in allowed:
            raise _invalid(f"Invalid value {value!r} for {schema}.{spec.name}: one of {allowed}.")
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            raise _invalid(f"Invalid value {value!r} for {schema}.{spec.name}: true or false.")
    elif spec.kind == "bookmarks":
        if not isinstance(value, dict) or set(value) - {"toplevelName", "bookmarks"}:
            raise _invalid(
                f"{schema}.{spec.name} takes {{'toplevelName': ..., 'bookmarks': [...]}}."
            )
        if not isinstance(value.get("toplevelName", ""), str):
            raise _invalid(f"{schema}.{spec.name}.toplevelName must be a string.")
        _check_bookmarks(value.get("bookmarks", []), f"{spec.name}.bookmarks", 0)


def _check_bookmarks(items: Any, at: str, depth: int) -> None:
    if depth > _MAX_BOOKMARK_DEPTH:
        raise _invalid(f"{at}: bookmark folders nest too deep.")
    if not isinstance(items, list):
        raise _invalid(f"{at} must be a list of bookmarks.")
    for index, item in enumerate(items):
        where = f"{at}[{index}]"
        if (
            not isinstance(item, dict)
            or len(item) != 1
            or next(iter(item))
            not in {
                "link",
                "folder",
            }
        ):
            raise _invalid(f"{where} must be {{'link': {{...}}}} or {{'folder': {{...}}}}.")
        ((kind, body),) = item.items()
        if not isinstance(body, dict) or not str(body.get("name") or "").strip():
            raise _invalid(f"{where}.{kind} needs a non-empty name.")
        if kind == "link":
            if set(body) - {"name", "url"} or not _URL.match(str(body.get("url") or "")):
                raise _invalid(f"{where}.link needs a name and a valid url.")
        else:
            if set(body) - {"name", "entries"}:
                raise _invalid(f"{where}.folder takes a name and entries.")
            _check_bookmarks(body.get("entries", []), f"{where}.folder.entries", depth + 1)


def namespace_of(schema: str) -> str:
    return schema.rsplit(".", 1)[0]


_APP_KEY = (("app_id", "The app's id: chrome:<id>, web:<url> or android:<package>."),)

SCHEMAS: dict[str, PolicySchema] = {
    schema.name: schema
    for schema in (
        PolicySchema(
            name="chrome.users.ManagedBookmarksSetting",
            description="Managed bookmarks shown to users in a folder on the bookmark bar.",
            category="User experience",
            fields=(
                FieldSpec(
                    "managedBookmarks",
                    "bookmarks",
                    "The folder name and the links and folders it holds.",
                ),
            ),
        ),
        PolicySchema(
            name="chrome.users.apps.InstallType",
            description="Specifies the manner in which the app is to be installed.",
            category="Apps and extensions",
            fields=(
                FieldSpec(
                    "appInstallType",
                    "enum",
                    "How the app is installed.",
                    (
                        ("ALLOWED", "Allow install."),
                        ("FORCED", "Force install."),
                        ("FORCED_AND_PIN_TO_TOOLBAR", "Force install and pin to the toolbar."),
                        ("BLOCKED", "Block."),
                    ),
                ),
            ),
            key_names=_APP_KEY,
        ),
        PolicySchema(
            name="chrome.users.apps.IncludeInChromeWebStoreCollection",
            description="Include the app in the Chrome Web Store collection.",
            category="Apps and extensions",
            fields=(FieldSpec("includeInCollection", "bool", "Show the app in the collection."),),
            key_names=_APP_KEY,
        ),
    )
}

#: Namespaces a resolve filter may name; only the schemas above have values.
KNOWN_NAMESPACES = frozenset(
    {
        "chrome.users",
        "chrome.users.apps",
        "chrome.devices",
        "chrome.devices.kiosk",
        "chrome.devices.managedguest",
        "chrome.printers",
        "chrome.networks.wifi",
        "chrome.networks.ethernet",
        "chrome.networks.vpn",
        "chrome.networks.certificates",
    }
)
