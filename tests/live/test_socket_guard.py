"""Issue 13 item 7: a page's socket only from the site's origin and the page's own browser
session. Against a real server process (`python main.py`), with python-socketio's client."""

from __future__ import annotations

import pytest
import socketio

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


async def test_item7_a_foreign_origin_or_another_session_cannot_open_a_pages_socket(server):
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
