"""Presence shared by every server process through Redis (`rooms.presence` has the interface).

Each change is one Lua script, so it is atomic across processes: two processes can never
both give one name away. Per room: `people` (person id -> record), `order` (join order),
`names` (each name key -> person id); per person, `conns:<id>` (connection -> the process
holding it); per process, `held:<process>` (what it holds: "room\\0person\\0connection", or
"room\\0person\\0" while it runs a person's grace period); `counts` (room -> people).

A connection held by a process whose heartbeat expired (`chatsite.cluster`) counts for
nothing: its person may be taken over at once, and the process that first notices the death
removes that process's people (`reap`) and has their departure announced.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from contextlib import contextmanager
from typing import Any

import orjson
import redis

from chatsite.cluster import RedisCluster, cluster
from chatsite.errors import ChatError, ErrorCode
from rooms.identity import is_sessionless
from rooms.presence import JoinOutcome, LocalMembers, Person, name_keys, username_taken

logger = logging.getLogger(__name__)

PRESENCE_UNAVAILABLE = "Who is in the room cannot be read right now; please try again."

# Shared by the scripts: drop a person's connections whose process is dead; how many remain.
_LIVE = """
local function live(prefix, person_id)
  local conns = prefix .. ':conns:' .. person_id
  local entries = redis.call('HGETALL', conns)
  local count = 0
  for i = 1, #entries, 2 do
    if redis.call('EXISTS', prefix .. ':process:' .. entries[i + 1]) == 1 then
      count = count + 1
    else
      redis.call('HDEL', conns, entries[i])
    end
  end
  return count
end
local function room_key(prefix, room, what)
  return prefix .. ':room:' .. room .. ':' .. what
end
local function drop(prefix, room, person_id)
  local people = room_key(prefix, room, 'people')
  local record = redis.call('HGET', people, person_id)
  if not record then return nil end
  local person = cjson.decode(record)
  redis.call('HDEL', people, person_id)
  redis.call('ZREM', room_key(prefix, room, 'order'), person_id)
  local names = room_key(prefix, room, 'names')
  for _, key in ipairs(person.keys) do
    if redis.call('HGET', names, key) == person_id then redis.call('HDEL', names, key) end
  end
  local conns = redis.call('HGETALL', prefix .. ':conns:' .. person_id)
  for i = 1, #conns, 2 do
    local entry = room .. '\\0' .. person_id .. '\\0' .. conns[i]
    redis.call('SREM', prefix .. ':held:' .. conns[i + 1], entry)
  end
  local leaving = redis.call('GET', prefix .. ':leaving:' .. person_id)
  if leaving then
    local owner = string.match(leaving, ' (.*)$')
    redis.call('SREM', prefix .. ':held:' .. owner, room .. '\\0' .. person_id .. '\\0')
  end
  redis.call('DEL', prefix .. ':conns:' .. person_id, prefix .. ':leaving:' .. person_id)
  if redis.call('HINCRBY', prefix .. ':counts', room, -1) <= 0 then
    redis.call('HDEL', prefix .. ':counts', room)
  end
  return record
end
"""

# ARGV: prefix, room, process, connection, person_key, new record (JSON), then the name
# keys. Returns {"taken"} or {"joined", record, is_new}.
_JOIN = (
    _LIVE
    + """
local prefix, room, process, connection, person_key = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local people, names = room_key(prefix, room, 'people'), room_key(prefix, room, 'names')
local holder = nil
for i = 7, #ARGV do
  holder = redis.call('HGET', names, ARGV[i])
  if holder then break end
end
local function attach(person_id)
  local entry = room .. '\\0' .. person_id .. '\\0' .. connection
  redis.call('HSET', prefix .. ':conns:' .. person_id, connection, process)
  redis.call('SADD', prefix .. ':held:' .. process, entry)
  redis.call('DEL', prefix .. ':leaving:' .. person_id)  -- back: no grace period runs
end
if holder then
  local person = cjson.decode(redis.call('HGET', people, holder))
  if person.person_key ~= person_key then
    local sessionless = string.sub(person.person_key, 1, 11) == 'connection:'
      and string.sub(person_key, 1, 11) == 'connection:'
    if not (sessionless and live(prefix, holder) == 0) then return {'taken'} end
    person.person_key = person_key
    redis.call('HSET', people, holder, cjson.encode(person))
  end
  attach(holder)
  return {'joined', redis.call('HGET', people, holder), '0'}
