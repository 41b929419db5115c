"""The ``users`` methods: insert, get, list, patch/update, delete, undelete.

Every writable field of the discovery ``User`` schema is stored as sent; the password only as a
salted hash, and never returned. Right after creation a user can be made to refuse changes with
"User creation is not complete" (``user_propagation_seconds``), as Google's propagation delay does.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TYPE_CHECKING, Any

from fleetsync.sandbox.clock import rfc3339
from fleetsync.sandbox.errors import ApiError, not_found
from fleetsync.sandbox.paging import PageToken
from fleetsync.sandbox.user_query import parse_user_query
from fleetsync.sandbox.users import User

if TYPE_CHECKING:
    from fleetsync.sandbox.calls import Call
    from fleetsync.sandbox.tenant import Tenant

__all__ = ["HANDLERS", "user_view"]

#: Fields Google computes; sent in a body they are ignored.
READ_ONLY = frozenset(
    {
        "id",
        "kind",
        "etag",
        "isAdmin",
        "isDelegatedAdmin",
        "creationTime",
        "lastLoginTime",
        "deletionTime",
        "customerId",
        "agreedToTerms",
        "isMailboxSetup",
        "isEnrolledIn2Sv",
        "isEnforcedIn2Sv",
        "suspensionReason",
        "suspensionTime",
        "aliases",
        "nonEditableAliases",
        "thumbnailPhotoUrl",
        "thumbnailPhotoEtag",
        "archivalTime",
    }
)
_SECRET = frozenset({"password", "hashFunction"})
_HASH_FUNCTIONS = frozenset({"SHA-1", "MD5", "crypt"})
_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_NEVER = "1970-01-01T00:00:00.000Z"


def _hash_password(password: str) -> str:
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((salt + password).encode()).hexdigest()
    return f"{salt}${digest}"


def user_view(
    tenant: Tenant, user: User, *, projection: str = "basic", public: bool = False
) -> dict[str, Any]:
    data = user.data
    name = dict(data.get("name") or {})
    name["fullName"] = f"{name.get('givenName', '')} {name.get('familyName', '')}".strip()
    if public:
        return {
            "kind": "admin#directory#user",
            "id": user.user_id,
            "primaryEmail": data["primaryEmail"],
            "name": name,
            "emails": [{"address": data["primaryEmail"], "primary": True}],
        }
    digest = hashlib.sha1(repr(sorted(data.items())).encode(), usedforsecurity=False)
    view: dict[str, Any] = {
        "kind": "admin#directory#user",
        "id": user.user_id,
        "etag": f'"{digest.hexdigest()[:27]}"',
        "isAdmin": user.is_admin,
        "isDelegatedAdmin": False,
        "lastLoginTime": _NEVER,
        "creationTime": rfc3339(user.created),
        "agreedToTerms": False,
        "suspended": False,
        "archived": False,
        "changePasswordAtNextLogin": False,
        "ipWhitelisted": False,
        "includeInGlobalAddressList": True,
        "isMailboxSetup": True,
        "isEnrolledIn2Sv": False,
        "isEnforcedIn2Sv": False,
        "customerId": tenant.customer_id,
        "orgUnitPath": "/",
    }
    view.update({k: v for k, v in data.items() if k not in _SECRET})
    view["name"] = name
    view.setdefault("emails", [{"address": data["primaryEmail"], "primary": True}])
    if view.get("suspended"):
        view["suspensionReason"] = "ADMIN"
    if projection == "basic":
        view.pop("customSchemas", None)
    if user.deleted is not None:
        view["deletionTime"] = rfc3339(user.deleted)
    return view


# ---------------------------------------------------------------------------- checks
def _check_names(body: dict[str, Any]) -> None:
    name = body.get("name")
    if name is None:
        return
    for key, label in (("givenName", "GivenName"), ("familyName", "FamilyName")):
        value = name.get(key)
        if key in name and (not value or len(str(value)) > 60):
            raise ApiError(400, "invalid", f"Invalid Given/Family Name: {label}")


def _check_password(body: dict[str, Any]) -> str | None:
    if "password" not in body:
        return None
    password = str(body.get("password") or "")
    hashed = body.get("hashFunction")
    if hashed is not None and hashed not in _HASH_FUNCTIONS:
        raise ApiError(400, "invalid", "Invalid Input: hashFunction (SHA-1, MD5 or crypt)")
    if hashed is None and not 8 <= len(password) <= 100:
        raise ApiError(400, "invalid", "Invalid Password")
    return _hash_password(password)


def _check_email(tenant: Tenant, email: str) -> None:
    if not _EMAIL.match(email):
        raise ApiError(400, "invalid", "Invalid Input: primary_user_email")
    if email.rpartition("@")[2].lower() != tenant.domain.lower():
        raise ApiError(
            400, "invalid", f"Domain not found: {email.rpartition('@')[2]} is not {tenant.domain}"
        )


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in READ_ONLY and k not in _SECRET}


def _not_propagated(tenant: Tenant, user: User) -> None:
    if tenant.clock.now() < user.created + tenant.behaviour.user_propagation_seconds:
        raise ApiError(412, "conditionNotMet", "User creation is not complete.")


# ---------------------------------------------------------------------------- handlers
def _insert(call: Call) -> dict[str, Any]:
    tenant, body = call.tenant, dict(call.body or {})
    email = str(body["primaryEmail"])
    _check_email(tenant, email)
    _check_names(body)
    password_hash = _check_password(body) or ""
    ou = tenant.orgunits.get(str(body.get("orgUnitPath") or "/"))
    if tenant.users.find(email) is not None:
        raise ApiError(409, "duplicate", "Entity already exists.")
    data = _writable(body)
    data["primaryEmail"] = email
    data["name"] = {k: v for k, v in dict(body["name"]).items() if k != "fullName"}
    data["orgUnitPath"] = ou.path
    user = User(
        user_id=tenant.new_user_id(),
        data=data,
        ou_id=ou.ou_id,
        created=tenant.clock.now(),
        password_hash=password_hash,
    )
    tenant.users.add(user)
    tenant.touch()
    return user_view(tenant, user, projection="full")


def _get(call: Call) -> dict[str, Any]:
    user = call.tenant.users.get(call.params["userKey"])
    return user_view(
        call.tenant,
        user,
        projection=call.params.get("projection", "basic"),
        public=call.params.get("viewType") == "domain_public",
    )


def _patch(call: Call) -> dict[str, Any]:
    tenant, body = call.tenant, dict(call.body or {})
    user = tenant.users.get(call.params["userKey"])
    _not_propagated(tenant, user)
    _check_names(body)
    password_hash = _check_password(body)
    if password_hash is not None:
        user.password_hash = password_hash
    email = body.get("primaryEmail")
    if email and str(email).lower() != user.email:
        _check_email(tenant, str(email))
        tenant.users.rename(user, str(email))
    if body.get("orgUnitPath"):
        tenant.users.move(user, tenant.orgunits.get(str(body["orgUnitPath"])))
    for key, value in _writable(body).items():
        if key in {"primaryEmail", "orgUnitPath"}:
            continue
        if value is None:
            user.data.pop(key, None)
        elif key == "name":
            merged = {**user.data.get("name", {}), **value}
            user.data["name"] = {
                k: v for k, v in merged.items() if k != "fullName" and v is not None
            }
        else:
            user.data[key] = value
    tenant.touch()
    return user_view(tenant, user, projection="full")


def _delete(call: Call) -> None:
    tenant = call.tenant
    user = tenant.users.get(call.params["userKey"])
    _not_propagated(tenant, user)
    if user.is_admin and user.email == tenant.admin.lower():
        raise ApiError(
            400, "invalid", "Invalid Input: the sandbox will not delete the tenant's own admin"
        )
    tenant.users.delete(user, tenant.clock.now())
    tenant.touch()


def _undelete(call: Call) -> None:
    tenant = call.tenant
    key = call.params["userKey"]
    user = tenant.users.deleted.get(key)
    if user is None:
        user = next((u for u in tenant.users.deleted.values() if u.email == key.lower()), None)
    if user is None or user.deleted is None:
        raise not_found("userKey")
    if tenant.clock.now() > user.deleted + tenant.behaviour.undelete_window_seconds:
        del tenant.users.deleted[user.user_id]
        raise not_found("userKey")
    if tenant.users.find(user.email) is not None:
        raise ApiError(409, "duplicate", "Entity already exists.")
    ou = tenant.orgunits.get(str((call.body or {}).get("orgUnitPath") or "/"))
    tenant.users.undelete(user, ou)
    tenant.touch()


def _list(call: Call) -> dict[str, Any]:
    tenant, params = call.tenant, call.params
    customer, domain = params.get("customer"), params.get("domain")
    if not customer and not domain:
        raise ApiError(400, "badRequest", "Bad Request")
    if customer:
        tenant.check_customer(str(customer))
    if domain and str(domain).lower() != tenant.domain.lower():
        raise ApiError(400, "invalid", f"Domain not found: {domain}")
    token = PageToken.read(params, "directory.users.list")
    query = parse_user_query(params.get("query"))
    limit = int(params.get("maxResults", 100))
    order_by = params.get("orderBy", "email")
    descending = params.get("sortOrder") == "DESCENDING"
    show_deleted = str(params.get("showDeleted", "")).lower() == "true"
    top = (
        tenant.orgunits.root
        if query.org_unit_path is None
        else tenant.orgunits.get(query.org_unit_path)
    )
    ou_ids = tenant.orgunits.subtree(top.ou_id)
    cursor = token.cursor if token else None
    page: list[User]
    next_cursor: Any = None
    if order_by == "email" and not descending and not show_deleted:
        page = []
        for user in tenant.users.iter_after(ou_ids, cursor):
            if query.predicates and not query.matches(user.data):
                continue
            if len(page) == limit:
                next_cursor = page[-1].email
                break
            page.append(user)
    else:
        page, next_cursor = _sorted_page(
            tenant, ou_ids, query, order_by, descending, show_deleted, cursor, limit
        )
    projection = params.get("projection", "basic")
    public = params.get("viewType") == "domain_public"
    body: dict[str, Any] = {"kind": "admin#directory#users", "etag": '"users"'}
    if page:
        body["users"] = [user_view(tenant, u, projection=projection, public=public) for u in page]
    if next_cursor is not None:
        body["nextPageToken"] = PageToken.write(params, "directory.users.list", next_cursor)
    return body


def _sorted_page(
    tenant: Tenant,
    ou_ids: list[str] | None,
    query: Any,
    order_by: str,
    descending: bool,
    show_deleted: bool,
    cursor: Any,
    limit: int,
) -> tuple[list[User], Any]:
    pool = tenant.users.deleted.values() if show_deleted else tenant.users.by_id.values()
    wanted = set(ou_ids) if ou_ids is not None else None
    matches = [u for u in pool if (wanted is None or u.ou_id in wanted) and query.matches(u.data)]

    def key(user: User) -> tuple[str, str]:
        name = user.data.get("name") or {}
        field = {"givenName": name.get("givenName"), "familyName": name.get("familyName")}
        return (str(field.get(order_by) or user.email).lower(), user.user_id)

    keyed = sorted(((key(u), u) for u in matches), key=lambda pair: pair[0], reverse=descending)
    start = 0
    if cursor is not None:
        mark = (str(cursor[0]), str(cursor[1]))
        start = next(
            (i for i, (k, _) in enumerate(keyed) if (k < mark if descending else k > mark)),
            len(keyed),
        )
    chunk = keyed[start : start + limit]
    more = start + limit < len(keyed)
    return [u for _, u in chunk], (list(chunk[-1][0]) if more and chunk else None)


HANDLERS = {
    "directory.users.insert": _insert,
    "directory.users.get": _get,
    "directory.users.list": _list,
    "directory.users.patch": _patch,
    "directory.users.update": _patch,
    "directory.users.delete": _delete,
    "directory.users.undelete": _undelete,
}
