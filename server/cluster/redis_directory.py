"""The room directory in Redis: leases on rooms, and nodes' load reports.

Keys, under the prefix (default ``wr:``):

``{prefix}room:{room}``
    The owning node's name, with a ``PX`` expiry of the lease: a node that dies stops renewing
    and Redis frees the room by itself.
``{prefix}node-rooms:{node}``
    Sorted set of the rooms a node claimed, scored by when the lease lapses; it answers
    ``rooms_of`` without SCANning every room key.
``{prefix}node:{node}``
    The node's last load report as JSON, expiring ``ttl_s`` after it was written.
``{prefix}nodes``
    Sorted set of reporting nodes, scored by when their report lapses.
``{prefix}beat:{node}``
    When the node's beat lapses (Redis ms), written several times a second. The key itself
    lives a day, so a node that stopped beating is known as lapsed, not as one that never beat.

Every change of a lease is a Lua script, so the test of who holds the room and the change are
one step: two nodes claiming a free room at once get the same answer, and a node whose lease
lapsed (and was perhaps claimed by another) cannot renew or release it. Taking a room from a
node whose beat lapsed is a compare-and-set on the holder seen by the claim: of two nodes
taking it at once, the second finds another holder than the one it expected and gets no room.
Scores, ``PX`` and beats all come from the Redis clock, so nodes' clocks do not need to agree;
each script that writes an index also drops its lapsed members, so indexes stay as large as
what is live.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from server.cluster.directory import NodeLoad, least_loaded_of
from server.cluster.redis_presence import (
    LIVE,
    NOW_MS,
    PUT_INDEXED,
    millis,
    reply_list,
    reply_text,
)

# A beat's key outlives the beat by this much, so that a node that stopped beating reads as
# lapsed rather than as one that never beat (whose rooms wait for their leases).
BEAT_KEEP_S = 24 * 3600

# KEYS: room, the node's room index. ARGV: node, lease ms, room.
_CLAIM = (
    NOW_MS
    + """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return ARGV[1]
"""
)

# KEYS: room, the node's room index, the holder's beat, the holder's room index.
# ARGV: node, lease ms, room, the holder the claim found.
_TAKE_OVER = (
    NOW_MS
    + """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[4] then return holder end
if holder then
  local beat = redis.call('GET', KEYS[3])
  if not beat or tonumber(beat) > now then return holder end
  redis.call('ZREM', KEYS[4], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return ARGV[1]
"""
)

# KEYS: the node's beat. ARGV: ttl ms, how long the key keeps (ms). 1 if the last beat had
# not lapsed.
_BEAT = (
    NOW_MS
    + """
local last = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], string.format('%.0f', now + tonumber(ARGV[1])), 'PX', ARGV[2])
if last and tonumber(last) > now then return 1 end
return 0
"""
)

# KEYS: beats. For each, 1 unless it lapsed (a node that never beat counts as beating: its
# rooms go by their leases alone).
_BEATING = (
    NOW_MS
    + """
local out = {}
for i, key in ipairs(KEYS) do
  local beat = redis.call('GET', key)
  if beat and tonumber(beat) <= now then out[i] = 0 else out[i] = 1 end
end
return out
"""
)

# KEYS: room, the node's room index. ARGV: node, lease ms, room.
_RENEW = (
    NOW_MS
    + """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return 1
