"""Settings, read once from the environment (and an optional `.env`).

Everything an operator may want to change lives here, typed, so that a typo in a variable
fails at start-up instead of at the first request that needs it.
"""

from __future__ import annotations

import os
import secrets
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from limits import parse
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_SQLITE_URL = f"sqlite+aiosqlite:///{DATA_DIR / 'app.db'}"
# SMTP_URL's schemes (app/mail/sender.py SmtpTarget says what each one protects)
SMTP_SCHEMES = ("smtp", "smtps", "smtp+insecure")
SMTP_URL_FORMS = "smtp://user:pass@host:port, smtps://... or smtp+insecure://..."
# SECRET_KEY signs the JWTs, the session cookie and the socket check (HMAC-SHA256): a short
# one is guessed offline from any token. 32 bytes is the hash's own size.
SECRET_KEY_MIN_BYTES = 32


def normalise_database_url(url: str) -> str:
    """Accept the URL forms people paste and pick the async driver we ship.

    `postgresql://` and `postgres://` (what Heroku-style providers hand out) become
    `postgresql+psycopg://`; `sqlite:///` becomes `sqlite+aiosqlite:///`.
    """
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def development_secret() -> str:
    """A secret generated on first run and kept in `data/` (git-ignored), so sessions and
    tokens survive a restart in development without anyone having to invent one."""
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # Created owner-only (0600) by the open itself: writing first and chmod-ing after left a
    # moment in which another local user could read it under a permissive umask. O_EXCL: two
    # processes starting together never write over each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(secret)
    return secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    app_env: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_SQLITE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    secret_key: str = ""
    jwt_expires_hours: float = Field(default=24, gt=0)
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # How many bcrypt computations may run at once (each takes a worker thread and a core for
    # ~0.25 s); one client address gets half of them (app/security.py). Default: the cores.
    bcrypt_concurrency: int = Field(default_factory=lambda: max(2, os.cpu_count() or 2), ge=1)
    api_rate_limit: str = "600/minute"
    login_rate_limit: str = "10/minute"
    login_ip_rate_limit: str = "100/minute"
    signup_rate_limit: str = "60/minute"
    # New events per account (API and pages): each one makes every open list re-read.
    event_create_rate_limit: str = "30/hour"
    # Set true when served over HTTPS: the session cookie is then sent over HTTPS only.
    # Unset: true when APP_ENV=production, else false (see `_production_defaults`).
    cookie_secure: bool = False
    forwarded_allow_ips: str = "127.0.0.1"
    graceful_shutdown_seconds: int = Field(default=10, ge=1)
    # Open pages (components/page_lifetime.py): how long one may stay hidden before it lets
    # the server forget it, and how long the server waits for a browser that went away.
    hidden_page_close_seconds: float = Field(default=600, gt=0)
    reconnect_timeout_seconds: float = Field(default=10, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Origins allowed to call the API from a browser (comma-separated); none by default.
    cors_origins: str = ""
    # Who may embed /kiosk pages in a frame (a CSP frame-ancestors list); nobody by default.
    kiosk_frame_ancestors: str = ""
    # memory:// for one process; redis://host:6379/0 when several processes share the limits
    rate_limit_storage: str = "memory://"
    migrate_on_start: bool = True
    # The address people reach the site at (e.g. https://events.example.org), for links that
    # leave the browser: QR codes on kiosks, calendar entries. Empty: taken from the request.
    public_url: str = ""
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout: float = Field(default=3.0, gt=0)
    db_connect_timeout: float = Field(default=3.0, gt=0)
    # A pooled connection older than this many seconds is closed and replaced when next taken
    # from the pool (SQLAlchemy's pool_recycle): idle connections do not live for ever through
    # firewalls, proxies (PgBouncer) or a server's idle_session_timeout. -1: never.
    db_pool_recycle: float = Field(default=1800.0, ge=-1)
    # A PostgreSQL streaming replica of DATABASE_URL for lists, search and statistics
    # (app/db/, "Read replica"). Empty: everything reads the primary.
    database_read_url: str = ""
    # While the replica is away, how often (seconds) a background task asks whether it is back.
    replica_check_interval: float = Field(default=2.0, gt=0)
    # Bearer token for /metrics. Empty: /metrics answers loopback clients only (app/metrics.py).
    metrics_token: str = ""
    # Email (README "Email"): smtp://user:pass@host:port (STARTTLS required, except to a
    # loopback server without credentials), smtps://... (TLS from the start) or
    # smtp+insecure://... (STARTTLS if offered, else plaintext: an explicit choice).
    # Empty: nothing is sent, each message is logged.
    smtp_url: str = ""
    mail_from: str = "Events <noreply@localhost>"
    # The reminder goes out this long before the start; 0 turns reminders off.
    reminder_hours: float = Field(default=24, ge=0)
    # Mail quotas (app/mail/quotas.py), in the `limits` notation ("20/hour"; "off"): messages
    # to one address, and about one account's registrations, per window.
    mail_recipient_limit: str = "20/hour"
    mail_account_limit: str = "40/hour"
    # Changes of one event's time or place within this many seconds make one "Changed"
    # message per attendee, sent when the window has passed (app/services/mail.py).
    change_mail_window_seconds: int = Field(default=180, ge=0)
    # Sent, void and failed outbox rows (names, addresses, payloads) are deleted this many
    # days after they were written (reminder markers only once their event has started).
    mail_retention_days: int = Field(default=30, ge=1)
    # Accounts (README "Accounts"): new addresses must be confirmed before mail about events
    # reaches them. false: version 2's behaviour (accounts created verified, nothing held).
    verify_email: bool = True
    # password-reset requests per email (as the lookup normalises it) and per client address
    reset_rate_limit: str = "5/hour"
    reset_ip_rate_limit: str = "30/hour"
    # "Send the link again" per account (the sign-up's own message not counted)
    verify_resend_rate_limit: str = "3/hour"

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value) if value.strip() else ""

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if value and (parts.scheme not in SMTP_SCHEMES or not parts.hostname):
            raise ValueError(f"SMTP_URL must look like {SMTP_URL_FORMS}")
        return value

    @field_validator("mail_recipient_limit", "mail_account_limit")
    @classmethod
    def _check_mail_limit(cls, value: str) -> str:
        if value.strip().lower() not in {"", "off", "none", "0"}:
            try:
                parse(value)
            except ValueError:
                raise ValueError("a mail limit looks like 20/hour, or off") from None
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        _, address = parseaddr(value)
        if "@" not in address or any(c in value for c in "\r\n"):
            raise ValueError("MAIL_FROM must be an address, e.g. Events <noreply@example.org>")
        return value

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> Settings:
        if not self.secret_key:
            if self.app_env == "production":
                raise ValueError("SECRET_KEY must be set when APP_ENV=production")
            self.secret_key = development_secret()
        if self.app_env == "production" and len(self.secret_key.encode()) < SECRET_KEY_MIN_BYTES:
            raise ValueError(
                f"SECRET_KEY must be at least {SECRET_KEY_MIN_BYTES} bytes when APP_ENV=production"
                " (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @model_validator(mode="after")
    def _production_defaults(self) -> Settings:
        """Production is served over HTTPS behind a proxy: the session cookie is Secure
        unless COOKIE_SECURE says otherwise, and PUBLIC_URL is required, because links that
        leave the browser (kiosk QR codes, emails, calendar entries) must not be built from
        whatever `Host` header a request carried."""
        if self.app_env != "production":
            return self
        if "cookie_secure" not in self.model_fields_set:
            self.cookie_secure = True
        if not self.public_url.strip():
            raise ValueError("PUBLIC_URL must be set when APP_ENV=production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
