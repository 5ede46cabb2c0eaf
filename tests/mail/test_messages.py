"""Every kind of message, built (no SQL, no server): subject, texts, links, .ics, and user text
that tries to break out of a header or into the HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from pydantic import ValidationError

from app.config import Settings
from app.mail.messages import EventFacts, Letter, build_message
from app.mail.sender import SmtpTarget
from models.outbox import ACCOUNT_KINDS, MailKind
from tests.mail.conftest import calendar_of, html_of, text_of

EVENT = EventFacts(
    id=7,
    title="Jazz <b>night</b> & more",
    start=datetime(2027, 3, 1, 18, 30, tzinfo=UTC),
    location='Hall "A" <script>',
    description="Bring <i>friends</i>",
)
WITH_CALENDAR = {MailKind.CONFIRMED, MailKind.PROMOTED, MailKind.CHANGED}
PUBLIC = "https://events.example.org"


def build(kind: MailKind, **fields):
    letter = Letter(
        kind=kind,
        to_email="ann@example.com",
        to_name="Ann O'Neil",
        event=EVENT,
        registration_id=42,
        message_id="<mail-1.2@events.example.org>",
        **fields,
    )
    return build_message(letter, mail_from="Events <noreply@events.example.org>", public_url=PUBLIC)


# messages about the account have no event; tests/mail/test_accounts.py covers them
@pytest.mark.parametrize("kind", [kind for kind in MailKind if kind not in ACCOUNT_KINDS])
def test_every_kind_names_the_event_escapes_user_text_and_links_to_the_site(kind: MailKind):
    message = build(kind, position=3 if kind == MailKind.WAITLISTED else None)
    assert EVENT.title in message["Subject"]
    assert str(message["To"]) == "Ann O'Neil <ann@example.com>"
    assert str(message["From"]) == "Events <noreply@events.example.org>"
    assert message["Message-ID"] == "<mail-1.2@events.example.org>"
    plain, page = text_of(message), html_of(message)
    assert "Hello Ann O'Neil," in plain
    assert EVENT.title in plain
    assert "<b>" not in page and "&lt;b&gt;night&lt;/b&gt; &amp; more" in page
    assert "<script>" not in page
    if kind != MailKind.DELETED:  # a deleted event has no page left to link to
        assert f"{PUBLIC}/events/7" in plain and f'href="{PUBLIC}/events/7"' in page
    ics = calendar_of(message)
    assert (ics is not None) == (kind in WITH_CALENDAR)


def test_confirmation_carries_the_event_for_calendars_and_the_ticket():
    message = build(MailKind.CONFIRMED)
    assert message["Subject"] == "Registration confirmed: Jazz <b>night</b> & more"
    assert f"{PUBLIC}/me/tickets/42" in text_of(message)
    ics = calendar_of(message)
    assert ics is not None
    entry = Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(entry["summary"]) == EVENT.title
    assert entry.decoded("dtstart") == EVENT.start
    assert str(entry["uid"]) == "event-7@events.example.org"
    part = next(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    assert part.get_filename() == "event.ics"


def test_waiting_list_joined_says_the_position():
    message = build(MailKind.WAITLISTED, position=3)
    assert message["Subject"] == "Waiting list #3: Jazz <b>night</b> & more"
    assert "number 3 on its waiting list" in text_of(message)


def test_promoted_says_you_are_in_with_the_ticket_and_the_event_attached():
    message = build(MailKind.PROMOTED)
    assert message["Subject"].startswith("You're in: ")
    assert "you are now registered" in text_of(message)
    assert f"{PUBLIC}/me/tickets/42" in text_of(message)
    assert calendar_of(message) is not None


def test_changed_says_what_it_was_and_what_it_is():
    message = build(MailKind.CHANGED, changed={"location": "Old barn"})
    plain = text_of(message)
    assert "now Monday 1 March 2027, 18:30 UTC at Hall" in plain
    assert "place was Old barn" in plain


def test_a_name_or_title_with_line_breaks_cannot_add_headers():
    letter = Letter(
        kind=MailKind.CONFIRMED,
        to_email="ann@example.com",
        to_name="Ann\r\nBcc: victim@example.com",
        event=EventFacts(7, "Party\nBcc: other@example.com", EVENT.start, "Hall"),
        registration_id=1,
    )
    raw = build_message(letter, mail_from="Events <noreply@localhost>", public_url=PUBLIC)
    head = raw.as_string().split("\n\n", 1)[0]
    assert "\nBcc:" not in head
    assert raw["Bcc"] is None
    assert raw["Subject"] == "Registration confirmed: Party Bcc: other@example.com"


def test_a_changed_time_is_written_as_a_time():
    message = build(MailKind.CHANGED, changed={"start": "2027-02-27T17:00:00+00:00"})
    assert "time was Saturday 27 February 2027, 17:00 UTC" in text_of(message)


@pytest.mark.parametrize(
    "settings",
    [
        {"smtp_url": "http://mail.example.org"},
        {"smtp_url": "smtp://"},
        {"mail_from": "nobody"},
        {"mail_from": "Events <a@b.org>\nBcc: x@y.org"},
    ],
)
def test_a_mistyped_mail_setting_stops_the_start(settings: dict[str, str]):
    with pytest.raises(ValidationError):
        Settings(**settings)


def test_mail_settings_that_work():
    settings = Settings(smtp_url="smtps://me%40x:p%3Ass@mail.example.org", reminder_hours=0.5)
    target = SmtpTarget.parse(settings.smtp_url)
    assert (target.hostname, target.port, target.use_tls) == ("mail.example.org", 465, True)
    assert (target.username, target.password) == ("me@x", "p:ss")
    assert SmtpTarget.parse("smtp://mail.example.org").port == 25


def test_an_event_with_an_end_says_when_it_ends_and_its_calendar_entry_ends_then():
    ends = EventFacts(**{**EVENT.__dict__, "end": datetime(2027, 3, 1, 22, 0, tzinfo=UTC)})
    letter = Letter(
        kind=MailKind.CHANGED,
        to_email="ann@example.com",
        to_name="Ann",
        event=ends,
        changed={"end": "2027-03-01T20:30:00+00:00"},
    )
    message = build_message(letter, mail_from="Events <noreply@localhost>", public_url=PUBLIC)
    plain = text_of(message)
    assert "now Monday 1 March 2027, 18:30 to 22:00 UTC at Hall" in plain
    assert "end time was Monday 1 March 2027, 20:30 UTC" in plain
    entry = Calendar.from_ical(calendar_of(message)).walk("VEVENT")[0]
    assert entry.decoded("dtend") == ends.end
    overnight = EventFacts(**{**EVENT.__dict__, "end": datetime(2027, 3, 2, 2, 0, tzinfo=UTC)})
    letter = Letter(MailKind.CONFIRMED, "ann@example.com", "Ann", overnight, registration_id=1)
    plain = text_of(build_message(letter, mail_from="E <e@localhost>", public_url=PUBLIC))
    assert "Monday 1 March 2027, 18:30 UTC to Tuesday 2 March 2027, 02:00 UTC" in plain
