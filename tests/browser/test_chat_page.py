"""The join form and the chat page, in real browsers against the real server."""

import pytest
from playwright.async_api import expect

from tests.browser.conftest import join, messages, people, screenshot_path, send
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser


async def test_smoke(open_page):
    room = unique_room("smoke")
    ana = await open_page()
    ana.on("console", lambda m: print("CONSOLE", m.type, m.text))
    ana.on("pageerror", lambda e: print("PAGEERROR", e))
    await join(ana, "Ana", new_room=room)
    await send(ana, "hello")
    await expect(messages(ana)).to_have_count(1)
    await expect(people(ana)).to_have_text(["Ana"])
    await ana.screenshot(path=screenshot_path("smoke"))
