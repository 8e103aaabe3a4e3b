"""The join form and the chat page, in real browsers against the real server."""

import json
import re
import time

import pytest
from playwright.async_api import expect

from chatsite import events
from tests.browser.conftest import (
    JOIN_PAGE_URL,
    fill_join_form,
    join,
    messages,
    people,
    room_option_value,
    screenshot_path,
    send,
)
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser

DOUBLE_THE_PAGES_MESSAGE_LIMIT = """
const parse = JSON.parse;
JSON.parse = (text, reviver) => {
  const value = parse(text, reviver);
  if (value && value.messageMaxLength) value.messageMaxLength *= 2;
  return value;
};
"""


async def test_when_two_people_join_the_same_room_then_they_chat_and_nobody_elsewhere_sees_it(
    open_page,
):
    room, elsewhere = unique_room("pair"), unique_room("elsewhere")
    ana, bob, cem = await open_page(), await open_page(), await open_page()
    await join(cem, "Cem", new_room=elsewhere)
    await join(ana, "Ana", new_room=room)

    await fill_join_form(bob, "Bob", room=room)
    await expect(bob.locator("#id_room option").filter(has_text=room)).to_have_text(
        f"{room} · 1 online"
    )
    await bob.screenshot(path=screenshot_path("join-page"))
    await bob.get_by_role("button", name="Join").click()
    await expect(bob.locator("#connection")).to_have_text("Connected")

    await expect(people(ana)).to_have_text(["Ana", "Bob"])
    await expect(people(bob)).to_have_text(["Ana", "Bob"])
    await expect(bob.locator("#people strong")).to_have_text("Bob")
    await expect(ana.locator(".notice").last).to_have_text(re.compile("^Bob has joined"))

    await send(ana, "Hi Bob! Did the deploy go out?")
    await expect(messages(bob).last).to_contain_text("Hi Bob! Did the deploy go out?")
    await send(bob, "It did. Release notes:\n- faster rooms\n- typing indicator")
    await expect(messages(ana).last.locator(".message__text")).to_have_text(
        "It did. Release notes:\n- faster rooms\n- typing indicator"
    )
    await expect(messages(ana).last.locator(".message__author")).to_have_text("Bob")
    await send(ana, "Nice, thanks!")
    await expect(messages(bob)).to_have_count(3)
    await expect(bob.get_by_label("Message", exact=True)).to_be_focused()
    await bob.screenshot(path=screenshot_path("chat-page"))

    await send(cem, "Anyone here?")
    await expect(messages(cem)).to_have_text([re.compile("Anyone here")])
    await expect(people(cem)).to_have_text(["Cem"])
    await expect(cem.locator("#messages")).not_to_contain_text("Bob")


async def test_when_someone_leaves_then_the_others_people_list_drops_them(open_page):
    room = unique_room("leave")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    await expect(people(ana)).to_have_text(["Ana", "Bob"])

    await bob.get_by_role("button", name="Leave").click()

    await expect(bob).to_have_url(JOIN_PAGE_URL)
    await expect(bob.get_by_label("Username")).to_have_value("Bob")
    await expect(people(ana)).to_have_text(["Ana"])
    await expect(ana.locator(".notice").last).to_have_text(re.compile("^Bob has left the chat"))


async def test_when_the_page_is_refreshed_then_name_room_and_history_stay(open_page):
    room = unique_room("refresh")
    ana = await open_page()
    await join(ana, "Ana", new_room=room)
    await send(ana, "Written before the refresh")
    url = ana.url

    await ana.reload()

    await expect(ana.locator("#connection")).to_have_text("Connected")
    assert ana.url == url
    await expect(ana.locator("#room-title")).to_have_text(room)
    await expect(people(ana)).to_have_text(["Ana"])
    await expect(messages(ana)).to_have_count(1)
    await expect(messages(ana)).to_contain_text(["Written before the refresh"])


async def test_when_a_message_contains_html_then_everybody_sees_it_as_text(open_page):
    room = unique_room("html")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    html = '<b>bold</b> <img src=x onerror="window.pwned = true">'

    await send(ana, html)

    await expect(messages(bob).locator(".message__text")).to_have_text([html])
    for page in (ana, bob):
        await expect(page.locator("#messages b, #messages img")).to_have_count(0)
        assert await page.evaluate("window.pwned") is None


async def test_when_shift_enter_is_pressed_then_a_line_is_added_and_only_enter_sends(open_page):
    ana = await open_page()
    await join(ana, "Ana", new_room=unique_room("lines"))
    box = ana.get_by_label("Message", exact=True)

    await box.type("first line")
    await box.press("Shift+Enter")
    await box.type("second line")
    await expect(messages(ana)).to_have_count(0)
    await box.press("Enter")

    await expect(messages(ana).locator(".message__text")).to_have_text(["first line\nsecond line"])
    await expect(box).to_have_value("")
    await expect(box).to_be_focused()


