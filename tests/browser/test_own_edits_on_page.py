"""Editing and deleting your own messages on the chat page, and what the others see."""

import pytest
from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, join, messages, screenshot_path, send
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser


async def test_when_someone_edits_their_message_by_keyboard_then_everyone_sees_it_edited(
    open_page,
):
    room = unique_room("edit-page")
    ana, bob = await open_page(viewport=DESKTOP), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    await send(ana, "See you at 5")
    await send(bob, "ok")
    await expect(messages(ana)).to_have_count(2)
    await expect(messages(ana).last.get_by_role("button", name="Edit")).to_have_count(0)

    mine = messages(ana).first
    await mine.get_by_role("button", name="Edit").focus()
    await ana.keyboard.press("Enter")
    box = mine.get_by_role("textbox", name="Edit your message")
    await expect(box).to_be_focused()
    await box.press("Backspace")
    await box.type("6 **sharp**")
    await ana.screenshot(path=screenshot_path("edit-message-1280"))
    await box.press("Enter")

    for page in (ana, bob):
        first = messages(page).first
        await expect(first.locator(".message__text")).to_have_text("See you at 6 sharp")
        await expect(first.locator(".message__text strong")).to_have_text("sharp")
        await expect(first.locator(".message__edited")).to_have_text("edited")
    await expect(mine.get_by_role("button", name="Edit")).to_be_focused()
    await ana.screenshot(path=screenshot_path("edited-message-1280"))
    await bob.reload()
    await expect(messages(bob).first.locator(".message__text")).to_have_text("See you at 6 sharp")
    await expect(messages(bob).first.locator(".message__edited")).to_have_text("edited")


async def test_escape_leaves_the_message_as_it_was(open_page):
    ana = await open_page()
    await join(ana, "Ana", new_room=unique_room("edit-cancel"))
    await send(ana, "unchanged")
    mine = messages(ana).first
    await mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_role("textbox", name="Edit your message")
    await box.fill("changed")
    await box.press("Escape")
    await expect(box).to_have_count(0)
    await expect(mine.locator(".message__text")).to_have_text("unchanged")
    await expect(mine.locator(".message__edited")).to_have_count(0)


async def test_when_someone_deletes_their_message_then_it_is_gone_for_everyone(open_page):
    room = unique_room("delete-page")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    await send(ana, "wrong room, sorry")
    await send(ana, "hello")
    await expect(messages(bob)).to_have_count(2)
    asked = []

    async def accept(dialog):
        asked.append(dialog.message)
        await dialog.accept()

    ana.once("dialog", accept)
    await messages(ana).first.get_by_role("button", name="Delete").click()

    for page in (ana, bob):
        await expect(messages(page).locator(".message__text")).to_have_text(["hello"])
    assert asked == ["Delete this message for everyone?"]
    await expect(ana.get_by_label("Message", exact=True)).to_be_focused()
    await bob.reload()
    await expect(messages(bob)).to_have_count(1)
