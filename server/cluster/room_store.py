"""Where rooms keep what must survive their node: state, and the reliable log written ahead.

A room host appends every reliable message here *before* delivering it (see
``server/room_host.py``), together with the room's small state (sequence, admissions, experts,
screens, pages, step-up counters), so a member can never have seen a message a restored room
does not know. Pose traffic never comes here.
"""

from __future__ import annotations

from typing import Protocol

import msgpack
from redis.asyncio import Redis

LOG_LENGTH = 2000  # as many as a room replays (RoomLimits.reliable_log)
KEEP_S = 24 * 3600  # a room's record outlives its last write by this long


class RoomStore(Protocol):
    async def write(self, room: str, entries: list[tuple[int, bytes]], state: bytes) -> int:
        """Append ``entries`` to the room's log and replace its state, all or nothing;
        returns how many entries the log holds now (a writer that finds fewer than it wrote
        knows the store lost them, e.g. a restart without persistence, and writes them again)."""
        ...

    async def read(self, room: str) -> tuple[bytes, list[tuple[int, bytes]]] | None:
        """State and log as last written, or ``None`` for a room never stored."""
        ...

    async def forget(self, room: str) -> None: ...


class MemoryRoomStore:
    def __init__(self) -> None:
        self._rooms: dict[str, tuple[bytes, list[tuple[int, bytes]]]] = {}

    async def write(self, room: str, entries: list[tuple[int, bytes]], state: bytes) -> int:
        _, log = self._rooms.get(room, (b"", []))
        log = (log + entries)[-LOG_LENGTH:]
        self._rooms[room] = (state, log)
        return len(log)

    async def read(self, room: str) -> tuple[bytes, list[tuple[int, bytes]]] | None:
        item = self._rooms.get(room)
        return None if item is None else (item[0], list(item[1]))

    async def forget(self, room: str) -> None:
        self._rooms.pop(room, None)


class RedisRoomStore:
    """A list per room for the log, a string for the state; one MULTI per write."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix

    def _keys(self, room: str) -> tuple[str, str]:
        return f"{self._prefix}rlog:{room}", f"{self._prefix}rstate:{room}"

    async def write(self, room: str, entries: list[tuple[int, bytes]], state: bytes) -> int:
        log_key, state_key = self._keys(room)
        async with self._client.pipeline(transaction=True) as pipe:
            if entries:
                pipe.rpush(log_key, *(msgpack.packb([seq, data]) for seq, data in entries))
                pipe.ltrim(log_key, -LOG_LENGTH, -1)
            pipe.expire(log_key, KEEP_S)
            pipe.set(state_key, state, ex=KEEP_S)
            pipe.llen(log_key)
            replies = await pipe.execute()
        return int(replies[-1])

    async def read(self, room: str) -> tuple[bytes, list[tuple[int, bytes]]] | None:
        log_key, state_key = self._keys(room)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.get(state_key)
            pipe.lrange(log_key, 0, -1)
            state, raw = await pipe.execute()
        if state is None:
            return None
        log: list[tuple[int, bytes]] = []
        for item in raw:
            seq, data = msgpack.unpackb(item)
            log.append((int(seq), bytes(data)))
        return bytes(state), log

    async def forget(self, room: str) -> None:
        await self._client.delete(*self._keys(room))
