"""What moderation looks like on an open chat page."""

import uuid

import pytest
import requests
from playwright.async_api import expect

from tests.browser.conftest import join, messages, send
from tests.chat_client import unique_room
from tests.live_server import create_user, moderate

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def moderator(chat_server):
    http = requests.Session()
    session_key = create_user(chat_server, f"mod-{uuid.uuid4().hex[:6]}", "pw-mod-1", staff=True)
    http.cookies.set("sessionid", session_key)
    http.get(f"{chat_server.url}/admin/", timeout=5)  # for the CSRF cookie
    return http


async def test_when_a_moderator_deletes_a_message_then_it_vanishes_from_open_pages(
    open_page, chat_server, connect, moderator
):
    room = unique_room("mod-delete")
    ana = await open_page()
    await join(ana, "Ana", new_room=room)
    await send(ana, "keep this")
    writer = await connect()
    await writer.join("Bob", room)
    doomed = await writer.send("delete this")
    await expect(messages(ana)).to_have_count(2)

    await moderate(moderator, chat_server, room, "delete", message_id=doomed["id"])

    await expect(messages(ana)).to_have_count(1)
    await expect(messages(ana)).to_contain_text("keep this")


async def test_when_a_moderator_removes_someone_then_their_page_says_why(
    open_page, chat_server, moderator
):
    room = unique_room("mod-remove")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)

    await moderate(
        moderator, chat_server, room, "remove", username="Bob", reason="Please keep it friendly."
    )

    await expect(bob.get_by_text("Please keep it friendly.")).to_be_visible()
    await expect(bob.get_by_role("link", name="Back to the rooms")).to_be_visible()
    await expect(ana.locator("#people .person__name")).to_have_text(["Ana"])
