"""The Chrome policy schemas the sandbox knows, described and checked as Google does.

Only the schemas fleetsync uses are defined (managed bookmarks, app install type, plus one more
app schema so ``chrome.users.apps.*`` means several, and the disabled device's return
instructions); a value naming any other schema is refused
as Google refuses an unknown one.

Each schema is described completely, in the shape ``policySchemas.get`` answers (a real answer
for ``chrome.devices.managedguest.IdleSettingsExtended`` is the model): ``definition`` is a
``Proto2FileDescriptorProto`` whose first ``messageType`` is the schema's own message, followed by
every message a field refers to; enums are the file's ``enumType``; an enum or message field
names its type in ``typeName`` (the bare name, as Google writes it, which GAM and the Terraform
provider resolve among the file's types); ``fieldDescriptions`` give each field a title, a
description, the known values of an enum or bool, and ``nestedFieldDescriptions`` for a message.
A value is checked against the same descriptor a client reads, so what a client builds from the
schema is what the sandbox accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fleetsync.sandbox.errors import ApiError

__all__ = [
    "KNOWN_NAMESPACES",
    "SCHEMAS",
    "EnumType",
    "FieldSpec",
    "MessageType",
    "PolicySchema",
    "namespace_of",
]

_APP_ID = re.compile(r"^(chrome:[a-p]{32}|web:https?://\S+|android:[A-Za-z0-9_.]+)$")
_URL = re.compile(r"^(https?|chrome|file)://\S+$")
_MAX_BOOKMARK_DEPTH = 10

#: The proto field types the served schemas use, and the JSON value each takes.
_JSON_KINDS: dict[str, tuple[type, ...]] = {
    "TYPE_STRING": (str,),
    "TYPE_BOOL": (bool,),
    "TYPE_ENUM": (str,),
    "TYPE_MESSAGE": (dict,),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of a message (a ``Proto2FieldDescriptorProto`` and its description)."""

    name: str
    type: str  # TYPE_STRING | TYPE_BOOL | TYPE_ENUM | TYPE_MESSAGE
    description: str
    title: str = ""
    #: The enum or message type's name (``typeName``).
    type_name: str = ""
    repeated: bool = False
    #: For a bool: what true and false mean (Google's knownValueDescriptions).
    bool_values: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class MessageType:
    name: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class EnumType:
    name: str
    #: (value name, description), numbered from 1 in this order.
    values: tuple[tuple[str, str], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.values]


