"""The waiting list of a full event, beside the capacity rule and under the same lock.

4. Joining (`join_waitlist`) locks the event row and appends: `position = waiting_count + 1`,
   `waiting_count + 1`. Only a full event with an open list takes people, so a free spot is
   never hidden behind a queue.
5. Promotion (`promote_waiting`) runs inside every transaction that frees a spot (a
   cancellation, a raised capacity), still holding the event's row lock: it confirms the
   first `min(free spots, waiting_count)` people by position, gives them tickets and moves
   everyone behind them up. Because the lock is held from the moment the spot is freed until
   the commit, nobody can take that spot in between (a registration waits on the row, then
   finds the event full again), two promotions cannot pick the same person (the second one
   waits, then reads the first one's result), and positions are renumbered by whoever holds
   the lock only. So, under any concurrency: the count never passes the capacity (and the
   CHECK constraint would refuse it), order is kept, nobody is promoted twice, nobody is both
   confirmed and waiting (one row per person and event, one status).
   tests/services/test_waitlist_concurrency.py races all of it and has a control without
   the lock that breaks.
6. Leaving the list deletes the waiting row (it holds no ticket and no history worth keeping)
   and moves those behind up.

A waiting list is never left with free spots in front of it: the invariant
`waiting_count > 0 => registered_count = max_capacity` holds after every commit, which is
why `register_attendee` can never jump the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app import metrics
from app.db import write_transaction
from app.errors import Conflict, NotFound
from app.live import Activity, Availability, bus
from app.services import mail
from app.services.access import locked_event
from app.services.places import held_place, new_ticket_code, refusal_for_holder
from models.event import Event
from models.outbox import MailKind
from models.registration import Registration, RegistrationPublic, RegistrationStatus
from models.rules import WaitlistRefusal, is_upcoming, waitlist_refusal
from models.types import utcnow

NOT_WAITING = "You are not on this event's waiting list"
SPOTS_AVAILABLE = "Spots are available: register instead"
LIST_CLOSED = "This event's waiting list is closed"
WAITLIST_REFUSALS = {
    WaitlistRefusal.CLOSED: LIST_CLOSED,
    WaitlistRefusal.SPOTS_AVAILABLE: SPOTS_AVAILABLE,
}


async def join_waitlist(
    *, session: AsyncSession, event_id: int, user_id: int
) -> RegistrationPublic:
    """Puts the user at the end of a full event's waiting list (module doc, step 4)."""
    async with write_transaction(session):
        event = await locked_event(session, event_id)
        refusal = await refusal_for_holder(session, event, user_id)
        if refusal is not None:
            raise refusal
        closed = waitlist_refusal(
            capacity=event.max_capacity,
            registered=event.registered_count,
            list_open=event.waitlist_open,
        )
        if closed is not None:
            raise Conflict(WAITLIST_REFUSALS[closed])
        now = utcnow()
        event.waiting_count += 1
        values: dict[str, Any] = {
            "status": RegistrationStatus.WAITLISTED.value,
            "position": event.waiting_count,
            "registration_date": now,
            "cancelled_at": None,
            "ticket_code": None,  # a new one at promotion; an old one must not open the door
        }
        # One row per person and event: a cancelled registration becomes the waiting place.
        revived = await session.execute(
            update(Registration)
            .where(col(Registration.event_id) == event_id, col(Registration.user_id) == user_id)
            .values(**values)
            .returning(col(Registration.id))
            .execution_options(synchronize_session=False)
        )
        reg_id = revived.scalar()
        if reg_id is None:
            registration = Registration(event_id=event_id, user_id=user_id, **values)
            session.add(registration)
            await session.flush()
            reg_id = registration.id
        assert reg_id is not None
        # Joined the waiting list: the one place where this happens.
        await mail.enqueue(
            session, MailKind.WAITLISTED, registration_id=reg_id, position=event.waiting_count
        )
    bus.publish(Availability.of(event))
    return RegistrationPublic(
        id=reg_id,
        event_id=event_id,
        user_id=user_id,
        registration_date=now,
        status=RegistrationStatus.WAITLISTED,
        position=event.waiting_count,
    )


async def leave_queue(session: AsyncSession, event: Event, place: Registration) -> None:
    """Removes a waiting place and moves everyone behind it up (module doc, step 6)."""
    await session.execute(delete(Registration).where(col(Registration.id) == place.id))
    await session.execute(
        update(Registration)
        .where(
            col(Registration.event_id) == event.id,
            col(Registration.status) == RegistrationStatus.WAITLISTED.value,
            col(Registration.position) > place.position,
        )
        .values(position=col(Registration.position) - 1)
        .execution_options(synchronize_session=False)
    )
    event.waiting_count -= 1


async def leave_waitlist(*, session: AsyncSession, event_id: int, user_id: int) -> None:
    async with write_transaction(session):
        event = await locked_event(session, event_id)
        held = await held_place(session, event_id, user_id)
        if held is None or held.status != RegistrationStatus.WAITLISTED:
            raise NotFound(NOT_WAITING)
        await leave_queue(session, event, held)
    bus.publish(Availability.of(event), Activity(event_id, user_id, registered=False, at=utcnow()))


async def promote_waiting(session: AsyncSession, event: Event) -> list[Activity]:
    """Fills the event's free spots from the front of its waiting list (module doc, step 5).

    Call it in the transaction that freed the spots, with the event's row lock held
    (`lock_event`) and the event's counters flushed or current. Returns one promotion
    `Activity` per promoted person, for the caller to publish after its commit (their open
    pages show a toast). This is the one place where "promoted" happens: the promotion email
    goes here, in the same transaction as the promotion.

    Nobody is promoted once the event has started: a place handed out mid-event (say, by a
    capacity raise) would mail someone who is not there a ticket for what is under way.
    """
    free = event.max_capacity - event.registered_count
    now = utcnow()
    if free <= 0 or event.waiting_count <= 0 or not is_upcoming(event.date_time, now):
        return []
    assert event.id is not None
    first = (
        (
            await session.execute(
                select(Registration)
                .where(
                    col(Registration.event_id) == event.id,
                    col(Registration.status) == RegistrationStatus.WAITLISTED.value,
                )
                .order_by(col(Registration.position).asc())
                .limit(free)
                .execution_options(populate_existing=True)
            )
        )
        .scalars()
        .all()
    )
    for place in first:
        place.status = RegistrationStatus.CONFIRMED.value
        place.position = None
        place.ticket_code = new_ticket_code()
        place.registration_date = now  # confirmed from now: the organizer's timeline counts it
    promoted = len(first)
    event.registered_count += promoted
    event.waiting_count -= promoted
    await session.flush()
    await session.execute(
        update(Registration)
        .where(
            col(Registration.event_id) == event.id,
            col(Registration.status) == RegistrationStatus.WAITLISTED.value,
        )
        .values(position=col(Registration.position) - promoted)
        .execution_options(synchronize_session=False)
    )
    for place in first:  # flushed above: the message links to the new ticket
        assert place.id is not None
        await mail.enqueue(session, MailKind.PROMOTED, registration_id=place.id)
    if promoted:
        metrics.REGISTRATIONS.inc(promoted)
    return [
        Activity(event.id, place.user_id, registered=True, at=now, promoted=True) for place in first
    ]
