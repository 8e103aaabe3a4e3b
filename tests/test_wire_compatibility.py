"""The stock JavaScript socket.io-client v4, used as the original app's clients used it."""

import asyncio
import json
from pathlib import Path

from chatsite import events
from tests.chat_client import unique_room

SCRIPT = Path(__file__).parent / "js" / "original_client.cjs"


async def test_an_original_node_client_joins_sends_receives_and_reads_history(chat_server):
    room = unique_room("node")
    process = await asyncio.create_subprocess_exec(
        "node",
        str(SCRIPT),
        chat_server.url,
        room,
        cwd=SCRIPT.parent.parent.parent,
        stdout=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    report = json.loads(output)
    assert report["errors"] == []
    assert report["transport"] == "websocket"
    ana_texts = [m["message"] for m in report["ana"]["messages"]]
    assert ana_texts == [
        "Welcome Ana",
        "hello from node",
        "Bob has joined the chat room",
        "hi Ana",
        "Bob has left the chat",
    ]
    [from_history] = report["bob"]["history"]
    sent = next(m for m in report["ana"]["messages"] if m["message"] == "hello from node")
    assert {key: from_history[key] for key in sent} == sent
    assert sent["username"] == "Ana"
    assert sent["room"] == room
    assert [u["username"] for u in report["ana"]["users"][-1]] == ["Ana"]


async def test_an_original_client_refused_a_name_then_a_message_hears_both_from_chatbot(
    connect, people
):
    """Such clients ask for no acks and ignore chat_error; ChatBot's notices are all they show."""
    room = unique_room("original-refused")
    await people(room, "Ana")
    original = await connect()

    await original.sio.emit(events.JOIN_ROOM, {"username": "Ana", "room": room})
    refused = await original.wait_for(events.RECEIVE_MESSAGE)
    assert refused["username"] == events.CHATBOT
    assert refused["code"] == "username_taken"
    assert refused["message"].startswith("You could not join the room: ")

    await original.sio.emit(
        events.SEND_MESSAGE, {"username": "Ana", "room": room, "message": "anyone?"}
    )
    unsent = await original.wait_for(events.RECEIVE_MESSAGE, lambda m: m is not refused)
    assert (unsent["username"], unsent["code"]) == (events.CHATBOT, "not_in_room")
    assert unsent["message"] == (
        "That was not sent, because you are not in a room. Join a room first."
    )
