"""The loan agreement: what the borrower accepts before they receive a device (the period, how
and when to return it).

``[agreement]`` names its current ``version``, a Markdown ``text_file`` with placeholders, and
whether a checkout ``required``-ly records it. A checkout records the version accepted and the
moment; :func:`agreement_page` fills the text in for one loan as a self-contained printable HTML
page (A4, signature lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path

from sqlalchemy.orm import Session

from fleetsync.domain.errors import AgreementRequired, InvalidInput
from fleetsync.services._effects import local_date
from fleetsync.services.desks import loan_for
from fleetsync.services.programme import Programme

__all__ = ["PLACEHOLDERS", "AgreementPage", "accepted_version", "agreement_page"]

PLACEHOLDERS = (
    "borrower", "given_name", "family_name", "serial", "asset_tag", "loan", "checked_out",
    "agreed_end", "course", "return_address",
)  # fmt: skip
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Markdown's punctuation, escaped in a filled-in value: a name is text, never markup.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def accepted_version(programme: Programme, *, version: str | None, signed: bool) -> str | None:
    """The agreement version a checkout records (``None``: none accepted), or a refusal: when
    ``[agreement] required``, without the current version accepted; any time, an accepted version
    that is not the current one."""
    config = programme.agreement
    current = config.version
    if not signed:
        if config.required:
            raise AgreementRequired(
                f"the borrower must accept the loan agreement (version {current}) before they "
                "receive a device: have them sign it, then check out with --agreement-signed "
                f'(the webhook: "agreement": {{"version": "{current}", "signed": true}})',
                params={"version": current or ""},
            )
        return None
    if current is None:
        raise InvalidInput(
            "no loan agreement is configured ([agreement] version and text_file), so none can "
            "be recorded as signed; leave --agreement-signed out, or configure the agreement",
            variant="no_agreement",
        )
    if version is not None and version.strip() != current:
        raise AgreementRequired(
            f"the borrower accepted agreement version {version.strip()}, which is outdated: the "
            f"current version is {current}; have them sign version {current} "
            "(`fleetsync loan agreement LOAN` prints it) and check out again",
            params={"version": current},
            variant="outdated",
        )
    return current


@dataclass(frozen=True, slots=True)
class AgreementPage:
    loan: str
    version: str
    html: str


def _text(path: Path | None) -> str:
    if path is None:
        raise InvalidInput(
            "no loan agreement text is configured: set [agreement] text_file (Markdown)",
            variant="agreement_text",
        )
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the loan agreement's text_file {path}: {exc.strerror}; check "
            "[agreement] text_file",
            variant="agreement_text",
        ) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"the loan agreement's text_file {path} is not UTF-8 text", variant="agreement_text"
        ) from None


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``{placeholder}`` replaced by its value (Markdown-escaped); an unknown
    placeholder is refused, naming the known ones."""
    unknown = sorted({m[1] for m in _PLACEHOLDER.finditer(text)} - set(values))
    if unknown:
        raise InvalidInput(
            f"the loan agreement's text has unknown placeholder(s) {', '.join(unknown)}; the "
            f"placeholders are {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
            variant="agreement_text",
        )
    return _PLACEHOLDER.sub(lambda m: _MARKDOWN.sub(r"\\\1", values[m[1]]), text)


_CSS = """
@page { size: A4; margin: 20mm 18mm; }
body { font: 11pt/1.5 "DejaVu Serif", Georgia, serif; color: #000; max-width: 170mm;
       margin: 12mm auto; }
h1, h2, h3 { font-family: "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 18pt; margin: 0 0 4mm; }
.meta { font-size: 9pt; color: #333; border-bottom: 1px solid #999; padding-bottom: 2mm; }
.signatures { display: flex; gap: 16mm; margin-top: 18mm; break-inside: avoid;
              page-break-inside: avoid; }
.signatures div { flex: 1; }
.line { border-bottom: 1px solid #000; height: 16mm; }
.caption { font-size: 9pt; margin-top: 1mm; }
@media print { body { margin: 0; } }
"""


def agreement_page(
    session: Session,
    *,
    loan: str,
    programme: Programme,
    actor: str,
    now: datetime,
    all_desks: bool = False,
) -> AgreementPage:
    """The loan agreement filled in for ``loan`` (as ``actor`` may see it; ``all_desks``: a desk
    admin): one self-contained HTML page to print on A4 and sign."""
    found = loan_for(session, loan, actor=actor, all_desks=all_desks)
    config = programme.agreement
    version = config.version or "-"
    person = found.borrower
    device = found.device
    values = {
        "borrower": person.desk_id,
        "given_name": person.given_name or "",
        "family_name": person.family_name or "",
        "serial": device.serial,
        "asset_tag": device.asset_tag or "",
        "loan": found.ref,
        "checked_out": local_date(found.checked_out_at).isoformat(),
        "agreed_end": found.agreed_end.isoformat(),
        "course": found.course_period or "",
        "return_address": config.return_address,
    }
    # Imported here: every command that opens the ledger imports fleetsync.services, and
    # markdown-it costs each of them 50 ms at start-up (tests/cli/test_startup.py).
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).render(fill(_text(config.text_file), values))
    name = f"{values['given_name']} {values['family_name']}".strip() or person.desk_id
    signed = (
        f"accepted version {escape(found.agreement_version)} on "
        f"{local_date(found.agreement_signed_at).isoformat()}"
        if found.agreement_version and found.agreement_signed_at
        else "not recorded as accepted at checkout"
    )
    notice = (
        f"<p><strong>This loan was accepted under version {escape(found.agreement_version)}; "
        f"the text below is version {escape(version)}.</strong></p>"
        if found.agreement_version and found.agreement_version != version
        else ""
    )
    html = "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="nl">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{escape(found.ref)}: loan agreement</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            '<p class="meta">'
            f"Loan {escape(found.ref)} &middot; agreement version {escape(version)} &middot; "
            f"{signed} &middot; printed {local_date(now).isoformat()}</p>",
            notice,
            "<main>",
            body,
            "</main>",
            '<section class="signatures">',
            f'<div><div class="line"></div><p class="caption">{escape(name)} '
            f"({escape(person.desk_id)}): date and signature</p></div>",
            '<div><div class="line"></div><p class="caption">For the programme: name, date and '
            "signature</p></div>",
            "</section>",
            "</body>",
            "</html>",
            "",
        ]
    )
    return AgreementPage(found.ref, version, html)