@dataclass(frozen=True)
class PolicySchema:
    name: str
    description: str
    category: str
    #: The schema's own message first, then every message its fields refer to.
    messages: tuple[MessageType, ...]
    enums: tuple[EnumType, ...] = ()
    key_names: tuple[tuple[str, str], ...] = ()
    #: Rules beyond the types (Google's, in prose), checked after them.
    rules: Callable[[str, Any], None] | None = field(default=None, compare=False)

    @property
    def namespace(self) -> str:
        return namespace_of(self.name)

    @property
    def message(self) -> MessageType:
        return self.messages[0]

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return self.message.fields

    def field(self, name: str) -> FieldSpec | None:
        return self.message.field(name)

    def message_named(self, name: str) -> MessageType:
        return next(m for m in self.messages if m.name == name)

    def enum_named(self, name: str) -> EnumType:
        return next(e for e in self.enums if e.name == name)

    # ------------------------------------------------------------------------- values
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
        for name in value:
            if self.field(name) is None:
                raise _invalid(f"Unknown field {name!r} for policy schema {self.name}.")
        for name in mask:
            spec = self.field(name)
            assert spec is not None
            self._check_field(spec, value[name], f"{self.name}.{name}")
            if self.rules is not None:
                self.rules(name, value[name])

    def _check_field(self, spec: FieldSpec, value: Any, at: str) -> None:
        if spec.repeated:
            if not isinstance(value, list):
                raise _invalid(f"Invalid value {value!r} for {at}: a list.")
            for index, item in enumerate(value):
                self._check_single(spec, item, f"{at}[{index}]")
        else:
            self._check_single(spec, value, at)

    def _check_single(self, spec: FieldSpec, value: Any, at: str) -> None:
        kinds = _JSON_KINDS[spec.type]
        if not isinstance(value, kinds) or (spec.type != "TYPE_BOOL" and isinstance(value, bool)):
            wanted = {
                "TYPE_STRING": "a string",
                "TYPE_BOOL": "true or false",
                "TYPE_ENUM": "one of its enum values",
                "TYPE_MESSAGE": "an object",
            }[spec.type]
            raise _invalid(f"Invalid value {value!r} for {at}: {wanted}.")
        if spec.type == "TYPE_ENUM":
            allowed = self.enum_named(spec.type_name).names
            if value not in allowed:
                raise _invalid(f"Invalid value {value!r} for {at}: one of {allowed}.")
        elif isinstance(value, dict):
            message = self.message_named(spec.type_name)
            for key, item in value.items():
                inner = message.field(key)
                if inner is None:
                    known = [f.name for f in message.fields]
                    raise _invalid(f"Unknown field {key!r} at {at}: {message.name} has {known}.")
                self._check_field(inner, item, f"{at}.{key}")

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

    # ---------------------------------------------------------------------- describing
    def to_json(self, customer: str) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "messageType": [
                {"name": m.name, "field": [_field_json(f, n) for n, f in enumerate(m.fields, 1)]}
                for m in self.messages
            ]
        }
        if self.enums:
            definition["enumType"] = [
                {
                    "name": e.name,
                    "value": [{"name": v, "number": n} for n, (v, _) in enumerate(e.values, 1)],
                }
                for e in self.enums
            ]
        return {
            "name": f"customers/{customer}/policySchemas/{self.name}",
            "schemaName": self.name,
            "policyDescription": self.description,
            "categoryTitle": self.category,
            "additionalTargetKeyNames": [
                {"key": key, "keyDescription": text} for key, text in self.key_names
            ],
            "definition": definition,
            "fieldDescriptions": [self._description(f, set()) for f in self.fields],
            "supportedPlatforms": ["CHROME_OS"],
            "validTargetResources": ["ORG_UNIT"],
            "policyApiLifecycle": {"policyApiLifecycleStage": "API_CURRENT"},
        }

    def _description(self, spec: FieldSpec, described: set[str]) -> dict[str, Any]:
        """A field's description; a message's fields nested under it, each message once (a
        bookmark folder holds bookmarks: the nesting would not end)."""
        item: dict[str, Any] = {"field": spec.name, "description": spec.description}
        if spec.title:
            item["name"] = spec.title
            item["fieldDescription"] = spec.description
        if spec.type == "TYPE_ENUM":
            item["knownValueDescriptions"] = [
                {"value": value, "description": text}
                for value, text in self.enum_named(spec.type_name).values
            ]
        elif spec.type == "TYPE_BOOL" and any(spec.bool_values):
            item["knownValueDescriptions"] = [
                {"value": "true", "description": spec.bool_values[0]},
                {"value": "false", "description": spec.bool_values[1]},
            ]
        elif spec.type == "TYPE_MESSAGE" and spec.type_name not in described:
            inner = described | {spec.type_name}
            message = self.message_named(spec.type_name)
            item["nestedFieldDescriptions"] = [self._description(f, inner) for f in message.fields]
        return item


def _field_json(spec: FieldSpec, number: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": spec.name,
        "number": number,
        "label": "LABEL_REPEATED" if spec.repeated else "LABEL_OPTIONAL",
        "type": spec.type,
    }
    if spec.type_name:
        data["typeName"] = spec.type_name
    return data


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid", message)


# ------------------------------------------------------------------------ managed bookmarks
def _bookmark_rules(field_name: str, value: Any) -> None:
    """What the types do not say: a name on every link and folder, a valid URL on a link,
    exactly one of link or folder per entry, folders at most ten deep."""
    _check_bookmarks(value.get("bookmarks", []), f"{field_name}.bookmarks", 0)


def _check_bookmarks(items: list[dict[str, Any]], at: str, depth: int) -> None:
    if depth > _MAX_BOOKMARK_DEPTH:
        raise _invalid(f"{at}: bookmark folders nest too deep.")
    for index, item in enumerate(items):
        where = f"{at}[{index}]"
        if len(item) != 1:
            raise _invalid(f"{where} must be {{'link': {{...}}}} or {{'folder': {{...}}}}.")
        ((kind, body),) = item.items()
        if not str(body.get("name") or "").strip():
            raise _invalid(f"{where}.{kind} needs a non-empty name.")
        if kind == "link":
            if not _URL.match(str(body.get("url") or "")):
                raise _invalid(f"{where}.link needs a name and a valid url.")
        else:
            _check_bookmarks(body.get("entries", []), f"{where}.folder.entries", depth + 1)


