"""The admin's Rooms list and Moderate page in a real browser, as staff use them at 1280 px."""

import uuid

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, screenshot_path
from tests.chat_client import unique_room
from tests.live_server import create_user, moderation_path

pytestmark = pytest.mark.browser


@pytest.fixture
async def staff(open_page, chat_server) -> Page:
    session_key = create_user(
        chat_server, f"staff-{uuid.uuid4().hex[:6]}", "pw-staff-1", staff=True
    )
    page = await open_page(viewport=DESKTOP)
    await page.context.add_cookies(
        [{"name": "sessionid", "value": session_key, "url": chat_server.url}]
    )
    return page


async def test_the_rooms_list_keeps_every_column_on_screen_with_a_long_room_name(staff, connect):
    room = unique_room("a-very-long-room-name-that-goes-on-and-on-and-on")
    member = await connect()
    await member.join("Ana", room)

    await staff.goto(f"/admin/rooms/room/?q={room}")

    name = staff.get_by_title(room, exact=True).first
    await expect(name).to_be_visible()
    await staff.screenshot(path=screenshot_path("admin-rooms-1280"))
    results = staff.locator(".results")
    assert await results.evaluate("box => box.scrollWidth <= box.clientWidth"), "it scrolls"
    edge = await results.bounding_box()
    moderate = await staff.get_by_role("link", name="Moderate").bounding_box()
    assert moderate["x"] + moderate["width"] <= edge["x"] + edge["width"]


async def test_the_index_links_to_the_live_rooms_page(staff):
    await staff.goto("/admin/")
    await staff.get_by_role("link", name="Live rooms").click()
    await expect(staff.get_by_role("heading", name="Live rooms")).to_be_visible()


async def test_delete_on_the_moderate_page_asks_first_and_says_whose_message_went(
    staff, chat_server, connect
):
    room = unique_room("confirm")
    member = await connect()
    await member.join("Ana", room)
    await member.send("Buy cheap watches")
    await staff.goto(moderation_path(chat_server, room))
    row = staff.get_by_role("row").filter(has_text="Buy cheap watches")
    await expect(row.locator("time")).to_be_visible()

    staff.once("dialog", lambda dialog: dialog.dismiss())
    await row.get_by_role("button", name="Delete").click()
    await expect(row).to_be_visible()

    staff.once("dialog", lambda dialog: dialog.accept())
    await row.get_by_role("button", name="Delete").click()
    await expect(staff.locator(".messagelist")).to_have_text(
        f"Deleted Ana's message “Buy cheap watches” from {room}."
    )
    await expect(row).to_have_count(0)
