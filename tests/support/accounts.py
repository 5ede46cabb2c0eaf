"""Reading account links where a person would find them: in the outbox row that mails them
(before the sender wipes it), or in the delivered message."""

from __future__ import annotations

import json
import re
from email.message import EmailMessage

from sqlalchemy import func, select

from app.db import open_session
from models.outbox import MailKind, OutboxMessage

LINK = re.compile(r"/(verify-email|reset-password)#([A-Za-z0-9_-]+)")


async def queued_token(email: str, kind: MailKind) -> str:
    """The secret of the newest queued `kind` message to `email`."""
    async with open_session() as session:
        row = (
            await session.execute(
                select(OutboxMessage)
                .where(
                    func.lower(OutboxMessage.recipient) == email.lower(),
                    OutboxMessage.kind == kind.value,
                )
                .order_by(OutboxMessage.id.desc())  # type: ignore[union-attr]
                .limit(1)
            )
        ).scalar_one()
    return str(json.loads(row.payload)["token"])


def token_in(message: EmailMessage) -> str:
    """The token of the link in a delivered message's plain text."""
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found is not None, "no link in the message"
    return found.group(2)
