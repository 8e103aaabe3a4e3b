"""The chat page with two DevRooms processes behind nginx: two people on different processes
chat as in one room (issue 11)."""

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from deploy.local_nginx import NGINX
from tests.browser.conftest import fill_join_form, join, messages, people, screenshot_path, send
from tests.chat_client import unique_room
from tests.cluster import running_cluster

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="`make nginx` installs Debian's nginx"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, harperdb_settings, redis_url):
    """`deploy.cluster start --processes 2` on consecutive free ports, nginx in front."""
    folder = tmp_path_factory.mktemp("cluster-on-page")
    with running_cluster(folder, harperdb_settings=harperdb_settings, redis_url=redis_url) as two:
        yield two


async def test_when_two_people_are_on_different_processes_then_they_chat_as_in_one_room(
    open_page, cluster
):
    room = unique_room("cluster")
    behind_proxy = cluster.upstream_of("127.0.0.1")  # where nginx sends the browser
    [elsewhere] = [port for port in cluster.ports if port != behind_proxy]
    ana = await open_page(base_url=cluster.proxy.url)
    bob = await open_page(base_url=cluster.url(elsewhere))
    await join(ana, "Ana", new_room=room)

    await fill_join_form(bob, "Bob", room=room)
    await expect(bob.locator("#id_room option").filter(has_text=room)).to_have_text(
        f"{room} · 1 online"
    )
    await bob.get_by_role("button", name="Join").click()
    await expect(bob.locator("#connection")).to_have_text("Connected")

    for page in (ana, bob):
        await expect(people(page)).to_have_text(["Ana", "Bob"])
    await expect(ana.locator(".notice").last).to_have_text(re.compile("^Bob has joined"))
    await send(ana, "Hello from the proxy's side")
    await expect(messages(bob).last).to_contain_text("Hello from the proxy's side")
    await send(bob, "Hello from the other process")
    for page in (ana, bob):
        await expect(messages(page).locator(".message__text")).to_have_text(
            ["Hello from the proxy's side", "Hello from the other process"]
        )
    await ana.screenshot(path=screenshot_path("chat-page-two-processes"))
