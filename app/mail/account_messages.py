"""What the account messages say (confirm an address, reset a password, an email changed):
presentation, no SQL. Built like the event messages (app/mail/messages.py), which they
share the headers and the plain/HTML pair with, but about a person, not an event.

The links carry their token in the URL's fragment (`/verify-email#<token>`): browsers never
send a fragment, so the token never reaches a server's or a proxy's access log.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from app.mail.messages import one_line, sender_address
from models.outbox import ACCOUNT_KINDS, MailKind, MailStatus, OutboxMessage
from models.types import utcnow

log = logging.getLogger("app.mail")
SETTLED = {MailStatus.SENT.value, MailStatus.VOID.value, MailStatus.FAILED.value}

VERIFY_HOURS = 48
RESET_MINUTES = 30


@dataclass(frozen=True)
class AccountLetter:
    kind: MailKind
    to_email: str
    to_name: str
    token: str | None  # the secret of the link (verify, reset), or None (a notice)
    new_email: str | None = None  # for the notice of a change
    message_id: str | None = None


def link_of(letter: AccountLetter, public_url: str) -> str | None:
    base = public_url.rstrip("/")
    if letter.kind == MailKind.VERIFY and letter.token:
        return f"{base}/verify-email#{letter.token}"
    if letter.kind == MailKind.RESET and letter.token:
        return f"{base}/reset-password#{letter.token}"
    return None


def _texts(letter: AccountLetter, link: str | None, base: str) -> tuple[str, list[str], str]:
    """Subject, paragraphs, and the link's label."""
    match letter.kind:
        case MailKind.VERIFY:
            return (
                "Confirm your email",
                [
                    "Please confirm that this is your address: follow the link below.",
                    f"The link works once, for {VERIFY_HOURS} hours. Until you confirm, we "
                    "keep your tickets and event updates and send them afterwards.",
                    "If you did not create an account, ignore this message.",
                ],
                "Confirm my email",
            )
        case MailKind.RESET:
            return (
                "Reset your password",
                [
                    "Someone (we hope you) asked to reset the password of your account.",
                    f"The link works once, for {RESET_MINUTES} minutes; a newer request "
                    "replaces it.",
                    "If it was not you, ignore this message: your password stays as it is.",
                ],
                "Choose a new password",
            )
        case MailKind.EMAIL_CHANGED:
            new = one_line(letter.new_email or "a new address")
            return (
                "Your email address was changed",
                [
                    f"The email address of your account was changed to {new}.",
                    "If you did not do this, reset your password at once "
                    f"({base}/forgot-password) and check the account's address.",
                ],
                "",
            )
    raise ValueError(f"not an account message: {letter.kind!r}")


def build_account_message(
    letter: AccountLetter, *, mail_from: str, public_url: str
) -> EmailMessage:
    base = public_url.rstrip("/")
    link = link_of(letter, base)
    subject, paragraphs, label = _texts(letter, link, base)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender_address(mail_from)
    to_name = one_line(letter.to_name)
    username, _, domain = letter.to_email.partition("@")
    message["To"] = Address(display_name=to_name, username=username, domain=domain)
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"
    if letter.message_id:
        message["Message-ID"] = letter.message_id
    greeting = f"Hello {to_name}," if to_name else "Hello,"
    plain = [greeting, *paragraphs, *([f"{label}: {link}"] if link else [])]
    message.set_content("\n\n".join(plain) + "\n")
    body = "".join(f"<p>{html.escape(p)}</p>" for p in [greeting, *paragraphs])
    if link:
        body += f'<p><a href="{html.escape(link, quote=True)}">{html.escape(label)}</a></p>'
    message.add_alternative(f"<!doctype html><html><body>{body}</body></html>", subtype="html")
    return message


def account_letter(row: OutboxMessage, message_id: str) -> AccountLetter:
    """The letter of an account row of the outbox (its payload holds the link's secret
    until the row is settled; `forget_secret` then clears it)."""
    payload = json.loads(row.payload or "{}")
    return AccountLetter(
        kind=MailKind(row.kind),
        to_email=row.recipient,
        to_name=row.recipient_name,
        token=payload.get("token"),
        new_email=payload.get("new_email"),
        message_id=message_id,
    )


def log_link_in_development(row: OutboxMessage, public_url: str) -> None:
    """Without SMTP_URL (development) the link is logged, so it can be followed; with it,
    no token or link is ever logged (nothing else here logs one)."""
    if row.kind in ACCOUNT_KINDS:
        link = link_of(account_letter(row, ""), public_url)
        if link:
            log.info("mail %s not sent (no SMTP_URL): its link is %s", row.id, link)


def forget_secret(row: OutboxMessage, status: str | None) -> dict[str, str]:
    """The values that wipe a settled account row's secret (sent, void or given up): the
    database then keeps the link only as the hash in `account_tokens`."""
    if row.kind in ACCOUNT_KINDS and status in SETTLED:
        return {"payload": "{}"}
    return {}
