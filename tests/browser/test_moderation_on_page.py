"""What moderation looks like on an open chat page, and the page of a room that is not open."""

import asyncio
import re
import uuid

import pytest
import requests
from playwright.async_api import Page, WebSocketRoute, expect

from chatsite import events
from tests.browser.conftest import (
    DESKTOP,
    JOIN_PAGE_URL,
    PHONE,
    join,
    messages,
    people,
    screenshot_path,
    send,
)
from tests.chat_client import unique_room
from tests.live_server import create_user, moderate, post_form, room_id, rooms_action

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def moderator(chat_server):
    http = requests.Session()
    session_key = create_user(chat_server, f"mod-{uuid.uuid4().hex[:6]}", "pw-mod-1", staff=True)
    http.cookies.set("sessionid", session_key)
    http.get(f"{chat_server.url}/admin/", timeout=5)  # for the CSRF cookie
    return http


async def hold_back_sent_messages(page: Page) -> None:
    """The page's `send_message`s never reach the server, so they stay pending."""

    def relay(route: WebSocketRoute) -> None:
        server = route.connect_to_server()
        route.on_message(
            lambda frame: None if f'"{events.SEND_MESSAGE}"' in str(frame) else server.send(frame)
        )

    await page.route_web_socket(re.compile(r"/socket\.io/"), relay)


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


async def test_a_moderators_announcement_is_a_notice_live_and_for_whoever_joins_later(
    open_page, chat_server, moderator
):
    room = unique_room("mod-announce")
    ana = await open_page()
    await join(ana, "Ana", new_room=room)

    await moderate(moderator, chat_server, room, "announce", text="Maintenance at noon")

    await expect(ana.locator(".notice").filter(has_text="Maintenance at noon")).to_have_count(1)
    bob = await open_page()
    await join(bob, "Bob", room=room)
    await expect(bob.locator(".notice").filter(has_text="Maintenance at noon")).to_have_count(1)
    await expect(messages(bob)).to_have_count(0)


@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "1280"), (PHONE, "375")])
async def test_when_a_moderator_removes_someone_then_their_page_says_why_and_goes_quiet(
    open_page, chat_server, moderator, viewport, size
):
    room = unique_room("mod-remove")
    ana, bob = await open_page(viewport=viewport), await open_page(viewport=viewport)
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    await send(bob, "I'll behave, promise")
    await hold_back_sent_messages(bob)
    await bob.reload()
    await expect(bob.locator("#connection")).to_have_text("Connected")
    box = bob.get_by_label("Message", exact=True)
    await box.fill("Buy cheap watches!!!")
    await box.press("Enter")
    await expect(bob.locator(".message--pending")).to_contain_text("Sending…")

    await moderate(moderator, chat_server, room, "remove", username="Bob", reason="Spamming")

    status = bob.get_by_role("alert")
    await expect(status).to_have_text(
        "A moderator removed you from this room: Spamming Back to the rooms"
    )
    await expect(bob.locator("#connection")).to_have_text("Not in the room")
    await expect(box).to_be_disabled()
    await expect(bob.get_by_role("button", name="Send")).to_be_disabled()
    await expect(bob.get_by_role("button", name="Leave")).to_be_hidden()
    await expect(bob.locator("#people .person")).to_have_count(0)
    pending = bob.locator(".message--pending")
    await expect(pending).to_contain_text("Not sent: you're no longer in this room.")
    await expect(pending).not_to_contain_text("Sending…")
    await expect(pending.get_by_role("button", name="Retry")).to_have_count(0)
    await expect(people(ana)).to_have_text(["Ana"])
    await bob.screenshot(path=screenshot_path(f"removed-{size}"))

    await status.get_by_role("link", name="Back to the rooms").click()
    await expect(bob).to_have_url(JOIN_PAGE_URL)


async def test_when_a_moderator_bans_someone_for_good_without_a_reason_then_their_page_says_so(
    open_page, chat_server, moderator
):
    room = unique_room("mod-ban")
    bob = await open_page()
    await join(bob, "Bob", new_room=room)

    await moderate(moderator, chat_server, room, "remove", username="Bob", for_good="on")

    await expect(bob.get_by_role("alert")).to_have_text(
        "A moderator banned you from this room. Back to the rooms"
    )
    await expect(bob.get_by_label("Message", exact=True)).to_be_disabled()


async def test_when_a_moderator_renames_the_room_then_the_page_gives_its_new_name(
    open_page, chat_server, moderator
):
    room, new_name = unique_room("mod-old"), unique_room("mod-new")
    ana = await open_page()
    await join(ana, "Ana", new_room=room)

    pk = room_id(chat_server, room)
    change = {"name": new_name, "slug": f"slug-{pk}"}
    path = f"/admin/rooms/room/{pk}/change/"
    await asyncio.to_thread(post_form, moderator, chat_server, path, change)

    await expect(ana.get_by_role("alert")).to_have_text(
        f"This room is now called {new_name}; join it under its new name. Back to the rooms"
    )
    await expect(ana.locator("#connection")).to_have_text("Not in the room")


async def test_when_a_moderator_closes_the_room_then_the_page_says_so_and_its_url_lists_open_rooms(
    open_page, chat_server, moderator
):
    room, other = unique_room("mod-close"), unique_room("still-open")
    ana, cem = await open_page(), await open_page()
    await join(cem, "Cem", new_room=other)
    await join(ana, "Ana", new_room=room)

    await rooms_action(moderator, chat_server, "close_rooms", room)

    await expect(ana.get_by_role("alert")).to_have_text(
        "This room has been closed by a moderator. Back to the rooms"
    )
    await expect(ana.get_by_label("Message", exact=True)).to_be_disabled()

    response = await ana.reload()
    assert response.status == 404
    await expect(ana.get_by_role("heading", name="This room isn\u2019t open")).to_be_visible()
    listed = ana.get_by_role("link", name=re.compile(f"^{re.escape(other)} 1 online$"))
    await expect(listed).to_be_visible()
    await expect(ana.get_by_role("link", name=re.compile(f"^{re.escape(room)} "))).to_have_count(0)
    await ana.screenshot(path=screenshot_path("room-not-open"))
    await listed.click()
    await expect(ana.locator("#room-title")).to_have_text(other)
    await expect(ana.locator("#connection")).to_have_text("Connected")


async def test_an_unknown_room_or_address_gets_a_friendly_not_found_page_with_a_way_back(
    open_page,
):
    visitor = await open_page()

    response = await visitor.goto("/rooms/no-such-room-here/")
    assert response.status == 404
    await expect(visitor.get_by_role("heading", name="This room isn\u2019t open")).to_be_visible()

    response = await visitor.goto("/nothing/at/this/address/")
    assert response.status == 404
    await expect(visitor.get_by_role("heading", name="Page not found")).to_be_visible()
    await visitor.get_by_role("link", name="Back to the rooms").click()
    await expect(visitor).to_have_url(JOIN_PAGE_URL)
