"""What a loan desk can tell fleetsync, and what each event does to the ledger.

Each event is a Standard Webhooks payload, ``{"type": ..., "timestamp": ..., "data": {...}}``,
validated by the model of its ``type``. A device is named by its serial or its asset tag (exactly
one; matched exactly, in any case, never by prefix). Unknown fields are refused rather than
ignored: a misspelt ``needs_data`` silently read as false would lend a wifi device to someone
without internet at home.

Each event applies the one business function of its action (``fleetsync.services``), the same
the command line uses, as ``webhook:<desk>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from sqlalchemy.orm import Session

from fleetsync import services
from fleetsync.domain.contacts import contact
from fleetsync.domain.lifecycle import Condition
from fleetsync.services import reservations

__all__ = [
    "EVENTS",
    "EVENT_TYPES",
    "Applied",
    "DeviceFound",
    "DeviceReportedLost",
    "Event",
    "LoanCheckedOut",
    "LoanDeskEvent",
    "LoanExtended",
    "LoanRef",
    "LoanReturned",
    "ReservationCancelled",
    "ReservationCreated",
]


def _printable(value: str) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it in text) have no place in a
    # serial, a name or a note.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value if c not in "\t\n"):
        raise ValueError("contains control characters")
    return value


Text = Annotated[str, AfterValidator(_printable)]
#: ``L-88`` or ``88``.
LoanRef = Annotated[
    str, Field(pattern=r"^(?:[Ll]-)?[0-9]{1,9}$", examples=["L-88"], description="A loan id.")
]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _exactly_one(*names: str) -> Callable[[dict[str, Any]], None]:
    """JSON Schema for "exactly one of these fields", which the model's validator enforces:
    each is a string or object when given (never null), and one of them is required."""

    def amend(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            field.pop("default", None)
            given = [branch for branch in field.pop("anyOf", []) if branch != {"type": "null"}]
            if given:
                field.update(given[0])
        schema["oneOf"] = [{"required": [name]} for name in names]

    return amend


class DeviceRef(_Data):
    """A device, by ``serial`` or by ``asset_tag`` (exactly one)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("serial", "asset_tag"))

    serial: Text | None = Field(None, min_length=1, max_length=64, examples=["5CD1234XYZ"])
    asset_tag: Text | None = Field(None, min_length=1, max_length=64, examples=["CB-0001"])

    @model_validator(mode="after")
    def _one_of(self) -> DeviceRef:
        if (self.serial is None) == (self.asset_tag is None):
            raise ValueError("name the device by exactly one of serial or asset_tag")
        return self

    @property
    def ref(self) -> str:
        ref = self.serial or self.asset_tag
        assert ref is not None
        return ref


class Borrower(_Data):
    id: Text = Field(
        min_length=1, max_length=64, examples=["B-1017"], description="The desk's borrower id."
    )
    given_name: Text = Field(max_length=120, examples=["Ayşe"])
    family_name: Text = Field("", max_length=120, examples=["Öztürk"])
    region: Text = Field(min_length=1, max_length=64, examples=["Antwerpen"])


class ContactData(_Data):
    """How to reach the borrower outside their Workspace mailbox (all optional): kept sealed,
    shown to the desk on overdue lists, erased with the borrower's other personal data."""

    phone: Text | None = Field(None, max_length=32, examples=["+32 470 12 34 56"])
    email: Text | None = Field(
        None, max_length=254, examples=["ayse@example.net"], description="Outside Workspace."
    )
    language: Literal["nl", "en"] | None = Field(
        None, description="The language of fleetsync's messages to the borrower (default nl)."
    )


class Agreement(_Data):
    """The loan agreement the borrower signed at the desk."""

    version: Text = Field(min_length=1, max_length=40, examples=["2026-09"])
    signed: bool = Field(description="The borrower signed this version.")


