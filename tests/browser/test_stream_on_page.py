"""How the stream of messages reads: direction, links, formatting, mentions, grouping, days,
what is new since the last visit, and a quiet screen reader while history loads."""

import asyncio
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.async_api import expect

from chatsite import events
from messaging.store import Message, harperdb_store, room_key
from tests.browser.conftest import JOIN_PAGE_URL, join, messages, people, send
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser

IN_UTC = {"locale": "en-US", "timezone_id": "UTC"}

# Where the first and the last character of a text are drawn, left to right.
CHARACTER_EDGES = """
text => {
  const node = text.firstChild;
  const range = document.createRange();
  range.setStart(node, 0);
  range.setEnd(node, 1);
  const first = range.getBoundingClientRect().left;
  range.setStart(node, node.length - 1);
  range.setEnd(node, node.length);
  return { first, last: range.getBoundingClientRect().left };
}
"""

# Records, in order, each message added to the log and each change of its aria-busy.
WATCH_THE_LOG = """
window.__logChanges = [];
document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("log");
  if (!log) return; // the join page
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") window.__logChanges.push(["busy", record.oldValue]);
      for (const node of record.addedNodes) {
        if (node.classList?.contains("message")) {
          window.__logChanges.push(["message", node.textContent]);
        }
      }
    }
  }).observe(log, {
    attributes: true, attributeFilter: ["aria-busy"], attributeOldValue: true,
    childList: true, subtree: true,
  });
});
"""


async def seed_history(room: str, *entries: tuple[datetime, str, str]) -> None:
    """Store (when, username, text) messages in the room's history, as if sent back then:
    the server only ever stamps messages with its own clock's now."""
    seeded = [
        Message(
            id=f"{room_key(room)}|{int(when.timestamp() * 1000):013d}|{number:06d}|seed",
            room=room,
            username=username,
            message=text,
            created_ms=int(when.timestamp() * 1000),
        )
        for number, (when, username, text) in enumerate(entries)
    ]
    await asyncio.to_thread(harperdb_store().insert, seeded)


def long_date(when: datetime) -> str:
    """A date as the page writes it in English: "Tuesday, November 25, 2025"."""
    return f"{when:%A}, {when:%B} {when.day}, {when.year}"


async def test_hebrew_names_and_messages_run_right_to_left(open_page):
    room = unique_room("rtl")
    ana, dana = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(dana, "דנה", room=room)

    await send(dana, "שלום, מה שלומך?")

    text = messages(ana).locator(".message__text")
    await expect(text).to_have_attribute("dir", "auto")
    assert await text.evaluate("text => text.matches(':dir(rtl)')")
    edges = await text.evaluate(CHARACTER_EDGES)
    assert edges["last"] < edges["first"], "the question mark ends the line on the left"
    author = messages(ana).locator(".message__author")
    assert await author.evaluate("name => name.matches(':dir(rtl)')")
    assert await people(ana).filter(has_text="דנה").evaluate("name => name.matches(':dir(rtl)')")
    assert await people(ana).filter(has_text="Ana").evaluate("name => name.matches(':dir(ltr)')")


async def test_web_addresses_become_links_that_open_in_a_new_tab_and_others_do_not(
    open_page, chat_server
):
    room = unique_room("links")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)

    await send(
        ana,
        f"Join page: {chat_server.url}/. Docs at www.example.org, "
        "not javascript:alert(document.domain) nor data:text/html,hi",
    )

    links = messages(bob).locator(".message__text a")
    await expect(links).to_have_text([f"{chat_server.url}/", "www.example.org"])
    await expect(links.nth(1)).to_have_attribute("href", "https://www.example.org/")
    for index in range(2):
        await expect(links.nth(index)).to_have_attribute("target", "_blank")
        await expect(links.nth(index)).to_have_attribute("rel", "noopener noreferrer nofollow")
    unsafe = bob.locator("#messages a[href^='javascript:'], #messages a[href^='data:']")
    await expect(unsafe).to_have_count(0)
    async with bob.context.expect_page() as opened:
        await links.first.click()
    tab = await opened.value
    await expect(tab.get_by_role("button", name="Join")).to_be_visible()
    assert await tab.evaluate("window.opener") is None


async def test_markdown_is_shown_formatted_and_html_in_it_never_runs(open_page, connect):
    room = unique_room("markdown")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    watcher = await connect()
    await watcher.join("Watcher", room)
    text = (
        "**Ship it** _today_, see `<b>config</b>`\n"
        "> The tests pass\n"
        "```\n"
        "<script>window.pwned = 1</script>\n"
        '<img src=x onerror="window.pwned = 2">\n'
        "```\n"
        "snake_case_name stays as it is"
    )

    await send(ana, text)

    shown = messages(bob).locator(".message__text")
    await expect(shown.locator("strong")).to_have_text("Ship it")
    await expect(shown.locator("em")).to_have_text("today")
    await expect(shown.locator("code.md-code")).to_have_text("<b>config</b>")
    await expect(shown.locator("blockquote")).to_have_text("The tests pass")
    await expect(shown.locator("pre")).to_have_text(
        '<script>window.pwned = 1</script>\n<img src=x onerror="window.pwned = 2">'
    )
    await expect(shown.locator("em")).to_have_count(1)
    await expect(shown).to_contain_text("snake_case_name stays as it is")
    for page in (ana, bob):
        await expect(page.locator("#messages script, #messages img, #messages b")).to_have_count(0)
        assert await page.evaluate("window.pwned") is None
    received = await watcher.wait_for(events.RECEIVE_MESSAGE, lambda m: m["username"] == "Ana")
    assert received["message"] == text, "what is stored and sent is the text as typed"


