"""What each control-surface route accepts, typed: its JSON body and its query parameters.

A parameter the route does not take (``{"minutes": 10}`` sent where only seconds were read used
to be ignored), a value of the wrong type or out of range, is refused with a 400 that names it,
and the nearest parameter the route does take. Pydantic checks; :func:`refusal` words it.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fleetsync.sandbox.seed import STAGING

__all__ = [
    "BehaviourChange",
    "ClockAdvance",
    "DeviceCheckIn",
    "FailNext",
    "FaultsChange",
    "LogQuery",
    "MessagesQuery",
    "NoParams",
    "PresenceChange",
    "QuotasChange",
    "ScopesChange",
    "SeedDevices",
    "SeedUsers",
    "refusal",
]

Seconds = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
PerMinute = Annotated[int, Field(ge=1)] | None


class NoParams(BaseModel):
    """A JSON body: numbers are numbers and flags are true or false (no "10" for 10)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Query(BaseModel):
    """Query parameters arrive as text: converted, but still only the ones a route takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LogQuery(_Query):
    since: Annotated[int, Field(ge=0)] = 0
    method: str | None = None
    limit: Annotated[int, Field(ge=1, le=20_000)] = 1000


class MessagesQuery(_Query):
    #: Only the messages to this address.
    to: str | None = None


class ClockAdvance(NoParams):
    seconds: float = 0
    minutes: float = 0
    hours: float = 0
    days: float = 0

    @model_validator(mode="after")
    def _forward(self) -> Self:
        if min(self.seconds, self.minutes, self.hours, self.days) < 0:
            raise ValueError("the clock only moves forward (Google's does not go back either)")
        return self

    @property
    def total_seconds(self) -> float:
        return self.seconds + 60 * self.minutes + 3600 * self.hours + 86400 * self.days


class DeviceCheckIn(NoParams):
    #: Google's device ids or serial numbers, mixed as you like.
    device_ids: list[str] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_way_to_name_them(self) -> Self:
        if self.all == bool(self.device_ids):
            raise ValueError(
                'name the devices: {"device_ids": [ids or serial numbers]} or {"all": true}, '
                "not both"
            )
        return self


class PresenceChange(DeviceCheckIn):
    online: bool | None = None
    checkin_interval_seconds: Annotated[float, Field(gt=0)] | None = None
    forced_reenrollment: bool | None = None
    command_outcome: Literal["SUCCESS", "FAILURE", "IGNORED"] | None = None


class FailNext(NoParams):
    #: A method id (``directory.users.insert``); none: any method.
    method: str | None = None
    #: An HTTP error status, or 0: the call takes effect and its answer is lost.
    status: Annotated[int, Field(ge=0, le=599)] = 503
    count: Annotated[int, Field(ge=1)] = 1
    reason: str | None = None
    message: str | None = None

    @model_validator(mode="after")
    def _a_status_google_answers(self) -> Self:
        if self.status != 0 and self.status < 400:
            raise ValueError(f"status {self.status}: an error status (400-599), or 0 to drop")
        return self


class FaultsChange(NoParams):
    error_rate: Share | None = None
    error_statuses: list[Annotated[int, Field(ge=500, le=599)]] | None = None
    latency_ms: Seconds | None = None
    latency_jitter_ms: Seconds | None = None
    drop_rate: Share | None = None
    drop_after_processing: bool | None = None
    seed: int | None = None
    #: Only ``[]``: forget the planned failures (plan them with faults/fail-next).
    planned: list[None] | None = Field(default=None, max_length=0)


class QuotasChange(NoParams):
    queries_per_minute: PerMinute = None
    device_writes_per_minute: PerMinute = None
    policy_writes_per_minute: PerMinute = None
    max_concurrent_requests: PerMinute = None


class BehaviourChange(NoParams):
    checkin_interval_seconds: Annotated[float, Field(gt=0)] | None = None
    ack_delay_seconds: Seconds | None = None
    execute_delay_seconds: Seconds | None = None
    powerwash_execute_delay_seconds: Seconds | None = None
    command_expiry_seconds: Seconds | None = None
    powerwash_expiry_seconds: Seconds | None = None
    user_propagation_seconds: Seconds | None = None
    undelete_window_seconds: Seconds | None = None
    licences_available: Annotated[int, Field(ge=0)] | None = None


class ScopesChange(NoParams):
    scopes: list[str]


class SeedDevices(NoParams):
    count: Annotated[int, Field(ge=0, le=1_000_000)]
    org_unit_path: str = STAGING


class SeedUsers(NoParams):
    count: Annotated[int, Field(ge=0, le=1_000_000)]
    org_unit_path: str = "/Students"
    suspended: bool = False
    borrower_prefix: str | None = None


def changes(params: BaseModel) -> dict[str, Any]:
    """The settings a PATCH named (``null`` included: it may mean "unlimited")."""
    return {name: getattr(params, name) for name in params.model_fields_set}


def refusal(error: ValidationError, model: type[BaseModel], where: str) -> str:
    """What was wrong, in words: each parameter named, an unknown one with its nearest match."""
    accepted = sorted(model.model_fields)
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            near = get_close_matches(str(item["loc"][0]), accepted, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append(f"unknown parameter {name!r}{hint}")
        elif item["type"] == "missing":
            problems.append(f"missing parameter {name!r}")
        elif name:
            problems.append(f"{name}: {item['msg']} (got {item.get('input')!r})")
        else:
            problems.append(str(item["msg"]).removeprefix("Value error, "))
    takes = ", ".join(accepted) if accepted else "no parameters"
    return f"{where}: {'; '.join(problems)}. It takes: {takes}."
