"""The admin's live rooms view, in a real browser, updating as people come."""

import uuid

import pytest
from playwright.async_api import expect

from tests.browser.conftest import join, screenshot_path
from tests.chat_client import unique_room
from tests.live_server import create_user

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
