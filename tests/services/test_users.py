"""Accounts: sign-up, login, tokens, profile and password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pydantic import ValidationError

from app.config import get_settings
from app.errors import EmailTaken, NotAuthenticated, ValidationFailed
from app.services import stats, users
from models.user import PasswordChange, UserCreate, UserUpdate
from tests.fixtures import PASSWORD


async def test_sign_up_normalises_and_hashes(session):
    user = await users.sign_up(
        session=session,
        data=UserCreate(email="  Ada@EXAMPLE.Org ", name="  Ada  ", password=PASSWORD),
    )
    assert (user.email, user.name) == ("Ada@example.org", "Ada")
    assert user.password_hash.startswith("$2") and PASSWORD not in user.password_hash


async def test_email_is_unique_whatever_its_case(session, make_user):
    await make_user(email="sam@example.com")
    with pytest.raises(EmailTaken):
        await users.sign_up(
            session=session, data=UserCreate(email="SAM@example.com", name="Sam", password=PASSWORD)
        )


async def test_login_says_the_same_for_unknown_email_and_wrong_password(session, make_user):
    await make_user(email="kim@example.com")
    messages = set()
    for email, password in [
        ("kim@example.com", "wrong-password"),
        ("nobody@example.com", PASSWORD),
    ]:
        with pytest.raises(NotAuthenticated) as caught:
            await users.authenticate(session=session, email=email, password=password)
        messages.add(caught.value.message)
    assert messages == {"Invalid email or password"}
    user = await users.authenticate(session=session, email="KIM@example.com", password=PASSWORD)
    assert user.email == "kim@example.com"


@pytest.mark.parametrize(
    "password", ["short", "é" * 37, "x" * 73], ids=["too-short", "73-bytes-multibyte", "73-ascii"]
)
def test_password_outside_8_to_72_bytes_is_refused(password):
    with pytest.raises(ValidationError):
        UserCreate(email="a@example.com", name="A", password=password)


def test_password_of_exactly_72_bytes_is_accepted():
    assert UserCreate(email="a@example.com", name="A", password="é" * 36).password == "é" * 36


async def test_token_round_trip_and_rejections(session, make_user):
    user = await make_user()
    token = users.issue_token(user)
    assert (await users.user_from_token(session=session, token=token)).id == user.id
    expired = jwt.encode(
        {"sub": str(user.id), "ver": 0, "exp": datetime.now(UTC) - timedelta(seconds=1)},
        get_settings().secret_key,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"sub": str(user.id), "ver": 0, "exp": datetime.now(UTC) + timedelta(hours=1)},
        "another-secret-entirely-000000000000",
        algorithm="HS256",
    )
    for bad in (expired, forged, "not-a-token", token + "x"):
        with pytest.raises(NotAuthenticated):
            await users.user_from_token(session=session, token=bad)


async def test_password_change_needs_current_and_revokes_old_tokens(session, make_user):
    user = await make_user()
    old_token = users.issue_token(user)
    with pytest.raises(ValidationFailed) as wrong:
        await users.change_password(
            session=session,
            user=user,
            data=PasswordChange(current_password="not-it-at-all", new_password="a new secret"),
        )
    assert wrong.value.errors == [("current_password", "Current password is incorrect")]
    changed = await users.change_password(
        session=session,
        user=user,
        data=PasswordChange(current_password=PASSWORD, new_password="a new secret"),
    )
    with pytest.raises(NotAuthenticated):
        await users.user_from_token(session=session, token=old_token)
    assert (await users.user_from_token(session=session, token=users.issue_token(changed))).id
    await users.authenticate(session=session, email=user.email, password="a new secret")


async def test_profile_update_keeps_email_unique(session, make_user):
    first = await make_user(email="first@example.com")
    second = await make_user()
    with pytest.raises(EmailTaken):
        await users.update_profile(
            session=session,
            user=second,
            data=UserUpdate(email="FIRST@example.com", current_password=PASSWORD),
        )
    renamed = await users.update_profile(
        session=session, user=first, data=UserUpdate(name="New Name")
    )
    assert (renamed.name, renamed.email) == ("New Name", "first@example.com")


async def test_stats_count_what_a_person_did(session, make_user, make_event):
    from app.services import registrations

    me, other = await make_user(), await make_user()
    mine = await make_event(me, max_capacity=10)
    theirs = await make_event(other)
    await registrations.register_attendee(session=session, event_id=mine.id, user_id=other.id)
    await registrations.register_attendee(session=session, event_id=theirs.id, user_id=me.id)
    numbers = await stats.user_stats(session=session, user_id=me.id)
    assert numbers.model_dump() == {
        "events_created": 1,
        "upcoming_events_created": 1,
        "registrations": 1,
        "upcoming_registrations": 1,
        "attendees_across_my_events": 1,
    }