end
local person = cjson.decode(ARGV[6])
redis.call('HSET', people, person.id, ARGV[6])
local joins = redis.call('INCR', prefix .. ':joins')
redis.call('ZADD', room_key(prefix, room, 'order'), joins, person.id)
for i = 7, #ARGV do redis.call('HSET', names, ARGV[i], person.id) end
redis.call('HINCRBY', prefix .. ':counts', room, 1)
attach(person.id)
return {'joined', ARGV[6], '1'}
"""
)

# ARGV: prefix, room, person id, process, connection, a fresh departure token. Returns the
# live connections left; with none left, the token now names this person's grace period (and
# this process as the one running it), which a later return or departure replaces.
_DETACH = (
    _LIVE
    + """
local prefix, room, person_id, process, connection = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local held = prefix .. ':held:' .. process
redis.call('HDEL', prefix .. ':conns:' .. person_id, connection)
redis.call('SREM', held, room .. '\\0' .. person_id .. '\\0' .. connection)
local left = live(prefix, person_id)
if left == 0 and redis.call('HEXISTS', room_key(prefix, room, 'people'), person_id) == 1 then
  redis.call('SADD', held, room .. '\\0' .. person_id .. '\\0')
  redis.call('SET', prefix .. ':leaving:' .. person_id, ARGV[6] .. ' ' .. process)
end
return left
"""
)

# ARGV: prefix, room, person id, process, the departure token or "force" (a moderator's).
# Returns 1 when removed: forced, or at the end of the grace period that token started.
_REMOVE = (
    _LIVE
    + """
local prefix, room, person_id, process, token = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if token ~= 'force' then
  redis.call('SREM', prefix .. ':held:' .. process, room .. '\\0' .. person_id .. '\\0')
  local leaving = redis.call('GET', prefix .. ':leaving:' .. person_id)
  if leaving ~= token .. ' ' .. process or live(prefix, person_id) > 0 then return 0 end
end
if drop(prefix, room, person_id) then return 1 end
return 0
"""
)

# ARGV: prefix, dead process. Returns the removed people's {room, record} pairs, flattened.
_REAP = (
    _LIVE
    + """
local prefix, process = ARGV[1], ARGV[2]
local held = prefix .. ':held:' .. process
local people = {}
for _, entry in ipairs(redis.call('SMEMBERS', held)) do
  local room, person_id, connection = string.match(entry, '^(.*)%z([^%z]*)%z([^%z]*)$')
  if connection ~= '' then redis.call('HDEL', prefix .. ':conns:' .. person_id, connection) end
  people[room .. '\\0' .. person_id] = {room, person_id}
end
redis.call('DEL', held)
local removed = {}
local function in_grace_elsewhere(person_id)
  local leaving = redis.call('GET', prefix .. ':leaving:' .. person_id)
  if not leaving then return false end
  local owner = string.match(leaving, ' (.*)$')
  return owner ~= process and redis.call('EXISTS', prefix .. ':process:' .. owner) == 1
end
for _, pair in pairs(people) do
  if live(prefix, pair[2]) == 0 and not in_grace_elsewhere(pair[2]) then
    local record = drop(prefix, pair[1], pair[2])
    if record then
      table.insert(removed, pair[1])
      table.insert(removed, record)
    end
  end
end
return removed
"""
)


@contextmanager
def _shared_state():
    """Redis failing is `unavailable` for the person asking."""
    try:
        yield
    except redis.RedisError as error:
        raise ChatError(ErrorCode.UNAVAILABLE, PRESENCE_UNAVAILABLE) from error


def _name_fields(username: str) -> list[str]:
    """The fields of a room's `names` hash that hold this name (`rooms.presence.name_keys`)."""
    return [f"{kind}:{key}" for kind, key in name_keys(username)]


def _person(room: str, record: bytes | str) -> Person:
    fields = orjson.loads(record)
    return Person(
        id=fields["id"],
        username=fields["username"],
        room=room,
        person_key=fields["person_key"],
        since=fields["since"],
    )


