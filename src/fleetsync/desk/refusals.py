"""The business actions' refusals in the reader's language.

The services refuse in English, for the command line, the API and the logs, naming commands a
clerk never types. Each refusal a clerk meets at the desk carries a stable key (its ``code``, and
``code:variant`` where one code has several reasons) and its facts (``params``): the desk words it
from the catalogue below, in Dutch or English, with dates and numbers in the language's formats.
A refusal without a wording here (or without the facts its wording names) is shown as the
services gave it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from fleetsync.desk import labels
from fleetsync.desk.i18n import Language
from fleetsync.desk.labels import N_
from fleetsync.domain.errors import FleetsyncError, Param

__all__ = ["MESSAGES", "words"]

#: The refusal's key → its wording, with the refusal's facts as ``%(name)s``.
MESSAGES: dict[str, str] = {
    # The lifecycle: a device's state does not allow the action.
    "device_state": N_("Device %(serial)s cannot do this now: it is “%(state)s”."),
    "device_state:checkout": N_("Device %(serial)s cannot be lent: it is “%(state)s”."),
    "device_state:return": N_(
        "Device %(serial)s is not on loan (it is “%(state)s”): there is no loan to take back."
    ),
    "device_state:extend": N_(
        "Device %(serial)s is not on loan (it is “%(state)s”): there is no loan to extend."
    ),
    "device_state:lost": N_("Device %(serial)s cannot be reported lost: it is “%(state)s”."),
    "device_state:ready": N_(
        "Device %(serial)s cannot be marked ready: it is “%(state)s” (only a device in "
        "refurbishment can)."
    ),
    # Lending.
    "not_lendable": N_(
        "Device %(serial)s cannot be lent: Google has not confirmed it as an active Chromebook "
        "of the programme. Lend another device, and show this one to a technician."
    ),
    "region": N_(
        "Device %(serial)s belongs to region %(device_region)s and borrower %(borrower)s to "
        "%(region)s: lend a device of %(region)s, or have a technician move this one."
    ),
    "connectivity": N_(
        "Borrower %(borrower)s needs mobile data, but device %(serial)s is Wi-Fi only: lend a "
        "4G device."
    ),
    "borrower_has_loan": N_(
        "Borrower %(borrower)s already has device %(serial)s on loan (loan %(loan)s): take it "
        "back before lending another one."
    ),
    "borrower_has_loan:elsewhere": N_(
        "Borrower %(borrower)s already has a device on loan at another desk: it must be "
        "returned (or reported lost) there first."
    ),
    "borrower_names_differ": N_(
        "Borrower %(borrower)s is known with other names. If this is the same person (a name "
        "corrected or changed), tick the box and lend again; if not, give this borrower an id "
        "of their own."
    ),
    "account_being_deleted": N_(
        "The previous account of borrower %(borrower)s is being deleted right now: nothing was "
        "recorded. Lend again in a few minutes; the borrower gets a new account."
    ),
    "agreement_required": N_(
        "The borrower signs the loan agreement (version %(version)s) before they receive a "
        "device: have them sign it, then tick the box."
    ),
    "agreement_required:outdated": N_(
        "The borrower signed an outdated loan agreement: have them sign version %(version)s."
    ),
    "invalid_input:end_before_today": N_(
        "The agreed end (%(end)s) is before today: give the loan's last day, today at the earliest."
    ),
    "invalid_input:region": N_("There is no region %(region)s: choose one of %(regions)s."),
    "invalid_input:borrower_id": N_(
        "%(borrower)s is not a borrower id: letters, digits and . _ : / -, at most 64 (e.g. "
        "B-1017)."
    ),
    "invalid_input:no_name": N_("Give borrower %(borrower)s a given name or a family name."),
    "invalid_input:name_too_long": N_("A name is at most %(max)s characters long."),
    "invalid_input:name_control": N_("A name cannot contain control characters."),
    "invalid_input:too_long": N_(
        "The text is %(length)s characters long: keep it under %(max)s characters."
    ),
    "invalid_input:lost_not_returned": N_(
        "A lost device is not taken back: report it lost instead."
    ),
    "invalid_input:no_device_ref": N_("Give a device's serial or asset tag."),
    "invalid_input:ambiguous_ref": N_(
        "%(ref)s is the serial of device %(serial)s and the asset tag of device %(other)s: give "
        "the serial of the device you mean."
    ),
    "invalid_input:loan_id": N_("%(loan)s is not a loan id: loan ids look like L-88."),
    "invalid_input:no_agreement": N_(
        "No loan agreement is configured, so none can be recorded as signed: leave the box "
        "unticked, or have an administrator configure the agreement."
    ),
    "invalid_input:agreement_text": N_(
        "The loan agreement's text cannot be used: an administrator checks its configuration "
        "([agreement] text_file)."
    ),
    "invalid_input:device_or_loan": N_("Name the loan by its device or by its id, not both."),
    # The loan.
    "loan_not_extended": N_(
        "Loan %(loan)s already runs until %(end)s: the new end must be later (to end the loan "
        "early, take the device back)."
    ),
    "loan_not_extended:ended": N_("Loan %(loan)s has ended: only an open loan is extended."),
    "loan_ended": N_(
        "Loan %(loan)s has ended: a first password is handed over while the loan is open."
    ),
    "already_collected": N_(
        "The first password of loan %(loan)s was handed over already (%(at)s)."
    ),
    "loan_ended:new_password": N_(
        "Loan %(loan)s has ended and the account of borrower %(borrower)s is suspended: a new "
        "first password is for the account of an open loan."
    ),
    "account_being_deleted:new_password": N_(
        "The account of borrower %(borrower)s is being deleted right now: no password was "
        "issued. Lend a device again in a few minutes; the new account gets its own first "
        "password."
    ),
    "refused:no_account": N_(
        "Borrower %(borrower)s has no active account: no password was issued."
    ),
    "refused:not_in_google": N_(
        "The account of borrower %(borrower)s is not in Google yet: it is created with the first "
        "password on this slip. Issue a new one once the account exists (the loan's progress "
        "shows it)."
    ),
    "not_found:device": N_(
        "No device has serial or asset tag %(ref)s (exactly: never the start of one)."
    ),
    "not_found:loan": N_("This desk has no loan %(loan)s."),
    "not_found:no_password": N_(
        "No first password is waiting for loan %(loan)s: the borrower's account existed "
        "already, or the password expired uncollected. Have it reset in the Google Admin "
        "console."
    ),
    "not_found:elsewhere": N_(
        "Device %(serial)s is on loan at another desk: that desk takes it back, extends the "
        "loan or reports it lost."
    ),
    # A technician's work.
    "powerwash_not_executed": N_(
        "Device %(serial)s cannot be marked ready yet: its powerwash has not executed (the "
        "device must be switched on and online)."
    ),
    "in_repair": N_("Device %(serial)s is in repair since %(since)s: the repair is closed first."),
    "device_state:no_repair": N_("Device %(serial)s has no open repair to close."),
    "powerwash_outstanding": N_(
        "Device %(serial)s is waiting for its powerwash already: wait until it has executed."
    ),
    "invalid_input:force_reason": N_(
        "Say why device %(serial)s may skip its powerwash: a reason is needed."
    ),
    "invalid_input:retire_reason": N_(
        "Retiring a device needs a reason (e.g. screen broken beyond repair)."
    ),
    "invalid_input:same_region": N_("Device %(serial)s already belongs to region %(region)s."),
    # Staff accounts.
    "refused:staff_exists": N_(
        "A staff account %(username)s exists already: give it a new password instead."
    ),
    "invalid_input:password_short": N_(
        "A staff password has at least %(min)s characters; leave it empty to have one generated."
    ),
    "not_found:staff": N_("There is no staff account %(username)s."),
    "invalid_input:desk_name": N_(
        "%(desk)s is not a desk name: lower-case letters, digits and . _ -, at most 64, not "
        "%(admin)s (e.g. antwerpen)."
    ),
    "invalid_input:username": N_(
        "A username is 1 to %(max)s lower-case letters, digits, “.”, “_” or “-”, beginning "
        "with a letter or a digit (e.g. ann.peeters)."
    ),
}


def words(language: Language, error: FleetsyncError) -> str:
    """``error`` worded in ``language``; its own (English) message when the catalogue has no
    wording for it."""
    message = MESSAGES.get(error.key)
    if message is None:
        return str(error)
    try:
        return language.gettext(message) % _formatted(language, error.params)
    except (KeyError, TypeError, ValueError):  # a fact the wording names is missing
        return str(error)


def _formatted(language: Language, params: Mapping[str, Param]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name, value in params.items():
        if name == "state" and isinstance(value, str) and value in labels.STATES:
            shown[name] = language.gettext(labels.STATES[value])
        elif isinstance(value, datetime):
            shown[name] = language.datetime(value)
        elif isinstance(value, date):
            shown[name] = language.date(value)
        elif isinstance(value, int):
            shown[name] = language.number(value)
        else:
            shown[name] = value
    return shown