_BOOKMARK_MESSAGES = (
    MessageType(
        "ManagedBookmarks",
        (
            FieldSpec(
                "toplevelName",
                "TYPE_STRING",
                "The name of the folder the bookmarks are shown in.",
                title="Top-level folder name.",
            ),
            FieldSpec(
                "bookmarks",
                "TYPE_MESSAGE",
                "The links and folders in the top-level folder.",
                type_name="BookmarkEntry",
                repeated=True,
            ),
        ),
    ),
    MessageType(
        "BookmarkEntry",
        (
            FieldSpec("link", "TYPE_MESSAGE", "A link.", type_name="BookmarkLink"),
            FieldSpec("folder", "TYPE_MESSAGE", "A folder.", type_name="BookmarkFolder"),
        ),
    ),
    MessageType(
        "BookmarkLink",
        (
            FieldSpec("name", "TYPE_STRING", "The link's name."),
            FieldSpec("url", "TYPE_STRING", "The link's URL."),
        ),
    ),
    MessageType(
        "BookmarkFolder",
        (
            FieldSpec("name", "TYPE_STRING", "The folder's name."),
            FieldSpec(
                "entries",
                "TYPE_MESSAGE",
                "The links and folders in the folder.",
                type_name="BookmarkEntry",
                repeated=True,
            ),
        ),
    ),
)


# ------------------------------------------------------------------------------ catalogue
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
            messages=(
                MessageType(
                    "ManagedBookmarksSetting",
                    (
                        FieldSpec(
                            "managedBookmarks",
                            "TYPE_MESSAGE",
                            "The folder name and the links and folders it holds.",
                            title="Managed bookmarks.",
                            type_name="ManagedBookmarks",
                        ),
                    ),
                ),
                *_BOOKMARK_MESSAGES,
            ),
            rules=_bookmark_rules,
        ),
        PolicySchema(
            name="chrome.users.apps.InstallType",
            description="Specifies the manner in which the app is to be installed.",
            category="Apps and extensions",
            messages=(
                MessageType(
                    "InstallType",
                    (
                        FieldSpec(
                            "appInstallType",
                            "TYPE_ENUM",
                            "How the app is installed.",
                            title="Installation policy.",
                            type_name="AppInstallTypeEnum",
                        ),
                    ),
                ),
            ),
            enums=(
                EnumType(
                    "AppInstallTypeEnum",
                    (
                        ("BLOCKED", "Block installation of the app."),
                        ("ALLOWED", "Allow installation of the app."),
                        ("FORCED", "Force install the app."),
                        ("FORCED_AND_PIN_TO_TOOLBAR", "Force install and pin to the toolbar."),
                        ("NORMAL", "Force install, but let the user disable it (extensions)."),
                        (
                            "NORMAL_AND_PIN_TO_TOOLBAR",
                            "Force install and pin, but let the user disable it (extensions).",
                        ),
                        ("REMOVE", "Block installation and remove the app (extensions)."),
                    ),
                ),
            ),
            key_names=_APP_KEY,
        ),
        PolicySchema(
            name="chrome.users.apps.IncludeInChromeWebStoreCollection",
            description="Include the app in the Chrome Web Store collection.",
            category="Apps and extensions",
            messages=(
                MessageType(
                    "IncludeInChromeWebStoreCollection",
                    (
                        FieldSpec(
                            "includeInCollection",
                            "TYPE_BOOL",
                            "Show the app in the collection.",
                            title="Include in Chrome Web Store collection.",
                            bool_values=(
                                "Include the app in the collection.",
                                "Do not include the app in the collection.",
                            ),
                        ),
                    ),
                ),
            ),
            key_names=_APP_KEY,
        ),
        PolicySchema(
            name="chrome.devices.DisabledDeviceReturnInstructions",
            description="Disabled device return instructions.",
            category="User and device reporting",
            messages=(
                MessageType(
                    "DisabledDeviceReturnInstructions",
                    (
                        FieldSpec(
                            "deviceDisabledMessage",
                            "TYPE_STRING",
                            "Disabled device return instructions. Custom text to display under "
                            "the device locked message. We recommend including a return address "
                            "and contact phone number in your message.",
                            title="Disabled device return instructions.",
                        ),
                    ),
                ),
            ),
        ),
    )
}

#: The namespaces Google's schemas live in: a resolve filter may name any of them (answered
#: empty where nothing is set); only the schemas above can hold values.
KNOWN_NAMESPACES = frozenset(
    {
        "chrome.users",
        "chrome.users.apps",
        "chrome.users.appsconfig",
        "chrome.devices",
        "chrome.devices.kiosk",
        "chrome.devices.kiosk.apps",
        "chrome.devices.kiosk.appsconfig",
        "chrome.devices.managedguest",
        "chrome.devices.managedguest.apps",
        "chrome.networks.cellular",
        "chrome.networks.certificates",
        "chrome.networks.ethernet",
        "chrome.networks.globalsettings",
        "chrome.networks.vpn",
        "chrome.networks.wifi",
        "chrome.printers",
        "chrome.printservers",
    }
)
