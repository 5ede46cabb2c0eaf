"""A few realistic people and events, so a newcomer's first look is at a living app.

Every demo account's password is `demo-password`. Only an empty database is filled.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from app.config import get_settings
from app.db import open_session
from app.services import events, registrations, users
from models.event import EventCreate
from models.types import utcnow
from models.user import User, UserCreate

DEMO_PASSWORD = "demo-password"
DEMO_REFUSED = (
    "--demo is refused when APP_ENV=production: its accounts' password is published"
    " (app/demo.py), so anyone could sign in as them"
)


def refuse_demo_in_production(app_env: str) -> None:
    """Stop the start-up (SystemExit: message on stderr, exit status 1) before anything is
    served or written, rather than open six accounts with a known password to the world."""
    if app_env == "production":
        raise SystemExit(DEMO_REFUSED)


PEOPLE = [
    ("ada@example.com", "Ada Lovelace"),
    ("grace@example.com", "Grace Hopper"),
    ("alan@example.com", "Alan Turing"),
    ("katherine@example.com", "Katherine Johnson"),
    ("linus@example.com", "Linus Torvalds"),
    ("margaret@example.com", "Margaret Hamilton"),
]

EVENTS = [
    # (organiser index, title, description, location, days ahead, hour, capacity, attendees)
    (
        0,
        "Python Meetup: async in practice",
        "Talks and pizza. Bring a laptop.",
        "Berlin, c-base",
        3,
        19,
        40,
        5,
    ),
    (
        1,
        "Compiler Night",
        "Lightning talks on parsers, IRs and code generation.",
        "Zurich, ETH main hall",
        6,
        18,
        12,
        4,
    ),
    (
        0,
        "Intro to PostgreSQL performance",
        "Indexes, plans and the art of EXPLAIN.",
        "Online",
        9,
        17,
        100,
        3,
    ),
    (
        2,
        "Chess & Code",
        "Casual chess, then a kata. Beginners welcome.",
        "Manchester, Central Library",
        12,
        18,
        4,
        4,
    ),
    (
        3,
        "Orbital Mechanics for Programmers",
        "From Kepler to code you can run.",
        "Hampton, Science Center",
        20,
        16,
        30,
        2,
    ),
    (
        4,
        "Kernel Hacking Workshop",
        "Build, boot and debug your first patch.",
        "Helsinki, Maria 01",
        27,
        10,
        20,
        1,
    ),
    (
        5,
        "Software Engineering Day",
        "Reliability stories from space flight to web scale.",
        "Boston, MIT Stata Center",
        35,
        9,
        200,
        5,
    ),
]


async def load_demo_data() -> bool:
    """Fill an empty database; False (and nothing written) when it already has users."""
    refuse_demo_in_production(get_settings().app_env)  # whoever calls it
    async with open_session() as session:
        if (await session.execute(select(func.count()).select_from(User))).scalar_one():
            return False
        people = [
            await users.sign_up(
                session=session, data=UserCreate(email=email, name=name, password=DEMO_PASSWORD)
            )
            for email, name in PEOPLE
        ]
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        for owner, title, description, location, days, hour, capacity, attendees in EVENTS:
            when = (now + timedelta(days=days)).replace(hour=hour)
            event = await events.create_event(
                session=session,
                owner=people[owner],
                data=EventCreate(
                    title=title,
                    description=description,
                    location=location,
                    date_time=when,
                    max_capacity=capacity,
                ),
            )
            others = [p for i, p in enumerate(people) if i != owner][:attendees]
            for person in others:
                assert person.id is not None
                await registrations.register_attendee(
                    session=session, event_id=event.id, user_id=person.id
                )
    return True
