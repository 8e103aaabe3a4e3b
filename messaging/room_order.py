"""One order per room across server processes: places from Redis, delivery in place order.

Without Redis one process is the whole truth: its writer stores and delivers in arrival order
(`messaging.writer`). With several processes, two writers may store messages of one room at
the same moment, so both the ids and the delivery order come from Redis:

- `assign` (one script per batch) gives each new message the room's next place: a time from
  Redis' clock, never earlier than the room's last, and a sequence number. The message id is
  made from the time and the place, so history's order (by id) is the places' order.
- `release` (one script per batch), once the batch is stored, marks its places as stored
  (or dropped, when storing failed) and publishes, from inside Redis, on the cluster's events
  channel, every message of the room whose earlier places are all released. So every process
  receives a room's messages in place order, whichever process stored them, and delivers
  them to its own connections.
- A process that dies between the two leaves places nobody releases; the process that reaps
  it (`chatsite.cluster`) releases them as dropped, and the room goes on. (Its clients were
  not answered, so they send again, with their `client_id`s.)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import redis

from chatsite import events
from chatsite.cluster import RedisCluster, envelope
from chatsite.publish import ROOM_EVENT
from messaging.store import Message, message_id

logger = logging.getLogger(__name__)

_FLUSH = """
local function flush(prefix, channel, room)
  local order, pending = prefix .. ':order:' .. room, prefix .. ':pending:' .. room
  local next_place = tonumber(redis.call('HGET', order, 'next') or '1')
  while true do
    local value = redis.call('HGET', pending, next_place)
    if not value or string.sub(value, 1, 1) == '@' then break end
    if value ~= '-' then redis.call('PUBLISH', channel, value) end
    redis.call('HDEL', pending, next_place)
    next_place = next_place + 1
  end
  redis.call('HSET', order, 'next', next_place)
end
local function still_assigned(prefix, room, process)
  for _, value in ipairs(redis.call('HVALS', prefix .. ':pending:' .. room)) do
    if value == '@' .. process then return true end
  end
  return false
end
"""

# ARGV: prefix, process, then (room, how many) pairs. Returns (ms, first sequence in that ms,
# first place) per pair. A place's value in `pending` is "@<process>" until released.
_ASSIGN = """
local prefix, process = ARGV[1], ARGV[2]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local answer = {}
for i = 3, #ARGV, 2 do
  local room, count = ARGV[i], tonumber(ARGV[i + 1])
  local order = prefix .. ':order:' .. room
  local last = redis.call('HMGET', order, 'ms', 'sequence', 'place')
  local ms, sequence = now, 0
  if last[1] and tonumber(last[1]) >= now then
    ms, sequence = tonumber(last[1]), tonumber(last[2]) + 1
  end
  if sequence + count > 999999 then ms, sequence = ms + 1, 0 end
  local first_place = tonumber(last[3] or '0') + 1
  redis.call('HSET', order, 'ms', string.format('%d', ms), 'sequence', sequence + count - 1,
    'place', first_place + count - 1)
  local pending = prefix .. ':pending:' .. room
  for place = first_place, first_place + count - 1 do
    redis.call('HSET', pending, place, '@' .. process)
  end
  redis.call('SADD', prefix .. ':assigned:' .. process, room)
  table.insert(answer, string.format('%d', ms))
  table.insert(answer, sequence)
  table.insert(answer, first_place)
end
return answer
"""

# ARGV: prefix, process, channel, then (room, place, envelope or "" when dropped) triples.
_RELEASE = (
    _FLUSH
    + """
local prefix, process, channel = ARGV[1], ARGV[2], ARGV[3]
local rooms = {}
for i = 4, #ARGV, 3 do
  local value = ARGV[i + 2]
  if value == '' then value = '-' end
  redis.call('HSET', prefix .. ':pending:' .. ARGV[i], ARGV[i + 1], value)
  rooms[ARGV[i]] = true