class CheckedOutData(_Data):
    device: DeviceRef
    borrower: Borrower
    contact: ContactData | None = None
    agreed_end: date | None = Field(
        None,
        description="The agreed last day of the loan: today at the earliest (a one-day loan). "
        "Without it: the course period's last day plus `[loans] grace_days`.",
    )
    needs_data: bool = Field(
        False, description="The borrower has no internet at home: the device must be 4G."
    )
    course_period: Text | None = Field(
        None,
        max_length=100,
        examples=["2026 Sept-Oct"],
        description="The course period's name (`fleetsync course list`): an unknown one is "
        "refused (422 unknown_course, listing the known ones). Without it: the course period of "
        "the borrower's region that contains today, if any.",
    )
    same_person: bool = Field(
        False,
        description="The borrower id is known with other names, and the desk confirms that "
        "this is the same person (a name corrected or changed): the names are updated. "
        "Without it such a checkout is refused (409 borrower_names_differ).",
    )
    agreement: Agreement | None = Field(
        None,
        description="The loan agreement accepted (`[agreement] version`): recorded with the "
        "loan. Required when `[agreement] required`; an outdated version is refused "
        "(409 agreement_required).",
    )


class ReturnedData(_Data):
    device: DeviceRef
    condition: Literal["ok", "damaged"] = "ok"
    note: Text | None = Field(None, max_length=500, examples=["hinge cracked"])


class ExtendedData(_Data):
    """The loan, by its id or by its device (exactly one)."""

    model_config = ConfigDict(json_schema_extra=_exactly_one("loan", "device"))

    loan: LoanRef | None = None
    device: DeviceRef | None = None
    agreed_end: date = Field(description="The new agreed last day; later than the current one.")
    reason: Text | None = Field(None, max_length=500, examples=["the course runs longer"])

    @model_validator(mode="after")
    def _one_of(self) -> ExtendedData:
        if (self.loan is None) == (self.device is None):
            raise ValueError("name the loan by exactly one of loan or device")
        return self


class DeviceReportData(_Data):
    device: DeviceRef
    reason: Text | None = Field(None, max_length=500, examples=["stolen from the borrower's car"])


#: ``R-12`` or ``12``.
ReservationRef = Annotated[
    str,
    Field(pattern=r"^(?:[Rr]-)?[0-9]{1,9}$", examples=["R-12"], description="A reservation id."),
]


class ReservationData(_Data):
    borrower: Borrower
    course_period: Text = Field(
        min_length=1,
        max_length=100,
        examples=["2026 Nov-Dec"],
        description="The course period they registered for (`fleetsync course list`): an "
        "unknown one is refused (422 unknown_course, listing the known ones).",
    )
    needs_data: bool = Field(False, description="No internet at home: they will need a 4G device.")


class CancelReservationData(_Data):
    reservation: ReservationRef
    reason: Text = Field(min_length=1, max_length=500, examples=["moved to another city"])


@dataclass(frozen=True, slots=True)
class Applied:
    """What an event did: the device's serial and the loan it concerned (if any), or the
    reservation."""

    serial: str | None
    loan: str | None
    reservation: str | None = None


_DEVICE: dict[str, Any] = {"serial": "5CD1234XYZ"}


def _example(event: dict[str, Any]) -> ConfigDict:
    """The event's example, shown in the OpenAPI document."""
    return ConfigDict(json_schema_extra={"examples": [event]})


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp: datetime | None = Field(None, description="When it happened at the desk.")


class LoanCheckedOut(_Event):
    """A spare device was lent. A borrower new to fleetsync gets a Workspace account; its first
    password waits for the desk (``POST /v1/loans/{loan_id}/credentials``)."""

    model_config = _example(
        {
            "type": "loan.checked_out",
            "timestamp": "2026-09-01T09:30:00Z",
            "data": {
                "device": _DEVICE,
                "borrower": {
                    "id": "B-1017",
                    "given_name": "Ayşe",
                    "family_name": "Öztürk",
                    "region": "Antwerpen",
                },
                "agreed_end": "2026-11-30",
                "needs_data": True,
                "course_period": "2026 Sept-Oct",
            },
        }
    )
    type: Literal["loan.checked_out"]
    data: CheckedOutData

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        d = self.data
        result = services.checkout(
            session,
            device=d.device.ref,
            borrower=d.borrower.id,
            given_name=d.borrower.given_name,
            family_name=d.borrower.family_name,
            region=d.borrower.region,
            until=d.agreed_end,
            needs_data=d.needs_data,
            course_period=d.course_period,
            same_person=d.same_person,
            contact=None
            if d.contact is None
            else contact(phone=d.contact.phone, email=d.contact.email, language=d.contact.language),
            programme=programme,
            actor=actor,
            agreement_signed=d.agreement is not None and d.agreement.signed,
            agreement_version=None if d.agreement is None else d.agreement.version,
        )
        return Applied(result.serial, result.loan)


