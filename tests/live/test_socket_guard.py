"""Issue 13 item 7: a page's socket only from the site's origin and the page's own browser
session. Against a real server process (`python main.py`), with python-socketio's client."""

from __future__ import annotations

import asyncio

import pytest
import socketio

from app.web.socket_guard import BROWSER_LOG_MAX, browser_log_line
from tests.support.server import ServerProcess, open_page

SOCKET_PATH = "/_nicegui_ws/socket.io"


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def try_connect(server: ServerProcess, client_id: str, headers: dict[str, str]) -> bool:
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(
            f"{server.url}?client_id={client_id}",
            socketio_path=SOCKET_PATH,
            transports=["websocket"],
            headers=headers,
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        return False
    await sio.disconnect()
    return True


async def test_a_foreign_origin_or_another_session_cannot_open_a_pages_socket(server):
    client_id, cookie = open_page(server)
    own = {"Origin": server.url, "Cookie": f"session={cookie}"}
    assert not await try_connect(server, client_id, {"Origin": "https://evil.example"})
    assert not await try_connect(
        server, client_id, {"Origin": "https://evil.example", "Cookie": f"session={cookie}"}
    )
    assert not await try_connect(server, client_id, {"Origin": server.url})  # no cookie
    _, other_cookie = open_page(server)  # another browser's valid session
    assert not await try_connect(
        server, client_id, {"Origin": server.url, "Cookie": f"session={other_cookie}"}
    )
    # the page's own browser still connects (the control: the refusals above are the guard)
    assert await try_connect(server, client_id, own)


async def test_a_kiosk_framed_without_cookies_still_connects_from_the_sites_origin(server):
    """A lobby screen framed by a signage site keeps no cookie of ours (SameSite=Lax in a
    third-party frame): its public, read-only page connects by origin alone."""
    client_id, _ = open_page(server, "/kiosk")
    assert not await try_connect(server, client_id, {"Origin": "https://evil.example"})
    assert await try_connect(server, client_id, {"Origin": server.url})


async def handshake_answer(
    server: ServerProcess, query: str, headers: dict[str, str], client_id: str
) -> bool | None:
    """Connect with `query` (no implicit handshake), then send NiceGUI's explicit handshake
    for `client_id`: its answer (True: the socket joined the page), None if refused at
    connect."""
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await sio.connect(
            f"{server.url}?{query}",
            socketio_path=SOCKET_PATH,
            transports=["websocket"],
            headers=dict(headers),  # the client takes the Cookie out of the dict it is given
            wait_timeout=5,
        )
    except socketio.exceptions.ConnectionError:
        return None
    try:
        data = {"client_id": client_id, "tab_id": "t1", "document_id": "d1"}
        answer = await sio.call("handshake", data, timeout=5)
    finally:
        await sio.disconnect()
    return bool(answer)


async def test_an_explicit_handshake_cannot_join_another_browsers_page(server):
    client_id, cookie = open_page(server)
    _, other_cookie = open_page(server)
    origin = {"Origin": server.url}
    # a socket that named no page at connect, without the page's cookie, then handshakes
    assert not await handshake_answer(server, "x=1", origin, client_id)
    assert not await handshake_answer(
        server, "x=1", {**origin, "Cookie": f"session={other_cookie}"}, client_id
    )
    # even with the page's own cookie, a handshake must name the page the connect named
    own = {**origin, "Cookie": f"session={cookie}"}
    assert not await handshake_answer(server, "x=1", own, client_id)
    other_id, _ = open_page(server)
    assert not await handshake_answer(server, f"client_id={other_id}", own, client_id)
    # the control: the page's own browser, connect and handshake naming the page, joins it
    assert await handshake_answer(server, f"client_id={client_id}", own, client_id)


async def test_a_pages_log_message_cannot_forge_error_records(server):
    client_id, cookie = open_page(server)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        f"{server.url}?client_id={client_id}&implicit_handshake=true&tab_id=t&document_id=d",
        socketio_path=SOCKET_PATH,
        transports=["websocket"],
        headers={"Origin": server.url, "Cookie": f"session={cookie}"},
        wait_timeout=5,
    )
    forged = "boom\n2026-01-01 ERROR app.security: admin password reset FORGED-LINE"
    await sio.emit("log", {"client_id": client_id, "level": "error", "message": forged})
    await sio.emit("log", {"client_id": client_id, "level": "nonsense", "message": "x"})
    await sio.call("ack", {"client_id": client_id, "next_message_id": 0}, timeout=5)
    await asyncio.sleep(0.3)  # handlers run as tasks of their own
    await sio.disconnect()
    assert "FORGED-LINE" not in server.log()  # DEBUG is below the production log level
    assert "KeyError" not in server.log()  # an unknown level is no crash either


def test_a_browser_log_line_is_one_capped_line():
    line = browser_log_line({"level": "error\n", "message": "a\r\nERROR b\x1b[31m" + "x" * 900})
    assert line is not None
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert len(line) < BROWSER_LOG_MAX + 40
    assert browser_log_line({"message": 3}) is None
    assert browser_log_line("junk") is None
