"""Issue 13, production defaults: APP_ENV=production secures the cookie unless told
otherwise, and refuses to start without PUBLIC_URL (links that leave the browser, such as
kiosk QR codes and emails, must not be built from a request's Host header)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_the_app_raises_its_open_file_limit_to_the_hard_limit():
    """One descriptor per open page's socket: under the usual soft limit of 1,024 the
    1,025th kiosk failed. Run in a child whose soft limit is 256 and hard limit 4,096."""
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (256, 4096)); "
        "from app.web.startup import raise_open_file_limit; "
        "print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.split() == ["4096", "4096"], result.stderr
