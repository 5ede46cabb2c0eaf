"""Issue 13, production defaults: APP_ENV=production secures the cookie unless told
otherwise, and refuses to start without PUBLIC_URL (links that leave the browser, such as
kiosk QR codes and emails, must not be built from a request's Host header)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config import Settings

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s" * 48}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    for name in ("COOKIE_SECURE", "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def _set(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return _set


def test_production_turns_the_secure_cookie_on_by_default(env):
    env(**PRODUCTION, PUBLIC_URL="https://events.example.org")
    assert Settings(_env_file=None).cookie_secure is True


def test_an_explicit_cookie_secure_wins_in_production(env):
    env(**PRODUCTION, PUBLIC_URL="http://intranet.example", COOKIE_SECURE="false")
    assert Settings(_env_file=None).cookie_secure is False


def test_production_refuses_to_start_without_public_url(env):
    env(**PRODUCTION)
    with pytest.raises(ValidationError, match="PUBLIC_URL must be set"):
        Settings(_env_file=None)


def test_development_keeps_its_defaults(env):
    env(APP_ENV="development", SECRET_KEY="s" * 48)
    settings = Settings(_env_file=None)
    assert settings.cookie_secure is False and settings.public_url == ""