end
for room in pairs(rooms) do
  flush(prefix, channel, room)
  if not still_assigned(prefix, room, process) then
    redis.call('SREM', prefix .. ':assigned:' .. process, room)
  end
end
return 1
"""
)

# ARGV: prefix, dead process, channel.
_RELEASE_LOST = (
    _FLUSH
    + """
local prefix, process, channel = ARGV[1], ARGV[2], ARGV[3]
local assigned = prefix .. ':assigned:' .. process
for _, room in ipairs(redis.call('SMEMBERS', assigned)) do
  local pending = prefix .. ':pending:' .. room
  local entries = redis.call('HGETALL', pending)
  for i = 1, #entries, 2 do
    if entries[i + 1] == '@' .. process then redis.call('HSET', pending, entries[i], '-') end
  end
  flush(prefix, channel, room)
end
redis.call('DEL', assigned)
return 1
"""
)

RELEASE_RETRY_SECONDS = 30.0


class OrderUnavailable(Exception):
    """Redis could not give places: the writer retries, as when HarperDB does not answer."""


class RedisRoomOrder:
    def __init__(self, shared: RedisCluster):
        self.cluster = shared
        self._places: dict[str, tuple[str, int]] = {}  # message id -> (room, place)
        shared.on_process_lost(self._release_lost)

    async def _run(self, script: str, *args) -> list:
        return await self.cluster.redis().eval(
            script, 0, self.cluster.prefix, self.cluster.process_id, *args
        )

    async def assign(self, messages: list[Message]) -> list[Message]:
        """The messages with their rooms' next places: new ids and times, in list order."""
        counts: dict[str, int] = {}
        for message in messages:
            counts[message.room] = counts.get(message.room, 0) + 1
        pairs = [value for room, count in counts.items() for value in (room, count)]
        try:
            answer = await self._run(_ASSIGN, *pairs)
        except redis.RedisError as error:
            raise OrderUnavailable(f"no places in Redis: {error}") from error
        places = {
            room: [int(answer[i * 3]), int(answer[i * 3 + 1]), int(answer[i * 3 + 2])]
            for i, room in enumerate(counts)
        }
        placed = []
        for message in messages:
            ms, sequence, place = places[message.room]
            new_id = message_id(message.room, ms, sequence)
            placed.append(replace(message, id=new_id, created_ms=ms))
            self._places[new_id] = (message.room, place)
            places[message.room] = [ms, sequence + 1, place + 1]
        return placed

    async def release(self, stored: list[Message], dropped: list[Message]) -> None:
        """Stored messages go out in place order (once their predecessors did); dropped
        ones leave their places empty. Retried while Redis is unreachable, for their sake
        and for every later message of their rooms."""
        triples: list[str | int | bytes] = []
        for message, value in [(m, self._envelope(m)) for m in stored] + [
            (m, b"") for m in dropped
        ]:
            place = self._places.pop(message.id, None)
            if place is not None:
                triples += [place[0], place[1], value]
        if not triples:
            return
        delay, waited = 0.05, 0.0
        while True:
            try:
                await self._run(_RELEASE, self.cluster.channel, *triples)
                return
            except redis.RedisError as error:
                if waited >= RELEASE_RETRY_SECONDS:
                    logger.error("releasing %d messages failed: %s", len(triples) // 3, error)
                    return
                logger.warning("releasing messages failed, retrying: %s", error)
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 1.0)

    @staticmethod
    def _envelope(message: Message) -> bytes:
        payload = {
            "room": message.room,
            "event": events.RECEIVE_MESSAGE,
            "data": message.to_payload(),
            "skip": [],
        }
        return envelope(ROOM_EVENT, payload)

    async def _release_lost(self, process: str) -> None:
        await self.cluster.redis().eval(
            _RELEASE_LOST, 0, self.cluster.prefix, process, self.cluster.channel
        )
