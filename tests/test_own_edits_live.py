"""Editing and deleting your own message, through real sockets against the real HarperDB."""

from chatsite import events
from tests.chat_client import unique_room


async def test_an_edit_reaches_everyone_in_the_room_and_whoever_joins_later(people):
    room = unique_room("edit")
    ana, bob = await people(room, "Ana", "Bob")
    sent = await ana.send("helo wrold")

    ack = await ana.call(events.EDIT_MESSAGE, {"id": sent["id"], "message": "hello world"})

    assert ack == {"ok": True, "id": sent["id"], "edited_ms": ack["edited_ms"]}
    assert ack["edited_ms"] >= sent["__createdtime__"]
    change = {
        "id": sent["id"],
        "room": room,
        "message": "hello world",
        "edited_ms": ack["edited_ms"],
    }
    for member in (ana, bob):
        assert await member.wait_for(events.MESSAGE_EDITED) == change
    [cem] = await people(room, "Cem")
    [in_history] = cem.history()
    assert (in_history["message"], in_history["edited_ms"]) == ("hello world", ack["edited_ms"])
    later = await ana.send("later")
    page = await cem.call(events.LOAD_HISTORY, {"before": later["id"]})
    assert page["messages"] == [in_history]


async def test_a_deleted_message_leaves_every_page_and_history(people):
    room = unique_room("delete-own")
    ana, bob = await people(room, "Ana", "Bob")
    doomed = await ana.send("oops, wrong room")
    kept = await ana.send("hi")

    assert await ana.call(events.DELETE_MESSAGE, {"id": doomed["id"]}) == {"ok": True}

    for member in (ana, bob):
        assert await member.wait_for(events.MESSAGE_DELETED) == {"id": doomed["id"], "room": room}
    [cem] = await people(room, "Cem")
    assert [message["id"] for message in cem.history()] == [kept["id"]]


async def test_nobody_edits_or_deletes_someone_elses_message_and_nobody_hears_of_the_try(people):
    room = unique_room("not-yours")
    ana, bob = await people(room, "Ana", "Bob")
    sent = await ana.send("mine")
    ana.forget()

    edit = await bob.call(events.EDIT_MESSAGE, {"id": sent["id"], "message": "mine now"})
    delete = await bob.call(events.DELETE_MESSAGE, {"id": sent["id"]})

    assert edit["error"]["code"] == delete["error"]["code"] == "not_your_message"
    marker = await ana.send_marker()
    assert ana.received == [(events.RECEIVE_MESSAGE, marker)]
    [cem] = await people(room, "Cem")
    assert [message["message"] for message in cem.history()] == ["mine", marker["message"]]


async def test_an_edit_to_nothing_or_of_a_message_of_another_room_is_refused(people):
    room, other = unique_room("edit-bad"), unique_room("edit-other")
    [ana] = await people(room, "Ana")
    [zoe] = await people(other, "Zoe")
    theirs = await zoe.send("elsewhere")
    mine = await ana.send("here")

    empty = await ana.call(events.EDIT_MESSAGE, {"id": mine["id"], "message": "  "})
    elsewhere = await ana.call(events.EDIT_MESSAGE, {"id": theirs["id"], "message": "x"})

    assert empty["error"]["code"] == "message_empty"
    assert elsewhere["error"]["code"] == "message_not_found"
    assert [message["message"] for message in zoe.messages()] == ["elsewhere"]
