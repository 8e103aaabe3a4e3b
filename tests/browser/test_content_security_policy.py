"""Every page works under the Content-Security-Policy: the browser blocks nothing."""

import uuid

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import join, send
from tests.chat_client import unique_room
from tests.live_server import create_user, moderation_path, room_id

pytestmark = pytest.mark.browser

# Registered before any page script runs; the browser reports each blocked load or inline
# script/style through this event (and the console).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


async def watched_page(open_page) -> tuple[Page, list[str]]:
    """A page that records what the policy blocked, in its events and its console."""
    page = await open_page()
    await page.add_init_script(RECORD_VIOLATIONS)
    blocked: list[str] = []

    def note(message) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", note)
    return page, blocked


async def violations(page: Page, console: list[str]) -> list[str]:
    return [*await page.evaluate("window.__violations"), *console]


async def test_the_chat_pages_run_under_the_policy(open_page):
    page, console = await watched_page(open_page)
    await join(page, "Ana", new_room=unique_room("csp"))  # connected: scripts and socket ran
    await send(page, "Hello under the policy")
    assert await violations(page, console) == []


async def test_the_admin_pages_run_under_the_policy(open_page, chat_server):
    visitor = await open_page()
    room = unique_room("csp-admin")
    await join(visitor, "Ana", new_room=room)
    await send(visitor, "line one\nline two")
    session_key = create_user(chat_server, f"staff-{uuid.uuid4().hex[:6]}", "pw-1", staff=True)
    page, console = await watched_page(open_page)
    await page.context.add_cookies(
        [{"name": "sessionid", "value": session_key, "url": chat_server.url}]
    )
    react = room_id(chat_server, "React")
    for path in (
        "/admin/",
        "/admin/rooms/room/",
        "/admin/rooms/room/add/",
        f"/admin/rooms/room/{react}/change/",
        "/admin/auth/user/add/",
        moderation_path(chat_server, room),
    ):
        await page.goto(path)
        await expect(page.locator("#content")).to_be_visible()
        assert await violations(page, console) == [], path
    moderated = page.locator(".message-text").first
    await expect(moderated).to_have_css("white-space", "pre-wrap")
    await page.goto("/admin/live-rooms/")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    assert await violations(page, console) == []
