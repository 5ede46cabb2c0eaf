"""Accounts in real Chromium against a real server and a real mailbox (aiosmtpd): sign up,
follow the link from the captured mail, the banner goes; forget the password, follow the
reset link, set a new one and be signed in, while the person's other open page is sent to
the login page. With SMTP_URL set, no token appears in the server's log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.mail.conftest import SmtpServer
from tests.support.accounts import token_in
from tests.support.browser import PHONE, ConsoleErrors
from tests.support.server import ServerProcess, free_port

pytestmark = pytest.mark.e2e

WAIT_MS = 15_000
EMAIL = "journey@example.com"
PASSWORD = "e2e-accounts-password"
NEW_PASSWORD = "e2e-accounts-new-password"


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    expect.set_options(timeout=WAIT_MS)
    yield
    expect.set_options(timeout=5_000)


@pytest.fixture
def mailbox() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def verifying_server(
    database_url: str, tmp_path: Path, mailbox: SmtpServer
) -> Iterator[ServerProcess]:
    process = ServerProcess(
        database_url,
        log_dir=tmp_path,
        environment={"VERIFY_EMAIL": "true", "SMTP_URL": mailbox.url},
    ).start()
    yield process
    process.stop()


async def new_page(browser: Browser, console: ConsoleErrors) -> Page:
    context = await browser.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(WAIT_MS)
    return console.watch(await context.new_page())


async def test_sign_up_confirm_forget_and_reset(
    verifying_server: ServerProcess, mailbox: SmtpServer, browser: Browser, console_errors
) -> None:
    base = verifying_server.url
    page = await new_page(browser, console_errors)
    await page.goto(f"{base}/signup")
    await page.get_by_label("Name").fill("Jo Journey")
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{base}/")
    await expect(page.get_by_test_id("verify-banner")).to_be_visible()

    (confirmation,) = await mailbox.sink.wait_for(1)
    assert str(confirmation["Subject"]) == "Confirm your email"
    verify_token = token_in(confirmation)
    await page.goto(f"{base}/verify-email#{verify_token}")
    await expect(page.get_by_text("Your email is confirmed")).to_be_visible()
    assert "#" not in page.url  # the token left the address bar
    await page.goto(f"{base}/")
    await expect(page.get_by_role("heading", level=1)).to_be_visible()
    await expect(page.get_by_test_id("verify-banner")).to_have_count(0)

    # another open page of the same person, which the reset must send to the login page
    other = page.context.pages[0]
    second = await page.context.new_page()
    console_errors.watch(second)
    await second.goto(f"{base}/dashboard")
    await expect(second.get_by_text("Hello, Jo Journey.")).to_be_visible()

    stranger = await new_page(browser, console_errors)
    await stranger.goto(f"{base}/login")
    await stranger.get_by_role("link", name="Forgot your password?").click()
    await stranger.wait_for_url(f"{base}/forgot-password")
    await stranger.get_by_label("Email").fill(EMAIL)
    await stranger.get_by_role("button", name="Send me a link").click()
    await expect(stranger.get_by_role("status")).to_contain_text("If an account uses this address")
    messages = await mailbox.sink.wait_for(2)
    reset_token = token_in(messages[-1])
    await stranger.goto(f"{base}/reset-password#{reset_token}")
    await stranger.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await stranger.get_by_label("New password again").fill(NEW_PASSWORD)
    await stranger.get_by_role("button", name="Set password and sign in").click()
    await stranger.wait_for_url(f"{base}/")
    await stranger.goto(f"{base}/dashboard")  # signed in: no detour by the login page
    await expect(stranger.get_by_text("Hello, Jo Journey.")).to_be_visible()

    await second.wait_for_url(f"{base}/login**", timeout=5_000)  # within 2 s, as promised
    assert other is page
    log = verifying_server.log_path.read_text(errors="replace")
    assert verify_token not in log and reset_token not in log
