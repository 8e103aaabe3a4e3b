"""Fault injection: thousands of random malformed events while two people keep chatting."""

import asyncio
import random
import string

from chatsite import events
from tests.chat_client import unique_room
from tests.payloads import deep

FUZZ_EVENTS = 2_000
FUZZERS = 4
KNOWN = [
    events.JOIN_ROOM,
    events.SEND_MESSAGE,
    events.LEAVE_ROOM,
    events.LOAD_HISTORY,
    events.TYPING,
]


def _junk(rng: random.Random, depth: int = 0):
    """A random JSON-ish value: wrong types, nulls, huge strings, deep nesting, bytes."""
    kind = rng.randrange(9 if depth < 30 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([0, -1, 2**53, 3.5, float("1e308")])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return "".join(
            rng.choice(string.printable + "éü漢😀\x00") for _ in range(rng.randrange(20))
        )
    if kind == 4:
        return "x" * rng.choice([10_001, 65_536, 300_000])
    if kind == 5:
        return rng.randbytes(rng.randrange(1, 64))
    if kind == 6:
        return [_junk(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 7:
        return {
            rng.choice(["message", "room", "username", "before", "typing"]): _junk(rng, depth + 1)
        }
    return deep(rng.randrange(40, 120))


def malformed_event(rng: random.Random) -> tuple[str, tuple]:
    """An event that can never be valid: an unknown name, a wrong argument count, a payload
    that is not an object, or an object whose required field has the wrong type."""
    shape = rng.randrange(5)
    if shape == 0:
        return "".join(rng.choice(string.ascii_letters) for _ in range(12)), (_junk(rng),)
    event = rng.choice(KNOWN)
    if shape == 1:
        return event, (_junk(rng), _junk(rng))
    if shape == 2:
        return event, (rng.choice([7, "text", [1], b"\x01\x02"]),)
    if event == events.LEAVE_ROOM:
        return event, (rng.choice(["everyone", 0, [None]]),)
    wrong = rng.choice([None, 12, 4.5, [], {"nested": {}}, b"\xff"])
    field = {
        events.JOIN_ROOM: "room",
        events.SEND_MESSAGE: "message",
        events.LOAD_HISTORY: "before",
        events.TYPING: "typing",
    }[event]
    return event, ({field: wrong, "username": _junk(rng)},)


async def test_the_server_survives_a_fuzzer_and_the_conversation_loses_nothing(people):
    room = unique_room("fuzz")
    fuzzer_names = [f"Fuzzer{number}" for number in range(FUZZERS)]
    ana, bob, *fuzzers = await people(room, "Ana", "Bob", *fuzzer_names)
    refused = 0

    async def fuzz(fuzzer, seed: int) -> None:
        nonlocal refused
        rng = random.Random(seed)
        for _ in range(FUZZ_EVENTS // FUZZERS):
            event, args = malformed_event(rng)
            ack = await fuzzer.call(event, *args)
            assert ack["ok"] is False, (event, args)
            assert ack["error"]["code"] == "invalid_payload", (event, args)
            refused += 1

    async def chat(sender, name: str) -> list[str]:
        sent = []
        for number in range(40):
            ack = await sender.send(f"{name} says {number}")
            assert ack["ok"]
            sent.append(ack["id"])
            await asyncio.sleep(0.02)  # a person's pace, so the chat runs through the whole fuzz
        return sent

    results = await asyncio.gather(
        *(fuzz(fuzzer, seed) for seed, fuzzer in enumerate(fuzzers)),
        chat(ana, "Ana"),
        chat(bob, "Bob"),
    )
    sent_ids = sorted(results[-2] + results[-1])
    print(f"\nfuzz: events={refused} refused={refused}")
    assert refused == FUZZ_EVENTS
    for member in (ana, bob):
        await member.wait_for_messages(sent_ids)
        assert sorted(m["id"] for m in member.messages()) == sent_ids
    [late] = await people(room, "Late")
    await late.wait_for(events.LAST_100_MESSAGES)
    assert [m["id"] for m in late.history()] == sent_ids
