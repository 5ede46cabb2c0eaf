"""Issue 21, items 13 and 14: production refuses a short SECRET_KEY and `--demo`; the
development secret is owner-only from the moment it exists. Each test failed before its fix."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app import config
from app.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"APP_ENV": "production", "PUBLIC_URL": "https://events.example.org"}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    def _set(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return _set


@pytest.mark.parametrize("secret", ["secret", "x" * 31, "é" * 15])  # "é" is 2 bytes: 30
def test_production_refuses_a_secret_key_under_32_bytes(env, secret):
    env(**PRODUCTION, SECRET_KEY=secret)
    with pytest.raises(ValidationError, match="SECRET_KEY must be at least 32 bytes"):
        Settings(_env_file=None)


def test_production_accepts_a_32_byte_secret_key_and_development_any(env):
    env(**PRODUCTION, SECRET_KEY="x" * 32)
    assert Settings(_env_file=None).secret_key == "x" * 32
    env(APP_ENV="development", SECRET_KEY="short")
    assert Settings(_env_file=None).secret_key == "short"


def test_the_development_secret_is_created_owner_only(tmp_path, monkeypatch):
    """No chmod after the write: with a umask of 022 the file must be 0600 from its creation
    (before the fix it was created 0644 and chmod-ed after: readable by anyone meanwhile)."""
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    old_umask = os.umask(0o022)
    try:
        secret = config.development_secret()
    finally:
        os.umask(old_umask)
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == secret and len(secret) >= 32
    assert config.development_secret() == secret  # read back on the next start


def test_demo_is_refused_in_production(tmp_path):
    """`main.py --demo` with APP_ENV=production stops with a clear message and exit status 1
    before it migrates, serves or writes anything."""
    database = tmp_path / "app.db"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    environment |= PRODUCTION | {
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": f"sqlite:///{database}",
        "PORT": "1",  # never reached: nothing may be served
    }
    result = subprocess.run(
        [sys.executable, "main.py", "--demo"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "--demo is refused when APP_ENV=production" in result.stderr
    assert not database.exists()


def test_every_systemd_unit_sets_a_private_umask():
    units = sorted((PROJECT_ROOT / "deploy" / "systemd").glob("*.service"))
    assert units
    for unit in units:
        assert "\nUMask=0077\n" in unit.read_text(), unit.name
