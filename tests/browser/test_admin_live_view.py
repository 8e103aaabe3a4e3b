"""The admin's live rooms view, in a real browser, updating as people come and messages go."""

import asyncio
import uuid

import pytest
from playwright.async_api import expect

from tests.browser.conftest import join, screenshot_path
from tests.chat_client import unique_room
from tests.live_server import create_user, logged_in, moderate

pytestmark = pytest.mark.browser


async def test_staff_watch_a_person_join_on_the_live_rooms_view(open_page, chat_server):
    session_key = create_user(
        chat_server, f"staff-{uuid.uuid4().hex[:6]}", "pw-staff-1", staff=True
    )
    staff = await open_page()
    await staff.context.add_cookies(
        [{"name": "sessionid", "value": session_key, "url": chat_server.url}]
    )
    await staff.goto("/admin/live-rooms/")
    await expect(staff.get_by_role("heading", name="Live rooms")).to_be_visible()
    await expect(staff.locator("#live-state")).to_have_attribute("data-state", "live")

    room = unique_room("watched")
    visitor = await open_page()
    await join(visitor, "Ana", new_room=room)
    row = staff.locator(f'#live-rooms tr[data-room="{room}"]')
    await expect(row.locator(".people li")).to_contain_text("Ana (since")
    await expect(row.locator(".people li")).to_contain_text("1 connection")
    await expect(row.get_by_role("link", name="Find")).to_have_attribute(
        "href", f"/admin/rooms/room/?q={room}"
    )
    await staff.screenshot(path=screenshot_path("admin-live-rooms"), full_page=True)


async def test_a_deleted_recent_message_leaves_both_counts_on_the_live_rooms_view(
    open_page, chat_server, connect
):
    username, password = f"staff-{uuid.uuid4().hex[:6]}", "pw-staff-2"
    session_key = create_user(chat_server, username, password, staff=True)
    staff = await open_page()
    await staff.context.add_cookies(
        [{"name": "sessionid", "value": session_key, "url": chat_server.url}]
    )
    room = unique_room("counted")
    ana = await connect()
    await ana.join("Ana", room)
    kept, doomed = await ana.send("kept"), await ana.send("doomed")
    await staff.goto("/admin/live-rooms/")
    await expect(staff.locator("#live-state")).to_have_attribute("data-state", "live")
    row = staff.locator(f'#live-rooms tr[data-room="{room}"]')
    await expect(row.locator(".last-hour")).to_have_text("2")

    moderator = await asyncio.to_thread(logged_in, chat_server, username, password)
    await moderate(moderator, chat_server, room, "delete", message_id=doomed["id"])

    await expect(row.locator(".total")).to_have_text("1")
    await expect(row.locator(".last-hour")).to_have_text("1")
    assert kept["ok"]