async def test_when_a_message_is_over_the_limit_then_the_counter_says_so_and_send_is_off(
    open_page,
):
    ana = await open_page()
    await join(ana, "Ana", new_room=unique_room("limit"))
    limit = json.loads(await ana.locator("#chat-config").text_content())["messageMaxLength"]
    box = ana.get_by_label("Message", exact=True)

    await box.fill("x" * (limit + 1))

    await expect(ana.locator("#message-counter")).to_contain_text("1 too many")
    await expect(ana.get_by_role("button", name="Send")).to_be_disabled()
    await box.press("Backspace")
    await expect(ana.get_by_role("button", name="Send")).to_be_enabled()


async def test_when_someone_types_then_the_others_see_it_until_it_expires(open_page):
    room = unique_room("typing")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)

    await ana.get_by_label("Message", exact=True).type("I am writing some")

    await expect(bob.locator("#typing")).to_have_text("Ana is typing…")
    await expect(ana.locator("#typing")).to_have_text("")
    shown_at = time.monotonic()
    await expect(bob.locator("#typing")).to_have_text("", timeout=8_000)
    assert time.monotonic() - shown_at > 4


async def test_when_scrolled_to_the_top_then_older_messages_load(open_page, connect):
    room = unique_room("history")
    seeder = await connect()
    await seeder.join("Seeder", room)
    for number in range(1, 121):
        assert (await seeder.send(f"Seed {number:03}"))["ok"]
    ana = await open_page()
    await fill_join_form(ana, "Ana", room=room)
    await ana.get_by_role("button", name="Join").click()

    await expect(messages(ana)).to_have_count(100)
    await expect(messages(ana).first).to_contain_text("Seed 021")
    await expect(messages(ana).last).to_contain_text("Seed 120")
    await ana.locator("#log").evaluate("log => { log.scrollTop = 0; }")

    await expect(messages(ana)).to_have_count(120)
    await expect(messages(ana).first).to_contain_text("Seed 001")
    await expect(ana.locator("#log-start")).to_be_visible()
    assert await ana.locator("#log").evaluate("log => log.scrollTop") > 0

    await seeder.send("Seed 121")
    await expect(ana.get_by_role("button", name="New messages ↓")).to_be_visible()
    await ana.get_by_role("button", name="New messages ↓").click()
    await expect(messages(ana).last).to_be_in_viewport()
    await expect(ana.get_by_role("button", name="New messages ↓")).to_be_hidden()


async def test_when_the_name_is_taken_in_the_room_then_the_join_form_says_so(open_page):
    room = unique_room("taken")
    ana, impostor = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)

    await fill_join_form(impostor, "ana", room=room)
    await impostor.get_by_role("button", name="Join").click()

    await expect(impostor.locator("#id_username_error")).to_contain_text("already uses this name")
    await expect(impostor.get_by_label("Username")).to_be_focused()
    await impostor.screenshot(path=screenshot_path("join-page-name-taken"))


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("x" * 80, "A username can be at most 32 characters long; this one has 80."),
        ("chatbot", "ChatBot is the chat's own name; pick another."),
        ("", "Pick a username."),
    ],
    ids=["80 characters", "chatbot", "empty"],
)
async def test_when_the_name_will_not_do_then_the_join_form_says_what_is_wrong(
    open_page, name, said
):
    visitor = await open_page()
    await fill_join_form(visitor, name, new_room=unique_room("names"))
    await expect(visitor.get_by_label("Username")).to_have_value(name)  # not cut to 32

    await visitor.get_by_role("button", name="Join").click()

    await expect(visitor.locator("#id_username_error")).to_have_text(said)
    await expect(visitor.get_by_label("Username")).to_be_focused()


async def test_when_the_name_is_taken_in_the_room_then_the_chat_page_explains_and_links_back(
    open_page, connect
):
    room = unique_room("clash")
    holder = await connect()
    await holder.join("Ana", room)
    ana = await open_page()
    await join(ana, "Ana", new_room=unique_room("first"))
    await ana.goto("/")
    clash_slug = await room_option_value(ana, room)

    await ana.goto(f"/rooms/{clash_slug}/")

    status = ana.get_by_role("alert")
    await expect(status).to_contain_text("Somebody in this room already uses the name “Ana”")
    await expect(ana.locator("#connection")).to_have_text("Not in the room")
    await expect(ana.locator(".notice")).to_have_count(0)  # ChatBot's retelling is not shown
    await status.get_by_role("link", name="Choose another name").click()
    await expect(ana).to_have_url(re.compile(r"/\?room="))
    await expect(ana.get_by_label("Room", exact=True)).to_have_value(clash_slug)