class LoanReturned(_Event):
    """The borrower brought the device back: the loan ends, the account is suspended, the
    device is powerwashed and becomes spare once the powerwash executed."""

    model_config = _example(
        {
            "type": "loan.returned",
            "data": {"device": {"asset_tag": "CB-0001"}, "condition": "damaged"},
        }
    )
    type: Literal["loan.returned"]
    data: ReturnedData

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        change = services.return_device(
            session,
            device=self.data.device.ref,
            condition=Condition(self.data.condition),
            note=self.data.note,
            actor=actor,
        )
        return Applied(change.serial, change.loan)


class LoanExtended(_Event):
    """The loan's agreed end moves later."""

    model_config = _example(
        {
            "type": "loan.extended",
            "data": {"loan": "L-88", "agreed_end": "2026-12-20", "reason": "exam resit"},
        }
    )
    type: Literal["loan.extended"]
    data: ExtendedData

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        d = self.data
        extension = services.extend_loan(
            session,
            loan=d.loan,
            device=None if d.device is None else d.device.ref,
            until=d.agreed_end,
            reason=d.reason,
            actor=actor,
        )
        return Applied(extension.serial, extension.loan)


class _DeviceReport(_Event):
    """A report about a device (lost, found), applied by the business function of its type."""

    data: DeviceReportData
    action: ClassVar[Callable[..., services.DeviceChange]]

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        change = self.action(
            session, device=self.data.device.ref, reason=self.data.reason, actor=actor
        )
        return Applied(change.serial, change.loan)


class DeviceReportedLost(_DeviceReport):
    """The device is missing: a loan it was on ends (condition ``lost``), the account is
    suspended and the device disabled in Google."""

    model_config = _example(
        {"type": "device.reported_lost", "data": {"device": _DEVICE, "reason": "stolen"}}
    )
    type: Literal["device.reported_lost"]
    action = staticmethod(services.mark_lost)


class DeviceFound(_DeviceReport):
    """A lost device turned up: it is powerwashed before anyone gets it again."""

    model_config = _example(
        {"type": "device.found", "data": {"device": _DEVICE, "reason": "handed in"}}
    )
    type: Literal["device.found"]
    action = staticmethod(services.mark_found)


class ReservationCreated(_Event):
    """A person registered for a course period needs a device: demand, never a particular
    device. The answer names the reservation (``R-12``); a checkout of that borrower for that
    course period fulfils it."""

    model_config = _example(
        {
            "type": "reservation.created",
            "data": {
                "borrower": {"id": "B-2040", "given_name": "Samir", "region": "Antwerpen"},
                "course_period": "2026 Nov-Dec",
                "needs_data": True,
            },
        }
    )
    type: Literal["reservation.created"]
    data: ReservationData

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        d = self.data
        view = reservations.add_reservation(
            session,
            borrower=d.borrower.id,
            given_name=d.borrower.given_name,
            family_name=d.borrower.family_name,
            region=d.borrower.region,
            course=d.course_period,
            needs_data=d.needs_data,
            programme=programme,
            actor=actor,
        )
        return Applied(None, None, view.reservation)


class ReservationCancelled(_Event):
    """An open reservation is withdrawn (the person will not come, or has a device)."""

    model_config = _example(
        {
            "type": "reservation.cancelled",
            "data": {"reservation": "R-12", "reason": "moved to another city"},
        }
    )
    type: Literal["reservation.cancelled"]
    data: CancelReservationData

    def apply(self, session: Session, *, programme: services.Programme, actor: str) -> Applied:
        view = reservations.cancel_reservation(
            session, reservation=self.data.reservation, reason=self.data.reason, actor=actor
        )
        return Applied(None, None, view.reservation)


Event = (
    LoanCheckedOut
    | LoanReturned
    | LoanExtended
    | DeviceReportedLost
    | DeviceFound
    | ReservationCreated
    | ReservationCancelled
)
LoanDeskEvent = Annotated[Event, Field(discriminator="type")]
EVENTS: TypeAdapter[Event] = TypeAdapter(LoanDeskEvent)
EVENT_TYPES: tuple[str, ...] = (
    "loan.checked_out",
    "loan.returned",
    "loan.extended",
    "device.reported_lost",
    "device.found",
    "reservation.created",
    "reservation.cancelled",
)
