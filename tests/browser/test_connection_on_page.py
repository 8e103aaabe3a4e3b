"""The page and its connection: quiet reconnects, a people list that keeps its order, and
sending paced within the server's rate limit."""

import pytest
from playwright.async_api import expect

from chatsite import events
from chatsite.errors import ErrorCode
from tests.browser.conftest import join, messages, people
from tests.chat_client import ChatClient, close_quietly, unique_room
from tests.live_server import start_chat_server

pytestmark = pytest.mark.browser

RATE_LIMIT, RATE_BURST = 5, 10


@pytest.fixture(scope="module")
def rate_limited_server(tmp_path_factory, harperdb_settings):
    """A server with the rate limit of a real deployment (the shared one has it off)."""
    server = start_chat_server(
        tmp_path_factory.mktemp("rate-limited"),
        harperdb_settings,
        CHAT_RATE_LIMIT=str(RATE_LIMIT),
        CHAT_RATE_BURST=str(RATE_BURST),
    )
    yield server
    server.stop()


async def test_after_a_reconnect_the_welcome_is_not_repeated_and_presence_was_shown_unknown(
    open_page, connect
):
    room = unique_room("blip")
    bob = await connect()
    await bob.join("Bob", room)
    ana = await open_page()
    await join(ana, "Ana", room=room)
    await expect(ana.locator(".notice").filter(has_text="Welcome Ana")).to_have_count(1)
    await expect(ana.locator("#people")).to_have_attribute("data-presence", "known")
    await expect(ana.locator(".people__offline")).to_be_hidden()

    await ana.context.set_offline(True)
    await expect(ana.locator("#connection")).to_have_text("Reconnecting…")
    await expect(ana.locator("#people")).to_have_attribute("data-presence", "unknown")
    await expect(ana.locator(".people__offline")).to_be_visible()
    await ana.context.set_offline(False)
    await expect(ana.locator("#connection")).to_have_text("Connected", timeout=15_000)

    await expect(ana.locator("#people")).to_have_attribute("data-presence", "known")
    await bob.send("After the blip")
    await expect(messages(ana).last).to_contain_text("After the blip")
    await expect(ana.locator(".notice").filter(has_text="Welcome Ana")).to_have_count(1)


async def test_the_people_list_is_alphabetical_whatever_the_order_people_came_in(
    open_page, connect
):
    room = unique_room("order")
    zoe, bob = await connect(), await connect()
    await zoe.join("zoe", room)
    await bob.join("Bob", room)
    ana = await open_page()
    await join(ana, "Ana", room=room)
    await expect(people(ana)).to_have_text(["Ana", "Bob", "zoe"])

    await zoe.disconnect()
    await expect(people(ana)).to_have_text(["Ana", "Bob"])
    zoe_again = await connect()
    await zoe_again.join("zoe", room)
    await expect(people(ana)).to_have_text(["Ana", "Bob", "zoe"])


async def test_twenty_quick_messages_all_get_through_a_rate_limited_server_without_an_error(
    open_page, rate_limited_server
):
    room = unique_room("paced")
    watcher = ChatClient(rate_limited_server.url)
    await watcher.connect()
    try:
        await watcher.join("Watcher", room)
        ana = await open_page(base_url=rate_limited_server.url)
        frames: list[str] = []
        ana.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(frame)))
        await join(ana, "Ana", room=room)
        box = ana.get_by_label("Message", exact=True)

        for number in range(1, 21):
            await box.fill(f"Quick {number:02}")
            await box.press("Enter")

        await expect(ana.locator(".message--pending")).to_have_count(0, timeout=15_000)
        await expect(messages(ana).locator(".message__text")).to_have_text(
            [f"Quick {number:02}" for number in range(1, 21)]
        )
        await expect(ana.locator(".message--failed")).to_have_count(0)
        await expect(ana.get_by_role("alert")).to_be_hidden()
        assert not [frame for frame in frames if ErrorCode.RATE_LIMITED.value in str(frame)]
        await watcher.wait_for(events.RECEIVE_MESSAGE, lambda m: m["message"] == "Quick 20")
        assert [m["message"] for m in watcher.messages()] == [
            f"Quick {number:02}" for number in range(1, 21)
        ]
    finally:
        await close_quietly(watcher.disconnect(), "a socket.io client")
