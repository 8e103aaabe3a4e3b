"""End-to-end fixtures: the app under Daphne, and socket.io clients connected to it."""

import pytest

from tests.chat_client import ChatClient, close_quietly
from tests.live_server import start_chat_server


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory, harperdb_settings):
    """The server most tests share: rate limits off, short presence grace period."""
    server = start_chat_server(tmp_path_factory.mktemp("chat-server"), harperdb_settings)
    yield server
    server.stop()


@pytest.fixture
async def connect(chat_server):
    """Open socket.io clients to the shared server; all are closed after the test."""
    clients: list[ChatClient] = []

    async def open_client(url: str | None = None, **options) -> ChatClient:
        client = ChatClient(url or chat_server.url)
        await client.connect(**options)
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        await close_quietly(client.disconnect(), "a socket.io client")


@pytest.fixture
def people(connect):
    """`await people(room, "Ana", "Bob")`: a client per name, each joined to `room` in turn."""

    async def join(room: str, *names: str, url: str | None = None) -> list[ChatClient]:
        clients = []
        for name in names:
            client = await connect(url)
            await client.join(name, room)
            clients.append(client)
        return clients

    return join
