"""Browser tests: Debian's headless Chromium driven by Playwright against the real server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.chat_client import close_quietly

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

expect.set_options(timeout=10_000)

# The join page itself: "/" right after the host (r"/$" alone also matches /rooms/<slug>/).
JOIN_PAGE_URL = re.compile(r"^https?://[^/]+/$")


@pytest.fixture(scope="session")
async def browser() -> Browser:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await close_quietly(chromium.close(), "the browser")


@pytest.fixture
async def open_page(browser, chat_server):
    """Open a page in a browser context of its own: each one is a different person.

    The page is on the shared server unless `base_url` names another. A script error on any
    page fails the test."""
    contexts: list[BrowserContext] = []
    script_errors: list[str] = []

    async def open_one(**context_options) -> Page:
        context = await browser.new_context(**{"base_url": chat_server.url, **context_options})
        context.set_default_timeout(10_000)
        context.on("weberror", lambda error: script_errors.append(str(error.error)))
        contexts.append(context)
        return await context.new_page()

    yield open_one
    for context in contexts:
        await close_quietly(context.close(), "a browser context")
    assert script_errors == []


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


async def room_option_value(page: Page, room: str) -> str:
    option = page.locator("#id_room option").filter(has_text=re.compile(f"^{re.escape(room)} ·"))
    return await option.get_attribute("value")


async def fill_join_form(
    page: Page, username: str, *, room: str | None = None, new_room: str | None = None
) -> None:
    await page.goto("/")
    await page.get_by_label("Username").fill(username)
    if new_room is not None:
        await page.get_by_label("Or create a new room").fill(new_room)
    else:
        await page.get_by_label("Room", exact=True).select_option(
            await room_option_value(page, room)
        )


async def join(
    page: Page, username: str, *, room: str | None = None, new_room: str | None = None
) -> None:
    """Go through the join form into a room and wait until the page is in it."""
    await fill_join_form(page, username, room=room, new_room=new_room)
    await page.get_by_role("button", name="Join").click()
    await expect(page).to_have_url(re.compile(r"/rooms/[^/]+/$"))
    await expect(page.locator("#connection")).to_have_text("Connected")


async def send(page: Page, text: str) -> None:
    """Type a message and press Enter, then wait until the server has confirmed it."""
    box = page.get_by_label("Message", exact=True)
    await box.fill(text)
    await box.press("Enter")
    await expect(page.locator(".message--pending")).to_have_count(0)


def messages(page: Page):
    return page.locator("#messages .message")


def people(page: Page):
    return page.locator("#people .person__name")


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

# Headless pages are always "visible": this lets a test hide and show one, as switching tabs
# does, through document.visibilityState and the visibilitychange event.
EMULATED_VISIBILITY = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: () => (hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


async def set_hidden(page: Page, hidden: bool) -> None:
    """Hide or show a page opened with EMULATED_VISIBILITY as its init script."""
    await page.evaluate("hidden => window.__setHidden(hidden)", hidden)