"""
)

# KEYS: room, the node's room index. ARGV: node, room.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""


class RedisRoomDirectory:
    """:class:`~server.cluster.directory.RoomDirectory` in Redis. ``client`` must return bytes
    (the default, ``decode_responses=False``)."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix
        self._nodes = f"{prefix}nodes"
        self._claim = client.register_script(_CLAIM)
        self._take_over = client.register_script(_TAKE_OVER)
        self._beat = client.register_script(_BEAT)
        self._beating = client.register_script(_BEATING)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._report = client.register_script(PUT_INDEXED)
        self._live = client.register_script(LIVE)

    def _room(self, room: str) -> str:
        return f"{self._prefix}room:{room}"

    def _rooms_index(self, node: str) -> str:
        return f"{self._prefix}node-rooms:{node}"

    def _load(self, node: str) -> str:
        return f"{self._prefix}node:{node}"

    def _beat_key(self, node: str) -> str:
        return f"{self._prefix}beat:{node}"

    async def claim(self, room: str, node: str, *, lease_s: float) -> str:
        keys = [self._room(room), self._rooms_index(node)]
        reply: object = await self._claim(keys=keys, args=[node, millis(lease_s), room])
        holder = reply_text(reply)
        if holder == node:
            return node
        # Held elsewhere, the common answer for a live holder: one more step only then. The
        # holder's keys can only be named once the holder is known, hence two scripts.
        keys += [self._beat_key(holder), self._rooms_index(holder)]
        reply = await self._take_over(keys=keys, args=[node, millis(lease_s), room, holder])
        return reply_text(reply)

    async def beat(self, node: str, *, ttl_s: float) -> bool:
        reply: object = await self._beat(
            keys=[self._beat_key(node)], args=[millis(ttl_s), millis(BEAT_KEEP_S)]
        )
        return reply == 1

    async def renew(self, room: str, node: str, *, lease_s: float) -> bool:
        keys = [self._room(room), self._rooms_index(node)]
        renewed: object = await self._renew(keys=keys, args=[node, millis(lease_s), room])
        return renewed == 1

    async def release(self, room: str, node: str) -> None:
        await self._release(keys=[self._room(room), self._rooms_index(node)], args=[node, room])

    async def owner(self, room: str) -> str | None:
        holder = await self._client.get(self._room(room))
        return None if holder is None else reply_text(holder)

    async def rooms_of(self, node: str) -> list[str]:
        reply: object = await self._live(keys=[self._rooms_index(node)])
        rooms = [reply_text(r) for r in reply_list(reply)]
        if not rooms:
            return []
        # The index can outlive a lease by the moment between the expiry of the key and its
        # score; asking the room keys themselves settles it.
        holders = await self._client.mget([self._room(r) for r in rooms])
        owned = zip(rooms, holders, strict=True)
        return sorted(r for r, h in owned if h is not None and reply_text(h) == node)

    async def report_load(self, node: str, rooms: int, members: int, *, ttl_s: float) -> None:
        body = json.dumps({"rooms": rooms, "members": members})
        keys = [self._load(node), self._nodes]
        await self._report(keys=keys, args=[body, millis(ttl_s), node])

    async def nodes(self) -> dict[str, NodeLoad]:
        reply: object = await self._live(keys=[self._nodes])
        names = [reply_text(n) for n in reply_list(reply)]
        if not names:
            return {}
        reports = await self._client.mget([self._load(n) for n in names])
        beating: object = await self._beating(keys=[self._beat_key(n) for n in names])
        loads: dict[str, NodeLoad] = {}
        for name, report, live in sorted(zip(names, reports, reply_list(beating), strict=True)):
            if report is None or live != 1:
                continue  # lapsed between the two reads, or silent: dead or stalled
            data = json.loads(report)
            loads[name] = NodeLoad(name, int(data["rooms"]), int(data["members"]))
        return loads

    async def least_loaded(self) -> str | None:
        return least_loaded_of((await self.nodes()).values())

    async def advertise(self, node: str, url: str, *, ttl_s: float) -> None:
        await self._client.set(f"{self._prefix}node-url:{node}", url, px=millis(ttl_s))

    async def url_of(self, node: str) -> str | None:
        url = await self._client.get(f"{self._prefix}node-url:{node}")
        if url is None:
            return None
        beating: object = await self._beating(keys=[self._beat_key(node)])
        return reply_text(url) if reply_list(beating) == [1] else None

    async def withdraw(self, node: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.zrem(self._nodes, node)
            keys = (self._load(node), f"{self._prefix}node-url:{node}", self._beat_key(node))
            pipe.delete(*keys)
            await pipe.execute()
