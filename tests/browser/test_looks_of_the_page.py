"""How the chat page looks: light and dark, readable small text, long names, and a phone
whose keyboard takes half the screen."""

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, join, messages, people, screenshot_path
from tests.chat_client import unique_room

pytestmark = pytest.mark.browser

LIGHT_PAGE, DARK_PAGE = "rgb(238, 240, 251)", "rgb(11, 16, 51)"

# WCAG contrast of each element's text against what is painted behind it (backgrounds of the
# element and its ancestors, blended where they are see-through).
CONTRAST = """
selectors => {
  const rgba = (value) => {
    const [r, g, b, a = 1] = value.match(/[\\d.]+/g).map(Number);
    return [r, g, b, a];
  };
  const over = (top, below) =>
    [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3])).concat(1);
  const behind = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      layers.unshift(rgba(getComputedStyle(node).backgroundColor));
    }
    return layers.reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = (colour) => {
    const [r, g, b] = colour.slice(0, 3).map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return Object.fromEntries(selectors.map((selector) => {
    const element = document.querySelector(selector);
    const back = behind(element);
    const text = over(rgba(getComputedStyle(element).color), back);
    const [light, dark] = [luminance(text), luminance(back)].sort((a, b) => b - a);
    return [selector, Math.round(((light + 0.05) / (dark + 0.05)) * 100) / 100];
  }));
}
"""

SMALL_TEXT = [
    ".chat__header .connection",
    ".people__heading",
    ".person__you",
    ".day-separator__label",
    ".notice__text",
    ".message__author",
    ".message__time",
    ".message__link",
    ".mention:not(.mention--me)",
    ".mention--me",
    ".md-code",
    ".md-quote",
    ".typing",
    ".composer__hint",
]


async def background(page: Page) -> str:
    return await page.locator("body").evaluate("body => getComputedStyle(body).backgroundColor")


async def a_lively_room(page: Page, connect) -> None:
    """Ana's page in a room where Bob says a few things and is typing."""
    room = unique_room("looks")
    bob = await connect()
    await bob.join("Bob", room)
    await join(page, "Ana", room=room)
    await bob.send("Morning @Ana! The release notes are at https://example.com/releases")
    await bob.send("**Heads-up:** run `make test` before you push\n> it takes about two minutes")
    await page.get_by_label("Message", exact=True).fill("Thanks @Bob, on it")
    await page.get_by_label("Message", exact=True).press("Enter")
    await expect(page.locator(".message--pending")).to_have_count(0)
    await bob.call("typing", {"typing": True})
    await expect(page.locator("#typing")).to_have_text("Bob is typing…")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("viewport", "size"), [(DESKTOP, "1280"), (PHONE, "375")])
async def test_the_chat_page_in_each_scheme_and_size_has_readable_small_text(
    open_page, connect, scheme, viewport, size
):
    ana = await open_page(viewport=viewport, color_scheme=scheme, is_mobile=viewport is PHONE)

    await a_lively_room(ana, connect)

    assert await background(ana) == (DARK_PAGE if scheme == "dark" else LIGHT_PAGE)
    if viewport is PHONE:
        await ana.get_by_role("button", name="2 people").click()
    contrast = await ana.evaluate(CONTRAST, SMALL_TEXT)
    assert {selector: ratio for selector, ratio in contrast.items() if ratio < 4.5} == {}
    if viewport is PHONE:
        await ana.get_by_role("button", name="2 people").click()
    await ana.screenshot(path=screenshot_path(f"chat-{scheme}-{size}"))


async def test_the_page_follows_the_systems_colour_scheme(open_page):
    ana = await open_page(color_scheme="dark")
    await join(ana, "Ana", new_room=unique_room("scheme"))
    toggle = ana.get_by_role("button", name="Dark theme")
    assert await background(ana) == DARK_PAGE
    await expect(toggle).to_have_attribute("aria-pressed", "true")

    await ana.emulate_media(color_scheme="light")

    assert await background(ana) == LIGHT_PAGE
    await expect(toggle).to_have_attribute("aria-pressed", "false")


async def test_a_chosen_theme_is_remembered_over_the_systems(open_page):
    ana = await open_page(color_scheme="light")
    await join(ana, "Ana", new_room=unique_room("theme"))
    toggle = ana.get_by_role("button", name="Dark theme")

    await toggle.click()

    assert await background(ana) == DARK_PAGE
    await ana.reload()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    assert await background(ana) == DARK_PAGE
    await ana.goto("/")
    assert await background(ana) == DARK_PAGE
    await ana.go_back()
    await ana.emulate_media(color_scheme="dark")
    await toggle.click()
    await ana.reload()
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    assert await background(ana) == LIGHT_PAGE


async def test_a_long_name_in_the_people_list_is_cut_short_next_to_its_dot(open_page, connect):
    room = unique_room("long-name")
    long_name = "Maximilian Bartholomew Fairweath"
    someone = await connect()
    await someone.join(long_name, room)
    ana = await open_page(viewport=DESKTOP)
    await join(ana, "Ana", room=room)

    name = people(ana).filter(has_text="Maximilian")
    await expect(name).to_have_attribute("title", long_name)
    await expect(name).to_have_css("text-overflow", "ellipsis")
    assert await name.evaluate("name => name.scrollWidth > name.clientWidth"), "cut short"
    entry = ana.locator("#people .person").filter(has_text="Maximilian")
    line_height = await people(ana).first.evaluate("name => name.getBoundingClientRect().height")
    assert (await entry.bounding_box())["height"] < 2 * line_height, "dot and name on one line"


async def test_on_a_phone_with_the_keyboard_open_the_messages_keep_most_of_the_screen(
    open_page, connect
):
    room = unique_room("keyboard")
    bob = await connect()
    await bob.join("Bob", room)
    # 740 px tall, less a 320 px on-screen keyboard.
    ana = await open_page(viewport={"width": 375, "height": 420}, is_mobile=True)
    await join(ana, "Ana", room=room)
    await bob.send("Can you see this above your keyboard?")
    await expect(messages(ana)).to_have_count(1)

    log_height = await ana.locator("#log").evaluate("log => log.clientHeight")
    assert log_height >= 0.6 * 420
    await expect(ana.locator("#people")).to_be_hidden()
    toggle = ana.get_by_role("button", name="2 people")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    await expect(people(ana)).to_have_text(["Ana", "Bob"])
    await toggle.click()
    await expect(ana.locator("#people")).to_be_hidden()
    await expect(ana.get_by_role("button", name="Send")).to_be_in_viewport()
