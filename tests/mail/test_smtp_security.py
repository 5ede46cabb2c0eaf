"""How mail reaches the server (issue 21, item 4): `smtp://` with credentials never logs in
without STARTTLS, a stripped STARTTLS offer gets neither the login nor a message, and
plaintext is only for a loopback server without credentials or `smtp+insecure://`. Real
aiosmtpd servers, with and without STARTTLS (a certificate made for the test)."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import ValidationError

from app.config import Settings
from app.db import Database
from app.mail.sender import INSECURE, SmtpTarget
from app.services import registrations
from models.outbox import MailStatus
from tests.mail.conftest import Sink, outbox
from tests.support.server import free_port


class Logins:
    """The authenticator of the test server: remembers every login it was offered."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []  # (mechanism, over TLS)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.seen.append((mechanism, session.ssl is not None))
        return AuthResult(success=True)


class AuthServer:
    def __init__(self, host: str, tls: ssl.SSLContext | None) -> None:
        self.sink = Sink()
        self.logins = Logins()
        self.host = host
        self.port = free_port()
        self.controller = Controller(
            self.sink,
            hostname=host,
            port=self.port,
            authenticator=self.logins,
            auth_require_tls=False,  # a careless server: offers AUTH in plaintext
            tls_context=tls,
        )

    def url(self, scheme: str = "smtp", credentials: bool = True) -> str:
        login = "mailer:s3cret%40pw@" if credentials else ""
        return f"{scheme}://{login}{self.host}:{self.port}"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it via SSL_CERT_FILE)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _serve(host: str, tls: ssl.SSLContext | None) -> Iterator[AuthServer]:
    server = AuthServer(host, tls)
    try:
        server.controller.start()
    except OSError as exc:  # pragma: no cover - the machine has no such address
        pytest.skip(f"cannot listen on {host}: {exc}")
    yield server
    server.controller.stop()


@pytest.fixture
def plain_server() -> Iterator[AuthServer]:
    """Offers AUTH but no STARTTLS: what a man in the middle who strips the offer shows."""
    yield from _serve("127.0.0.1", None)


@pytest.fixture
def tls_server(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Iterator[AuthServer]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's trust store
    yield from _serve("127.0.0.1", context)


async def _register_one(session, make_user, make_event) -> None:
    owner, ann = await make_user(), await make_user()
    event = await make_event(owner)
    await registrations.register_attendee(session=session, event_id=event.id, user_id=ann.id)


async def test_credentials_are_never_sent_to_a_server_without_starttls(
    database: Database, session, make_user, make_event, make_sender, plain_server: AuthServer
):
    await _register_one(session, make_user, make_event)
    sender = make_sender(plain_server.url())
    assert await sender.deliver_due() == 1
    [row] = await outbox(database)
    assert plain_server.logins.seen == []  # no AUTH PLAIN for the man in the middle
    assert plain_server.sink.messages == []  # and no message either
    assert row.status == MailStatus.PENDING  # retried: the server may be fixed
    assert (row.last_error or "").startswith(INSECURE)
    assert "does not offer STARTTLS" in (row.last_error or "")


async def test_with_starttls_the_login_and_the_message_travel_encrypted(
    database: Database, session, make_user, make_event, make_sender, tls_server: AuthServer
):
    await _register_one(session, make_user, make_event)
    sender = make_sender(tls_server.url())
    assert await sender.deliver_due() == 1
    [row] = await outbox(database)
    assert row.status == MailStatus.SENT, row.last_error
    assert tls_server.logins.seen == [("PLAIN", True)]
    assert len(tls_server.sink.messages) == 1


async def test_plaintext_with_credentials_only_by_the_explicit_insecure_scheme(
    database: Database, session, make_user, make_event, make_sender, plain_server: AuthServer
):
    await _register_one(session, make_user, make_event)
    sender = make_sender(plain_server.url("smtp+insecure"))
    assert await sender.deliver_due() == 1
    [row] = await outbox(database)
    assert row.status == MailStatus.SENT, row.last_error
    assert plain_server.logins.seen == [("PLAIN", False)]


def _non_loopback_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            return str(probe.getsockname()[0])
        except OSError:  # pragma: no cover
            return "127.0.0.1"


@pytest.fixture
def remote_plain_server() -> Iterator[AuthServer]:
    host = _non_loopback_address()
    if host.startswith("127."):  # pragma: no cover
        pytest.skip("this machine has no non-loopback address")
    yield from _serve(host, None)


async def test_a_remote_server_without_starttls_gets_no_mail_even_without_credentials(
    database: Database,
    session,
    make_user,
    make_event,
    make_sender,
    remote_plain_server: AuthServer,
):
    await _register_one(session, make_user, make_event)
    sender = make_sender(remote_plain_server.url(credentials=False))
    await sender.deliver_due()
    [row] = await outbox(database)
    assert remote_plain_server.sink.messages == []
    assert row.status == MailStatus.PENDING and "STARTTLS" in (row.last_error or "")


def test_which_url_asks_for_what():
    assert SmtpTarget.parse("smtp://u:p@mail.example.org").start_tls is True
    assert SmtpTarget.parse("smtp://mail.example.org:587").start_tls is True
    assert SmtpTarget.parse("smtp://u:p@127.0.0.1:25").start_tls is True
    assert SmtpTarget.parse("smtp://localhost:25").start_tls is None  # loopback, no login
    assert SmtpTarget.parse("smtp+insecure://u:p@relay.lan").start_tls is None
    tls = SmtpTarget.parse("smtps://u:p@mail.example.org")
    assert (tls.use_tls, tls.start_tls, tls.port) == (True, False, 465)
    assert Settings(smtp_url="smtp+insecure://relay.lan:25").smtp_url
    with pytest.raises(ValidationError, match="smtp\\+insecure://"):
        Settings(smtp_url="smtp+tls://mail.example.org")
