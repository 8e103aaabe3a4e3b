"""Roster updates and arrival/departure notices, coalesced per room.

A quiet room hears of each change at once (up to CHAT_ROSTER_BURST in a row). While changes
keep coming, a room hears of them at most once per window, which grows with the room
(CHAT_ROSTER_WINDOW_SECONDS per 100 people): a join storm costs each member a few updates,
not one whole roster per join.
Each update is, in this order: the arrival notices, the roster, the departure notices (one
notice per kind, naming everyone it concerns). Clients that asked for `roster_changes` get
who came and went instead of the whole list; the others get `chatroom_users` as always.

A change is a cluster event (`people_changed`): every process runs this feed for its own
connections, from the one shared roster, so what each connection was last told is known where
the connection is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from chatsite import events
from chatsite.cluster import cluster
from chatsite.events import PeopleChange
from chatsite.publish import publisher_here
from chatsite.rate import TokenBucket
from chatsite.staff_feed import staff_feed_presence
from rooms.selectors import room_people, roster_list

ARRIVALS = (PeopleChange.JOINED,)
DEPARTURES = (PeopleChange.LEFT, PeopleChange.DISCONNECTED, PeopleChange.REMOVED)


def roster_topic(room: str, *, changes: bool) -> str:
    """Where a room's roster updates go: whole lists, or only what changed."""
    return f"{room}\x00{'roster-changes' if changes else 'roster'}"


@dataclass
class _RoomState:
    # (what, who, their connection): an arrival is not announced to the one arriving.
    notices: list[tuple[PeopleChange, str, str]] = field(default_factory=list)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> roster entry
    # People who arrived since the last update: joiners' own lists already named them, so
    # if they go before the update, `left` must name them too.
    arrived: set[str] = field(default_factory=set)
    updates: TokenBucket = field(
        default_factory=lambda: TokenBucket(rate=0, burst=settings.CHAT_ROSTER_BURST)
    )
    scheduled: asyncio.Task | None = None
    # A change made by this process is due on the staff's live feed (one process tells it).
    staff_due: bool = False


class RosterFeed:
    def __init__(self) -> None:
        self._rooms: dict[str, _RoomState] = {}

    def window(self, people: int) -> float:
        return settings.CHAT_ROSTER_WINDOW_SECONDS * max(1.0, people / 100)

    def _updates_per_second(self, people: int) -> float:
        window = self.window(people)
        return 1 / window if window > 0 else 0  # 0: no limit

    async def changed(
        self,
        room: str,
        change: PeopleChange | None = None,
        *,
        username: str = "",
        connection: str = "",
        person_id: str = "",
        made_here: bool = True,
    ) -> None:
        """Someone came or went (or a tab did): tell the room now, or with the next update.

        `connection`, when it just joined, was sent the whole roster already: an update made
        at once leaves it out."""
        state = self._rooms.setdefault(room, _RoomState())
        state.staff_due |= made_here
        if change is not None:
            state.notices.append((change, username, connection))
        if change == PeopleChange.JOINED and person_id:
            state.arrived.add(person_id)
        if state.scheduled is not None:
            return
        state.updates.rate = self._updates_per_second(len(state.sent))
        if state.updates.allow():
            await self._update(room, state, up_to_date={connection} - {""})
        else:
            wait = state.updates.seconds_until()
            state.scheduled = asyncio.get_running_loop().create_task(self._later(room, wait))

    async def _later(self, room: str, wait: float) -> None:
        await asyncio.sleep(wait)
        state = self._rooms[room]
        state.scheduled = None
        state.updates.allow()  # the token this update waited for
        await self._update(room, state)

    async def _update(
        self, room: str, state: _RoomState, up_to_date: set[str] = frozenset()
    ) -> None:
        notices, state.notices = state.notices, []
        roster = await roster_list(room=room)
        current = {entry["id"]: entry for entry in roster}
        joined = [entry for person_id, entry in current.items() if person_id not in state.sent]
        known = state.sent.keys() | state.arrived
        left = [person_id for person_id in known if person_id not in current]
        state.sent, state.arrived = current, set()
        out = publisher_here()
        await self._notices(room, notices, ARRIVALS)
        if joined or left:
            await out.to_room(
                roster_topic(room, changes=False), events.CHATROOM_USERS, roster, skip=up_to_date
            )
            await out.to_room(
                roster_topic(room, changes=True),
                events.ROSTER_CHANGES,
                {"room": room, "joined": joined, "left": left},
                skip=up_to_date,
            )
        await self._notices(room, notices, DEPARTURES)
        if state.staff_due:
            state.staff_due = False
            await staff_feed_presence(room=room, people=await room_people(room=room))
        if not current and not state.notices and state.scheduled is None:
            del self._rooms[room]

    async def _notices(self, room: str, notices, kinds) -> None:
        for kind in kinds:
            concerned = [(username, conn) for change, username, conn in notices if change == kind]
            if concerned:
                text = events.people_text(kind, [username for username, _ in concerned])
                await publisher_here().to_room(
                    room,
                    events.RECEIVE_MESSAGE,
                    events.chatbot_notice(room, text),
                    skip={conn for _, conn in concerned if conn},
                )


roster_feed = RosterFeed()

PEOPLE_CHANGED = "people"
"""The cluster event of a change in a room's people (`RosterFeed.changed`'s arguments)."""


async def people_changed(
    room: str,
    change: PeopleChange | None = None,
    *,
    username: str = "",
    connection: str = "",
    person_id: str = "",
) -> None:
    """Someone came or went (or a tab did): every process updates its connections in `room`."""
    payload = {
        "room": room,
        "change": change,
        "username": username,
        "connection": connection,
        "person_id": person_id,
        "origin": cluster().process_id,
    }
    await cluster().broadcast(PEOPLE_CHANGED, payload)


async def _people_changed_here(payload: dict[str, Any]) -> None:
    change = payload["change"]
    await roster_feed.changed(
        payload["room"],
        PeopleChange(change) if change is not None else None,
        username=payload["username"],
        connection=payload["connection"],
        person_id=payload["person_id"],
        made_here=payload["origin"] == cluster().process_id,
    )


cluster().on_event(PEOPLE_CHANGED, _people_changed_here)
