"""WebSocket handshakes: which origins and which paths the server accepts."""

import asyncio
import uuid

import aiohttp
import pytest
import requests

from tests.live_server import create_user

LIVE_FEED = "/ws/admin/live-rooms/"


@pytest.fixture(scope="module")
def staff_cookie(chat_server) -> str:
    username = f"staff-{uuid.uuid4().hex[:6]}"
    return f"sessionid={create_user(chat_server, username, 'staff-password-1', staff=True)}"


async def handshake(url: str, path: str, *, origin: str, cookie: str = "") -> int:
    """The HTTP status a WebSocket handshake gets: 101 when it is accepted."""
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(
                url.replace("http", "ws", 1) + path, headers={"Origin": origin, "Cookie": cookie}
            ):
                return 101
        except aiohttp.WSServerHandshakeError as refused:
            return refused.status


def socketio_handshake(url: str, *, origin: str) -> int:
    """The HTTP status of a Socket.IO (Engine.IO polling) handshake from `origin`."""
    response = requests.get(
        f"{url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}, timeout=5
    )
    return response.status_code


async def test_the_live_feed_and_socketio_accept_the_sites_own_origin(chat_server, staff_cookie):
    own = chat_server.url
    assert await handshake(chat_server.url, LIVE_FEED, origin=own, cookie=staff_cookie) == 101
    assert await asyncio.to_thread(socketio_handshake, chat_server.url, origin=own) == 200


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:9999",
        "https://localhost:4444",
        "https://127.0.0.1:{port}",
        "http://localhost:{port}",
        "http://evil.example",
    ],
)
async def test_another_scheme_host_or_port_is_refused_by_the_live_feed_as_by_socketio(
    chat_server, staff_cookie, origin
):
    origin = origin.format(port=chat_server.port)
    status = await handshake(chat_server.url, LIVE_FEED, origin=origin, cookie=staff_cookie)
    assert status == 403
    assert await asyncio.to_thread(socketio_handshake, chat_server.url, origin=origin) == 400


async def test_an_unknown_websocket_path_is_refused_without_a_server_error(chat_server):
    errors_before = chat_server.log().count("No route found")
    assert await handshake(chat_server.url, "/ws/nope/", origin=chat_server.url) == 403
    plain = await asyncio.to_thread(requests.get, f"{chat_server.url}/ws/nope/", timeout=5)
    assert plain.status_code == 404
    assert chat_server.log().count("No route found") == errors_before
