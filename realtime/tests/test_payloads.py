"""Client payloads: the right shapes are read, anything else is `invalid_payload`."""

import pytest

from chatsite.errors import ChatError
from realtime.payloads import (
    CLIENT_ID_MAX_LENGTH,
    ONE_OBJECT,
    DeleteMessage,
    EditMessage,
    JoinRoom,
    LeaveRoom,
    LoadHistory,
    SendMessage,
    Typing,
)

PARSERS_OF_ONE_OBJECT = [
    JoinRoom.parse,
    SendMessage.parse,
    LoadHistory.parse,
    Typing.parse,
    EditMessage.parse,
    DeleteMessage.parse,
]
NOT_ONE_OBJECT = {
    "two arguments": ({"room": "React"}, {"room": "React"}),
    "null": (None,),
    "a string": ('{"room": "React"}',),
    "a list": ([{"room": "React"}],),
    "a number": (5,),
    "bytes": (b'{"room": "React"}',),
    "a boolean": (True,),
}


def refused(parse, *args) -> ChatError:
    with pytest.raises(ChatError) as raised:
        parse(args)
    assert raised.value.code == "invalid_payload"
    return raised.value


@pytest.mark.parametrize("parse", PARSERS_OF_ONE_OBJECT)
def test_an_event_without_an_argument_is_refused(parse):
    assert refused(parse).message == ONE_OBJECT


@pytest.mark.parametrize("parse", [*PARSERS_OF_ONE_OBJECT, LeaveRoom.parse])
@pytest.mark.parametrize("args", NOT_ONE_OBJECT.values(), ids=NOT_ONE_OBJECT.keys())
def test_an_event_with_anything_but_one_object_is_refused(parse, args):
    assert refused(parse, *args).message == ONE_OBJECT


def test_join_room_reads_the_username_and_room():
    assert JoinRoom.parse(({"username": "ana", "room": "React"},)) == JoinRoom("ana", "React")


@pytest.mark.parametrize("payload", [{"room": "React"}, {"username": None, "room": "React"}])
def test_join_room_without_a_username_leaves_it_to_the_session(payload):
    assert JoinRoom.parse((payload,)).username == ""


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"username": "ana"},
        {"username": "ana", "room": None},
        {"username": "ana", "room": 5},
        {"username": "ana", "room": ["React"]},
        {"username": 5, "room": "React"},
        {"username": {"$ne": ""}, "room": "React"},
    ],
)
def test_join_room_with_a_missing_or_wrongly_typed_field_is_refused(payload):
    refused(JoinRoom.parse, payload)


def test_send_message_reads_the_text_exactly_and_no_client_id():
    assert SendMessage.parse(({"message": "  hi  \n"},)) == SendMessage("  hi  \n", None)


def test_send_message_from_an_old_client_ignores_its_extra_fields():
    payload = {"username": "eve", "room": "Other", "message": "hi", "__createdtime__": 1}
    assert SendMessage.parse((payload,)) == SendMessage("hi", None)


@pytest.mark.parametrize("client_id", ["c", "x" * CLIENT_ID_MAX_LENGTH, "😀-uuid-1"])
def test_send_message_reads_a_client_id_of_1_to_64_characters(client_id):
    parsed = SendMessage.parse(({"message": "hi", "client_id": client_id},))
    assert parsed.client_id == client_id


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"message": None},
        {"message": 5},
        {"message": ["hi"]},
        {"message": "hi", "client_id": ""},
        {"message": "hi", "client_id": "x" * (CLIENT_ID_MAX_LENGTH + 1)},
        {"message": "hi", "client_id": 5},
    ],
)
def test_send_message_with_a_missing_or_wrong_field_is_refused(payload):
    refused(SendMessage.parse, payload)


@pytest.mark.parametrize("args", [(), ({},), ({"username": "ana", "room": "React"},)])
def test_leave_room_accepts_nothing_an_empty_object_or_an_old_clients_object(args):
    assert LeaveRoom.parse(args) == LeaveRoom()


def test_load_history_asks_for_50_messages_unless_told():
    assert LoadHistory.parse(({"before": "id-1"},)) == LoadHistory("id-1", 50)


@pytest.mark.parametrize("limit", [1, 100])
def test_load_history_reads_a_limit_from_1_to_100(limit):
    assert LoadHistory.parse(({"before": "id-1", "limit": limit},)).limit == limit


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"before": None},
        {"before": 5},
        {"before": "id-1", "limit": 0},
        {"before": "id-1", "limit": 101},
        {"before": "id-1", "limit": -1},
        {"before": "id-1", "limit": True},
        {"before": "id-1", "limit": "10"},
        {"before": "id-1", "limit": 10.5},
        {"before": "id-1", "limit": None},
    ],
)
def test_load_history_with_a_missing_before_or_a_bad_limit_is_refused(payload):
    refused(LoadHistory.parse, payload)


@pytest.mark.parametrize("typing", [True, False])
def test_typing_reads_true_or_false(typing):
    assert Typing.parse(({"typing": typing},)) == Typing(typing)


@pytest.mark.parametrize("payload", [{}, {"typing": None}, {"typing": "true"}, {"typing": 1}])
def test_typing_that_is_not_true_or_false_is_refused(payload):
    refused(Typing.parse, payload)


def test_edit_message_reads_the_id_and_the_new_text_exactly():
    parsed = EditMessage.parse(({"id": "id-1", "message": "  better \n"},))
    assert parsed == EditMessage("id-1", "  better \n")


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"id": "id-1"},
        {"message": "hi"},
        {"id": 5, "message": "hi"},
        {"id": "id-1", "message": 5},
    ],
)
def test_edit_message_without_a_string_id_and_text_is_refused(payload):
    refused(EditMessage.parse, payload)


def test_delete_message_reads_the_id():
    assert DeleteMessage.parse(({"id": "id-1"},)) == DeleteMessage("id-1")


@pytest.mark.parametrize("payload", [{}, {"id": None}, {"id": ["id-1"]}])
def test_delete_message_without_a_string_id_is_refused(payload):
    refused(DeleteMessage.parse, payload)
