"""Abuse limits, on the `limits` library (moving windows; memory for one process, Redis for
several: `RATE_LIMIT_STORAGE=redis://127.0.0.1:6379/0`).

Three limits, each configurable and each switched off with the value `off`:
- `API_RATE_LIMIT`: every API call, keyed by the authenticated user (so an audience behind
  one NAT address does not share a budget) or, for anonymous calls, by client address;
- `LOGIN_RATE_LIMIT`: password attempts per account (logins, password changes, whatever
  asks for the password), against password guessing; a wider per-address budget
  (`LOGIN_IP_RATE_LIMIT`) stops one address trying many accounts;
- `SIGNUP_RATE_LIMIT`: accounts created per address, and email changes per address (an
  email change answers whether an address has an account, like a sign-up does).
Every password attempt counts, right or wrong, and it counts *before* the password is
checked, in one atomic step of the moving window (`hit`): checking the budget first and
recording a failure after the check let 60 parallel guesses all pass a limit of 10, each
seeing the budget before any other had recorded its failure. A person who types their
password right is never locked out by someone else's guessing... unless the guessing
targets their account, which is exactly what the limit is for.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.config import get_settings
from app.errors import TooManyRequests

log = logging.getLogger("app.security")


def async_storage_uri(uri: str) -> str:
    """`limits` picks its asyncio storages by an `async+` scheme prefix."""
    return uri if uri.startswith("async+") else f"async+{uri}"


def storage_options(uri: str) -> dict[str, str]:
    """`limits` talks to Redis through coredis unless told otherwise; we ship redis-py (it is
    also what NiceGUI's Redis storage uses), so ask for that."""
    scheme = uri.removeprefix("async+").split(":", 1)[0]
    return {"implementation": "redispy"} if scheme in {"redis", "rediss", "redis+unix"} else {}


def login_key(email: str) -> str:
    """The account a login attempt is about, as the lookup finds it (stripped, any case):
    keying the limit by the raw text gave `" " * n + email` ten fresh guesses per `n`."""
    return email.strip().lower()


def _parse(value: str) -> RateLimitItem | None:
    return None if value.strip().lower() in {"", "off", "none", "0"} else parse(value)


@dataclass
class RateLimits:
    limiter: MovingWindowRateLimiter
    api: RateLimitItem | None
    login_account: RateLimitItem | None
    login_address: RateLimitItem | None
    signup: RateLimitItem | None
    event_create: RateLimitItem | None = None

    async def _retry_after(self, item: RateLimitItem, *key: str) -> int:
        stats = await self.limiter.get_window_stats(item, *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def hit(self, item: RateLimitItem | None, *key: str, message: str) -> None:
        """Count one use; raise TooManyRequests when the budget is spent."""
        if item is None:
            return
        if not await self.limiter.hit(item, *key):
            retry = await self._retry_after(item, *key)
            log.warning("rate limit hit: %s (%s)", key[0], item)
            raise TooManyRequests(message, retry_after=retry)

    async def check_login(self, email: str, address: str | None) -> None:
        """Count one password attempt on the account of `email` (its stored address when the
        account exists, see `users.authenticate`) and from `address`; TooManyRequests when
        either budget is spent. THE one call before any password is verified: it is the
        attempt's counting, not a look at the budget, so it must come before the check."""
        message = "Too many failed login attempts, please wait and try again"
        if address:
            await self.hit(self.login_address, "login-address", address, message=message)
        await self.hit(self.login_account, "login-account", login_key(email), message=message)

    async def check_signup(self, address: str | None) -> None:
        """Count one sign-up (or email change) from `address`."""
        if address:
            await self.hit(
                self.signup,
                "signup",
                address,
                message="Too many sign-ups from your network, please wait",
            )

    async def check_event_creation(self, user_id: int) -> None:
        """Count one new event of this account (EVENT_CREATE_RATE_LIMIT): every new event
        makes every open event list and kiosk re-read (issue 21, item 6)."""
        await self.hit(
            self.event_create,
            "event-create",
            str(user_id),
            message="You have created many events in a short time, please wait",
        )

    async def check_api(self, key: str) -> None:
        await self.hit(self.api, "api", key, message="Too many requests, please slow down")


@lru_cache
def get_rate_limits() -> RateLimits:
    settings = get_settings()
    return RateLimits(
        limiter=MovingWindowRateLimiter(
            storage_from_string(
                async_storage_uri(settings.rate_limit_storage),
                **storage_options(settings.rate_limit_storage),
            )
        ),
        api=_parse(settings.api_rate_limit),
        login_account=_parse(settings.login_rate_limit),
        login_address=_parse(settings.login_ip_rate_limit),
        signup=_parse(settings.signup_rate_limit),
        event_create=_parse(settings.event_create_rate_limit),
    )


@dataclass
class AccountLimits:
    """The account links' limits (API.md, Accounts), on the same limiter and storage as the
    others. Kept apart from `RateLimits` so each can change without touching the other."""

    limits: RateLimits
    reset_email: RateLimitItem | None
    reset_address: RateLimitItem | None
    resend: RateLimitItem | None

    async def check_reset(self, email: str, address: str | None) -> None:
        """Count a password-reset request before any lookup, for a known and an unknown
        address alike (the same sequence of answers, 429 included)."""
        message = "Too many reset requests, please wait and try again"
        await self.limits.hit(self.reset_email, "reset-email", login_key(email), message=message)
        if address:
            await self.limits.hit(self.reset_address, "reset-address", address, message=message)

    async def check_resend(self, user_id: int) -> None:
        await self.limits.hit(
            self.resend,
            "verify-resend",
            str(user_id),
            message="Too many links sent, please wait and try again",
        )


def get_account_limits() -> AccountLimits:
    """Built on each call (three short strings to parse) over the cached `get_rate_limits()`,
    so the two never disagree about the storage."""
    settings = get_settings()
    return AccountLimits(
        limits=get_rate_limits(),
        reset_email=_parse(settings.reset_rate_limit),
        reset_address=_parse(settings.reset_ip_rate_limit),
        resend=_parse(settings.verify_resend_rate_limit),
    )
