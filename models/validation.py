"""Field rules shared by the API schemas and the pages' inline validation.

Each function returns the normalised value or raises ValueError with the message a person
should read. Keeping them here means the UI and the API can never disagree about a rule.
"""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email

NAME_MAX = 255
EMAIL_MAX = 254  # the longest address SMTP can carry (RFC 5321 path limit)
TITLE_MAX = 255
LOCATION_MAX = 255
DESCRIPTION_MAX = 1000
PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72  # bcrypt reads only the first 72 bytes: refuse, never truncate
CAPACITY_MIN = 1
CAPACITY_MAX = 100_000
# An event sent without an end lasts this long (the API, the form, a mail's calendar entry).
DEFAULT_DURATION = timedelta(hours=2)
SEARCH_MAX = 200  # words searched for in `GET /api/events?q=` and the search box
SEARCH_WORDS_MAX = 8  # distinct words: each is one more LIKE over every candidate row
IMAGE_ALT_MAX = 250  # an event image's text alternative
IMAGE_MAX_BYTES = 10 * 1024 * 1024  # the whole upload request (413 beyond)
IMAGE_MAX_PIXELS = 40_000_000  # decoded size: a small file can decode to gigabytes
# Ids are 32-bit database integers: a larger one names nothing (and overflows the driver).
ID_MIN = 1
ID_MAX = 2_147_483_647


def check_characters(value: str) -> str:
    """Refuse what no database column can hold: NUL bytes and lone UTF-16 surrogates (valid
    in JSON escapes, invalid in UTF-8). Without this they would surface as database errors."""
    if "\x00" in value:
        raise ValueError("Text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("Text contains invalid characters") from None
    return value


def clean_email(value: str) -> str:
    value = check_characters(value).strip()
    if not value:
        raise ValueError("Email is required")
    if len(value) > EMAIL_MAX:
        raise ValueError("Email is too long")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"Enter a valid email address ({exc})") from None
    return result.normalized


def _clean_text(value: str, label: str, maximum: int) -> str:
    value = check_characters(value).strip()
    if not value:
        raise ValueError(f"{label} is required")
    if len(value) > maximum:
        raise ValueError(f"{label} must be at most {maximum} characters")
    return value


def clean_name(value: str) -> str:
    return _clean_text(value, "Name", NAME_MAX)


def clean_image_alt(value: str) -> str:
    return _clean_text(value, "Alt text", IMAGE_ALT_MAX)


def clean_title(value: str) -> str:
    return _clean_text(value, "Title", TITLE_MAX)


def clean_location(value: str) -> str:
    return _clean_text(value, "Location", LOCATION_MAX)


def clean_description(value: str | None) -> str | None:
    if value is None:
        return None
    value = check_characters(value).strip()
    if len(value) > DESCRIPTION_MAX:
        raise ValueError(f"Description must be at most {DESCRIPTION_MAX} characters")
    return value or None


def check_password(value: str) -> str:
    check_characters(value)
    size = len(value.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        raise ValueError(f"Password must be at least {PASSWORD_MIN_BYTES} characters")
    if size > PASSWORD_MAX_BYTES:
        raise ValueError(f"Password must be at most {PASSWORD_MAX_BYTES} bytes in UTF-8")
    return value


def check_capacity(value: int) -> int:
    if not CAPACITY_MIN <= value <= CAPACITY_MAX:
        raise ValueError(f"Capacity must be between {CAPACITY_MIN} and {CAPACITY_MAX}")
    return value


def clean_search(value: str) -> str:
    """The search's words, each once (case aside), at most SEARCH_WORDS_MAX of them: a word
    repeated costs a scan and finds nothing more."""
    words = list(dict.fromkeys(check_characters(value).split()))
    distinct = list({word.lower(): word for word in reversed(words)}.values())[::-1]
    if len(distinct) > SEARCH_WORDS_MAX:
        raise ValueError(f"Search for at most {SEARCH_WORDS_MAX} different words")
    return " ".join(distinct)