async def test_a_mention_of_someone_in_the_room_is_highlighted_most_for_them(open_page, connect):
    room = unique_room("mention")
    ana, bob = await open_page(), await open_page()
    await join(ana, "Ana", new_room=room)
    await join(bob, "Bob", room=room)
    cem = await connect()
    await cem.join("Cem", room)
    await expect(people(bob)).to_have_text(["Ana", "Bob", "Cem"])

    await cem.send("@bob can you look at the deploy? Not you, @Nobody; mail ops@Bob.dev")

    for_bob = messages(bob).last
    await expect(for_bob).to_have_class(re.compile(r"\bmessage--mentions-me\b"))
    await expect(for_bob.locator(".mention")).to_have_text(["@bob"])
    await expect(for_bob.locator(".mention--me")).to_have_text(["@bob"])
    for_ana = messages(ana).last
    await expect(for_ana.locator(".mention")).to_have_text(["@bob"])
    await expect(for_ana.locator(".mention--me")).to_have_count(0)
    await expect(for_ana).not_to_have_class(re.compile("mentions-me"))


async def test_messages_are_grouped_by_person_with_times_of_day_under_day_lines(open_page, connect):
    room = unique_room("days")
    today = datetime.now(UTC).date()
    yesterday_noon = datetime.combine(today - timedelta(days=1), time(12, 0), UTC)
    three_days_ago = datetime.combine(today - timedelta(days=3), time(9, 30), UTC)
    await seed_history(
        room,
        (three_days_ago, "Bob", "Three days ago"),
        (yesterday_noon, "Bob", "Yesterday first"),
        (yesterday_noon + timedelta(minutes=1), "Bob", "Yesterday second"),
        (yesterday_noon + timedelta(minutes=8), "Bob", "Yesterday later"),
        (yesterday_noon + timedelta(minutes=9), "Ana", "Yesterday from Ana"),
    )
    # Seeded before anyone joins: the server reads a room's history once, then keeps it.
    bob = await connect()
    await bob.join("Bob", room)
    ana = await open_page(**IN_UTC)
    await join(ana, "Ana", room=room)
    await bob.send("Today one")
    await bob.send("Today two")

    await expect(messages(ana)).to_have_count(7)
    await expect(ana.locator(".day-separator")).to_have_text(
        [long_date(three_days_ago), "Yesterday", "Today"]
    )
    grouped = [
        "message--grouped" in (await item.get_attribute("class"))
        for item in await messages(ana).all()
    ]
    assert grouped == [False, False, True, False, False, False, True]
    await expect(messages(ana).nth(2).locator(".message__author")).to_have_text("Bob")
    grouped_meta = messages(ana).nth(2).locator(".message__meta")
    assert await grouped_meta.evaluate("meta => meta.getBoundingClientRect().height <= 1"), (
        "a grouped message does not repeat the name"
    )
    await expect(messages(ana).nth(1).locator(".message__time")).to_have_text("12:00 PM")
    await expect(messages(ana).nth(1).locator(".message__time")).to_have_attribute(
        "title", f"{long_date(yesterday_noon)} at 12:00:00 PM"
    )


async def test_a_returning_person_sees_where_the_new_messages_start(open_page, connect):
    room = unique_room("returning")
    bob = await connect()
    await bob.join("Bob", room)
    await bob.send("Before Ana came")
    ana = await open_page()
    await join(ana, "Ana", room=room)
    await expect(messages(ana)).to_have_count(1)
    await expect(ana.locator(".new-since")).to_have_count(0)
    await ana.get_by_role("button", name="Leave").click()
    await expect(ana).to_have_url(JOIN_PAGE_URL)
    await bob.send("While Ana was away")
    await bob.send("Still away")

    await join(ana, "Ana", room=room)

    await expect(messages(ana)).to_have_count(3)
    line = ana.locator(".new-since")
    await expect(line).to_have_text("New since you were last here")
    after_line = line.locator("xpath=following-sibling::li[1]")
    await expect(after_line).to_contain_text("While Ana was away")
    newcomer = await open_page()
    await join(newcomer, "Cem", room=room)
    await expect(messages(newcomer)).to_have_count(3)
    await expect(newcomer.locator(".new-since")).to_have_count(0)


async def test_the_log_is_marked_busy_while_history_comes_in(open_page, connect):
    room = unique_room("busy")
    bob = await connect()
    await bob.join("Bob", room)
    for number in range(1, 6):
        await bob.send(f"History {number}")
    ana = await open_page()
    await ana.add_init_script(WATCH_THE_LOG)

    await join(ana, "Ana", room=room)

    await expect(messages(ana)).to_have_count(5)
    await expect(ana.locator("#log")).to_have_attribute("aria-busy", "false")
    changes = await ana.evaluate("window.__logChanges")
    for index, (kind, text) in enumerate(changes):
        if kind != "message":
            continue
        later_busy = [value for kind, value in changes[index + 1 :] if kind == "busy"]
        assert later_busy, f"{text} came while the log was not busy"
        assert later_busy[0] == "true", f"{text} came while the log was not busy"
