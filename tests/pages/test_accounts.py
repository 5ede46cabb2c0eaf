"""The account pages (UI.md, version 3): the banner while unverified, /verify-email,
/forgot-password, /reset-password, and the dashboard's email change, export and deletion."""

from __future__ import annotations

import json
import re

from nicegui import ui
from nicegui.testing import User
from sqlalchemy import func, select

from app.db import open_session
from app.services import users
from models.outbox import MailKind, OutboxMessage
from models.user import User as Account
from tests.fixtures import PASSWORD
from tests.support.accounts import queued_token
from tests.support.waiting import eventually

NEW_PASSWORD = "a brand new passphrase"


def fragment(visitor: User, token: str) -> None:
    """The simulated browser's `location.hash`, as a real one would read it from the link."""
    visitor.javascript_rules[re.compile(r".*location\.hash.*", re.S)] = lambda _: token


async def account(user_id: int) -> Account | None:
    async with open_session() as session:
        return await session.get(Account, user_id)


async def test_banner_while_unverified_and_send_the_link_again(
    verifying, visitor: User, sign_in, make_user
):
    me = await make_user()
    assert not me.email_verified
    first = await queued_token(me.email, MailKind.VERIFY)
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see("Confirm your email to get tickets and updates by mail")
    visitor.find(marker="resend-link").click()
    await visitor.should_see("We have sent a new link: check your inbox")
    assert await queued_token(me.email, MailKind.VERIFY) != first
    await visitor.open("/")  # every page
    await visitor.should_see(marker="verify-banner")


async def test_no_banner_once_verified(visitor: User, sign_in, make_user):
    await sign_in(await make_user())  # VERIFY_EMAIL=false: created verified
    await visitor.open("/dashboard")
    await visitor.should_see(marker="greeting")
    await visitor.should_not_see(marker="verify-banner")


async def test_verify_email_page_confirms_from_the_fragment(
    verifying, visitor: User, sign_in, make_user
):
    me = await make_user()
    await sign_in(me)
    fragment(visitor, await queued_token(me.email, MailKind.VERIFY))
    await visitor.open("/verify-email")
    await visitor.should_see("Your email is confirmed", retries=50)
    await visitor.should_not_see(marker="verify-banner")
    assert (await account(me.id)).email_verified
    await visitor.open("/dashboard")
    await visitor.should_see(marker="greeting")
    await visitor.should_not_see(marker="verify-banner")


async def test_verify_email_page_refuses_a_bad_link(verifying, visitor: User, make_user):
    me = await make_user()
    fragment(visitor, "not-a-real-token")
    await visitor.open("/verify-email")
    await visitor.should_see("This link is invalid or has expired.", retries=50)
    assert not (await account(me.id)).email_verified


async def test_forgot_password_answers_the_same_for_every_address(visitor: User, make_user):
    me = await make_user()
    for address in (me.email, "nobody@example.com"):
        await visitor.open("/forgot-password")
        visitor.find(marker="email").type(address)
        visitor.find(marker="submit").click()
        await visitor.should_see("If an account uses this address")
    async with open_session() as session:
        resets = await session.execute(
            select(OutboxMessage.recipient).where(OutboxMessage.kind == MailKind.RESET.value)
        )
        assert list(resets.scalars()) == [me.email]


async def test_reset_password_page_sets_it_and_signs_in(visitor: User, make_user):
    me = await make_user("Reset Person")
    await visitor.open("/login")
    await visitor.should_see(marker="forgot-password")
    await visitor.open("/forgot-password")
    visitor.find(marker="email").type(me.email)
    visitor.find(marker="submit").click()
    await visitor.should_see("If an account uses this address")
    fragment(visitor, await queued_token(me.email, MailKind.RESET))
    await visitor.open("/reset-password")
    visitor.find(marker="new-password").type(NEW_PASSWORD)
    visitor.find(marker="repeat-password").type("something else")
    visitor.find(marker="submit").click()
    await visitor.should_see("The two passwords differ")
    visitor.find(marker="repeat-password").clear().type(NEW_PASSWORD)
    visitor.find(marker="submit").click()
    await visitor.should_see(marker="sign-out", retries=30)
    await visitor.should_see("Your password has been changed")
    async with open_session() as session:
        assert await users.authenticate(session=session, email=me.email, password=NEW_PASSWORD)


async def test_reset_password_page_refuses_a_bad_link(visitor: User, make_user):
    fragment(visitor, "made-up")
    await visitor.open("/reset-password")
    visitor.find(marker="new-password").type(NEW_PASSWORD)
    visitor.find(marker="repeat-password").type(NEW_PASSWORD)
    visitor.find(marker="submit").click()
    await visitor.should_see("This link is invalid or has expired.")
    await visitor.should_see("Ask for a new link")


async def test_changing_the_email_asks_for_the_current_password(
    verifying, visitor: User, sign_in, make_user
):
    me = await make_user()
    async with open_session() as session:  # verified first, so the old address is told
        fresh = await session.get(Account, me.id)
        assert fresh is not None
        fresh.email_verified = True
        await session.commit()
    await sign_in(me)
    await visitor.open("/dashboard")
    await visitor.should_see(marker="profile-email")
    visitor.find(marker="profile-email").clear().type("moved@example.com")
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Enter your current password to change your email")
    visitor.find(marker="profile-current-password").type("wrong password")
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Current password is incorrect")
    visitor.find(marker="profile-current-password").clear().type(PASSWORD)
    visitor.find(marker="save-profile").click()
    await visitor.should_see("Profile saved")
    await visitor.should_see("We have sent a link to moved@example.com")
    async with open_session() as session:
        kinds = (
            await session.execute(
                select(OutboxMessage.kind, func.lower(OutboxMessage.recipient)).where(
                    OutboxMessage.kind.in_(["verify", "email_changed"])  # type: ignore[attr-defined]
                )
            )
        ).all()
    assert ("email_changed", me.email) in kinds
    assert ("verify", "moved@example.com") in kinds


async def test_download_my_data(visitor: User, sign_in, make_user, make_event):
    me = await make_user("Exporter")
    await make_event(me, title="My own event")
    await sign_in(me)
    await visitor.open("/dashboard")
    visitor.find(marker="download-data").click()
    await eventually(lambda: bool(visitor.download.http_responses))
    content = visitor.download.http_responses[-1]
    data = json.loads(content.content)
    assert data["user"]["name"] == "Exporter"
    assert [e["title"] for e in data["events"]] == ["My own event"]
    assert "password_hash" not in content.text


async def test_delete_my_account_from_the_dialog(visitor: User, sign_in, make_user, make_event):
    me = await make_user()
    await make_event(me, title="Going away")
    await sign_in(me)
    await visitor.open("/dashboard")
    visitor.find(marker="delete-account").click()
    await visitor.should_see("The events you organise are deleted")
    with visitor.scope(kind=ui.dialog):
        visitor.find(marker="delete-password").type("wrong password")
        visitor.find(marker="confirm-delete-account").click()
    await visitor.should_see("Current password is incorrect")
    assert await account(me.id) is not None
    visitor.find(marker="delete-password").clear().type(PASSWORD)
    visitor.find(marker="confirm-delete-account").click()
    await visitor.should_see("Your account has been deleted", retries=30)
    assert await account(me.id) is None
    await visitor.open("/dashboard")
    await visitor.should_see(marker="email")  # the login form: signed out
    async with open_session() as session:
        told = await session.execute(
            select(OutboxMessage.status).where(OutboxMessage.kind == MailKind.DELETED.value)
        )
        assert list(told.scalars()) == []  # nobody was registered for it
