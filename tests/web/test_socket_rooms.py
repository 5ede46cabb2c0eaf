"""The hooks that only a real server shows (a `python main.py` process, python-socketio's
client as the page's browser):

- broadcast_to_pages (components/live_numbers.py) relies on NiceGUI's handshake putting a
  page's socket into the room named after its client id: a broadcast for that room reaches it;
- the middleware split (app/web/middleware.py, `build_middleware_stack`) keeps NiceGUI's
  page middleware (its session cookie) off the API's way, and on the pages'.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
import socketio

from tests.e2e.api_client import create_event, register, sign_up
from tests.support.server import open_page

SOCKET_PATH = "/_nicegui_ws/socket.io"


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_a_broadcast_reaches_the_socket_of_a_page_showing_the_event(server):
    owner = sign_up(server.url, "Organiser")
    event = create_event(server.url, owner, max_capacity=3)
    client_id, cookie = await asyncio.to_thread(open_page, server, f"/kiosk/{event['id']}")
    heard: asyncio.Queue[Any] = asyncio.Queue()
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("live_numbers", heard.put_nowait)
    query = (
        f"client_id={client_id}&implicit_handshake=true&next_message_id=0"
        f"&tab_id={uuid.uuid4()}&document_id={uuid.uuid4()}"
    )
    await sio.connect(
        f"{server.url}?{query}",
        socketio_path=SOCKET_PATH,
        transports=["websocket"],
        headers={"Origin": server.url, "Cookie": f"session={cookie}"},
        wait_timeout=5,
    )
    try:
        await asyncio.to_thread(register, server.url, sign_up(server.url, "Guest"), event["id"])
        message = await asyncio.wait_for(heard.get(), timeout=10)
        assert message["events"][str(event["id"])]["available"] == 2
    finally:
        await sio.disconnect()


def test_pages_get_nicegui_session_cookie_and_the_api_does_not(server):
    assert "session" in httpx.get(f"{server.url}/login").cookies
    answer = httpx.get(f"{server.url}/api/events")
    assert answer.status_code == 200
    assert "session" not in answer.cookies