async def test_when_the_server_refuses_a_message_then_it_shows_the_error_with_retry(open_page):
    ana = await open_page()
    # A page whose idea of the limit is out of date: it lets through what the server refuses.
    await ana.add_init_script(DOUBLE_THE_PAGES_MESSAGE_LIMIT)
    await join(ana, "Ana", new_room=unique_room("refused"))
    max_length = json.loads(await ana.locator("#chat-config").text_content())["messageMaxLength"]
    box = ana.get_by_label("Message", exact=True)

    await box.fill("y" * (max_length + 1))
    await box.press("Enter")

    failed = ana.locator(".message--failed")
    await expect(failed).to_contain_text("Not sent: A message can be at most")
    await ana.screenshot(path=screenshot_path("chat-page-message-refused"))
    await failed.get_by_role("button", name="Retry").click()
    await expect(failed).to_contain_text("Not sent:")
    await failed.get_by_role("button", name="Discard").click()
    await expect(messages(ana)).to_have_count(0)
    await expect(box).to_be_focused()


async def test_when_the_connection_drops_then_the_page_rejoins_and_sends_what_was_pending(
    open_page, connect
):
    room = unique_room("reconnect")
    watcher = await connect()
    await watcher.join("Watcher", room)
    ana = await open_page()
    await join(ana, "Ana", room=room)

    await ana.context.set_offline(True)
    await expect(ana.locator("#connection")).to_have_text("Reconnecting…")
    await watcher.send("Sent while Ana was away")
    box = ana.get_by_label("Message", exact=True)
    await box.fill("Typed while offline")
    await box.press("Enter")
    await expect(ana.locator(".message--pending")).to_contain_text("Sending…")
    await ana.context.set_offline(False)

    await expect(ana.locator("#connection")).to_have_text("Connected", timeout=15_000)
    await expect(ana.locator(".message--pending")).to_have_count(0)
    await expect(messages(ana).locator(".message__text")).to_have_text(
        ["Sent while Ana was away", "Typed while offline"]
    )
    received = await watcher.wait_for(
        events.RECEIVE_MESSAGE, lambda m: m["message"] == "Typed while offline"
    )
    assert received["username"] == "Ana"
    assert [m["message"] for m in watcher.messages()].count("Typed while offline") == 1


async def test_when_many_messages_come_while_offline_then_the_page_fills_the_gap(
    open_page, connect
):
    room = unique_room("gap")
    writer = await connect()
    await writer.join("Writer", room)
    ana = await open_page()
    await join(ana, "Ana", room=room)
    await writer.send("Before the gap")
    await expect(messages(ana)).to_have_count(1)

    await ana.context.set_offline(True)
    await expect(ana.locator("#connection")).to_have_text("Reconnecting…")
    for number in range(1, 131):
        await writer.send(f"Away {number:03}")
    await ana.context.set_offline(False)

    await expect(ana.locator("#connection")).to_have_text("Connected", timeout=15_000)
    texts = messages(ana).locator(".message__text")
    await expect(texts).to_have_count(131)
    assert await texts.all_text_contents() == ["Before the gap"] + [
        f"Away {number:03}" for number in range(1, 131)
    ]


async def test_with_only_the_keyboard_one_can_join_chat_and_leave_and_sees_where_focus_is(
    open_page,
):
    ana = await open_page()
    await ana.goto("/")
    await expect(ana.get_by_label("Username")).to_be_focused()
    await ana.keyboard.type("Ana")
    await ana.keyboard.press("Tab")
    await ana.keyboard.press("Tab")
    await expect(ana.get_by_label("Or create a new room")).to_be_focused()
    await ana.keyboard.type(unique_room("keys"))
    await ana.keyboard.press("Enter")

    await expect(ana.locator("#connection")).to_have_text("Connected")
    await expect(ana.get_by_label("Message", exact=True)).to_be_focused()
    await ana.keyboard.type("Typed without a mouse")
    await ana.keyboard.press("Enter")
    await expect(messages(ana)).to_have_text([re.compile("Typed without a mouse")])
    await expect(ana.locator(".message--pending")).to_have_count(0)
    for action in ("Delete", "Edit"):  # on the message just sent
        await ana.keyboard.press("Shift+Tab")
        await expect(messages(ana).last.get_by_role("button", name=action)).to_be_focused()
    await ana.keyboard.press("Shift+Tab")
    await expect(ana.get_by_role("log")).to_be_focused()
    await ana.keyboard.press("Shift+Tab")
    leave = ana.get_by_role("button", name="Leave")
    await expect(leave).to_be_focused()
    await expect(leave).to_have_css("outline-style", "solid")
    await ana.keyboard.press("Enter")
    await expect(ana).to_have_url(JOIN_PAGE_URL)


async def test_on_a_375_pixel_wide_screen_the_chat_fits_without_sideways_scrolling(open_page):
    ana = await open_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    await join(ana, "Ana", new_room=unique_room("mobile"))
    await send(ana, "A long line from a phone: " + "word " * 40)

    width = await ana.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375
    await expect(ana.get_by_role("button", name="Send")).to_be_in_viewport()
    await expect(ana.get_by_role("button", name="Leave")).to_be_in_viewport()
    await ana.screenshot(path=screenshot_path("chat-page-375px"))