class RedisPresence(LocalMembers):
    def __init__(self, shared: RedisCluster | None = None) -> None:
        super().__init__()
        self.cluster = shared or cluster()
        self.cluster.on_process_lost(self._reap_and_announce)
        self._leaving: dict[str, Person] = {}  # person id -> whose grace period runs here
        self.on_reaped = None  # set by the rooms services: announce who left with a process

    def _key(self, room: str, what: str) -> str:
        return self.cluster.key("room", room, what)

    async def _run(self, script: str, *args: Any) -> Any:
        with _shared_state():
            return await self.cluster.redis().eval(script, 0, self.cluster.prefix, *args)

    async def _run_until_done(self, script: str, *args: Any) -> Any:
        """`_run` for a change that must not be lost (a connection that went away), retried
        while Redis is unreachable, for as long as this process counts as alive: past that,
        the others clear what it held, and it disconnects its clients
        (`chatsite.cluster.RedisCluster.on_taken_for_dead`)."""
        deadline = time.monotonic() + self.cluster.ttl_ms / 1000
        delay = 0.05
        while True:
            try:
                return await self._run(script, *args)
            except ChatError:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("presence change failed (Redis unreachable); retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def join(
        self, *, room: str, username: str, person_key: str, connection: str
    ) -> JoinOutcome:
        """Attach a connection to its person in `room`, on whichever process they are;
        refuse a username another person holds (`rooms.presence.InProcessPresence.join`)."""
        await self.cluster.start()
        keys = _name_fields(username)
        record = {
            "id": secrets.token_urlsafe(9),
            "username": username,
            "person_key": person_key,
            "since": time.time(),
            "keys": keys,
        }
        answer = await self._run(
            _JOIN,
            room,
            self.cluster.process_id,
            connection,
            person_key,
            orjson.dumps(record),
            *keys,
        )
        if answer[0] == b"taken":
            raise username_taken()
        person = _person(room, answer[1])
        if (leaving := self._leaving.pop(person.id, None)) is not None and leaving.departure:
            leaving.departure.cancel()  # back in time (Redis forgot that grace period too)
        # One object per person in this process, holding this process's connections of them.
        person.connections = {*self.here(person_id=person.id), connection}
        for held in person.connections:
            self._hold(held, person)
        return JoinOutcome(person=person, is_new=answer[2] == b"1")

    async def ensure_available(self, *, room: str, username: str, person_key: str) -> None:
        holder = await self.find(room=room, username=username)
        if holder is None or holder.person_key == person_key:
            return
        if is_sessionless(holder.person_key) and is_sessionless(person_key):
            if (await self._live_connections([holder.id]))[0] == 0:
                return
        raise username_taken()

    async def _live_connections(self, person_ids: list[str]) -> list[int]:
        """How many connections of each person are held by live processes."""
        client = self.cluster.redis()
        with _shared_state():
            pipe = client.pipeline(transaction=False)
            for person_id in person_ids:
                pipe.hvals(self.cluster.key("conns", person_id))
            holders = await pipe.execute()
            processes = sorted({process for held in holders for process in held})
            pipe = client.pipeline(transaction=False)
            for process in processes:
                pipe.exists(self.cluster.heartbeat_key(process.decode()))
            alive = {p for p, up in zip(processes, await pipe.execute(), strict=True) if up}
        return [sum(1 for process in held if process in alive) for held in holders]

    async def detach(self, *, connection: str) -> Person | None:
        person = self._release(connection)
        if person is None:
            return None
        person.connections.discard(connection)
        token = secrets.token_hex(6)
        process = self.cluster.process_id
        detach = (_DETACH, person.room, person.id, process, connection, token)
        left = await self._run_until_done(*detach)
        if left:
            return None
        person.departure_token = token
        self._leaving[person.id] = person
        return person

    async def remove(self, person: Person) -> bool:
        process = self.cluster.process_id
        token = person.departure_token or "none"
        if self._leaving.get(person.id) is person:
            del self._leaving[person.id]
        return bool(await self._run(_REMOVE, person.room, person.id, process, token))

    async def evict(self, person: Person) -> bool:
        person = self._leaving.pop(person.id, person)
        if person.departure is not None:
            person.departure.cancel()
            person.departure = None
        process = self.cluster.process_id
        return bool(await self._run(_REMOVE, person.room, person.id, process, "force"))

    async def _reap_and_announce(self, process: str) -> None:
        removed = await self._run(_REAP, process)
        people = [
            _person(room.decode(), record)
            for room, record in zip(removed[::2], removed[1::2], strict=True)
        ]
        if people and self.on_reaped is not None:
            await self.on_reaped(people)

    async def roster(self, *, room: str) -> list[Person]:
        with _shared_state():
            pipe = self.cluster.redis().pipeline(transaction=True)
            pipe.zrange(self._key(room, "order"), 0, -1)
            pipe.hgetall(self._key(room, "people"))
            order, records = await pipe.execute()
        return [_person(room, records[person_id]) for person_id in order if person_id in records]

    async def connection_counts(self, *, room: str) -> dict[str, int]:
        ids = [person.id for person in await self.roster(room=room)]
        return dict(zip(ids, await self._live_connections(ids), strict=True))

    async def size(self, *, room: str) -> int:
        with _shared_state():
            return await self.cluster.redis().hlen(self._key(room, "people"))

    async def find(self, *, room: str, username: str) -> Person | None:
        client = self.cluster.redis()
        with _shared_state():
            for person_id in await client.hmget(self._key(room, "names"), _name_fields(username)):
                if person_id is not None:
                    record = await client.hget(self._key(room, "people"), person_id)
                    if record is not None:
                        return _person(room, record)
        return None

    async def room_counts(self) -> dict[str, int]:
        with _shared_state():
            counts = await self.cluster.redis().hgetall(self.cluster.key("counts"))
        return {room.decode(): int(count) for room, count in counts.items()}
