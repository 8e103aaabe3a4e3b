"""What calls a person back to the room: the unread count in the tab's title while it is
hidden, and desktop notifications of mentions, only once they asked for them."""

import pytest
from playwright.async_api import expect

from tests.browser.conftest import EMULATED_VISIBILITY, join, messages, set_hidden
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser

# The browser's Notification API, recording what the page asks of it.
RECORDED_NOTIFICATIONS = """
window.__permissionRequests = 0;
window.__notifications = [];
class RecordedNotification {
  static permission = "default";
  static async requestPermission() {
    window.__permissionRequests += 1;
    RecordedNotification.permission = "granted";
    return "granted";
  }
  constructor(title, options) {
    window.__notifications.push({ title, body: options.body });
  }
  addEventListener() {}
}
window.Notification = RecordedNotification;
"""


async def test_while_the_tab_is_hidden_its_title_counts_the_unread_messages(open_page, connect):
    room = unique_room("unread")
    ana = await open_page()
    await ana.add_init_script(EMULATED_VISIBILITY)
    await join(ana, "Ana", new_room=room)
    bob = await connect()
    await bob.join("Bob", room)
    await expect(ana).to_have_title(f"{room} · DevRooms")

    await set_hidden(ana, True)
    for number in range(1, 4):
        await bob.send(f"Unread {number}")

    await expect(messages(ana)).to_have_count(3)
    await expect(ana).to_have_title(f"(3) {room} · DevRooms")
    await set_hidden(ana, False)
    await expect(ana).to_have_title(f"{room} · DevRooms")
    await bob.send("Read at once")
    await expect(messages(ana)).to_have_count(4)
    await expect(ana).to_have_title(f"{room} · DevRooms")


async def test_mentions_notify_on_the_desktop_only_after_the_person_turned_it_on(
    open_page, connect
):
    room = unique_room("notify")
    bob = await open_page()
    await bob.add_init_script(EMULATED_VISIBILITY + RECORDED_NOTIFICATIONS)
    await join(bob, "Bob", new_room=room)
    cem = await connect()
    await cem.join("Cem", room)
    await set_hidden(bob, True)
    await cem.send("@Bob before you asked")
    await expect(messages(bob)).to_have_count(1)
    assert await bob.evaluate("window.__permissionRequests") == 0, "never asked on load"
    assert await bob.evaluate("window.__notifications") == []
    await set_hidden(bob, False)

    toggle = bob.get_by_role("button", name="Notify me of mentions")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    assert await bob.evaluate("window.__permissionRequests") == 1
    await set_hidden(bob, True)
    await cem.send("No mention here")
    await cem.send("@Bob the build is green")

    await expect(messages(bob)).to_have_count(3)
    assert await bob.evaluate("window.__notifications") == [
        {"title": f"Cem mentioned you in {room}", "body": "@Bob the build is green"}
    ]
