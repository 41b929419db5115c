"""The words the pages show for the ledger's values (states, steps, roles), marked for the
message catalogues with :func:`N_` and translated where they are shown (``_(label)``)."""

from __future__ import annotations

__all__ = ["ACCOUNT", "CONDITIONS", "CONNECTIVITY", "N_", "ROLES", "STATES", "STEPS", "STEP_STATES"]


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, translate later"
    return message


STATES = {
    "spare": N_("Spare"),
    "on_loan": N_("On loan"),
    "in_refurbishment": N_("In refurbishment"),
    "lost": N_("Lost"),
    "retired": N_("Retired"),
    "ict_test": N_("ICT test"),
}
CONNECTIVITY = {"wifi": N_("Wi-Fi"), "4g": N_("4G")}
ROLES = {"clerk": N_("clerk"), "technician": N_("technician"), "admin": N_("admin")}
CONDITIONS = {"ok": N_("in good order"), "damaged": N_("damaged"), "lost": N_("lost")}
ACCOUNT = {
    "none": N_("no account"),
    "active": N_("active"),
    "suspended": N_("suspended"),
    "deleted": N_("deleted"),
}
STEPS = {
    "account_created": N_("Account created"),
    "device_moved": N_("Device moved"),
    "device_annotated": N_("Device annotated"),
    "policies_in_place": N_("Policies in place"),
    "account_suspended": N_("Account suspended"),
    "powerwash_issued": N_("Powerwash sent"),
    "powerwash_executed": N_("Powerwash executed"),
    "device_ready": N_("Device ready"),
    "device_disabled": N_("Device disabled"),
}
STEP_STATES = {
    "done": N_("done"),
    "waiting": N_("waiting"),
    "failed": N_("failed"),
    "not_needed": N_("not needed"),
}
