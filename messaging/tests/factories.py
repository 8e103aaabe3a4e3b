"""Messages made the way the server makes them: ids and times from a MessageIdClock."""

from messaging.store import Message, MessageIdClock

CLOCK = MessageIdClock()


def make_message(
    room: str,
    text: str = "hello",
    *,
    username: str = "ana",
    client_id: str | None = None,
    clock: MessageIdClock = CLOCK,
) -> Message:
    return Message.compose(
        room=room, username=username, text=text, client_id=client_id, clock=clock
    )


def make_messages(room: str, count: int, **fields) -> list[Message]:
    return [make_message(room, f"message {number}", **fields) for number in range(count)]
