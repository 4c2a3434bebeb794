"""The audit chain in Redis Streams, for a cluster whose rooms move between nodes.

Keys, under the prefix (default ``wr:``):

``{prefix}audit:{room}``
    Stream of the room's chained entries, one stream entry each with one field, ``entry``: the
    entry's JSON, byte for byte what the file log writes as a line. Never trimmed or expired: a
    chain verifies only from its first entry, and retention is a compliance decision.
``{prefix}audit-head:{room}``
    Hash ``n`` (the next index) and ``mac`` (the last entry's MAC): where the chain goes on;
    ``born``, the stream ID of the chain's entry 0, which every checkpoint repeats.
``{prefix}audit-checkpoints:{room}``
    Stream of signed checkpoints (``rooms.audit.checkpoint_for``: count, last MAC, time, room),
    one field ``checkpoint``: written by each node after every ``checkpoint_every`` entries it
    adds to the room's chain, and for every room it wrote to when it shuts down.

One chain per room rather than one for the cluster: a room's events are written by the node that
hosts it, so chains of different rooms never contend, while a single chain would make every
node wait on every other for each event. The price is that order between rooms is given only by
the timestamps, not by the chain.

Two nodes can still append to one room's chain (a lease handed over while the old host flushes
its last events, or a refused handshake recorded by whichever node received it). The MAC needs
the audit key, which Redis never sees, so the entry is sealed here and written by a
compare-and-append script:
it adds the entry only if the head is still the ``n`` and ``hash`` the entry was built on, and
otherwise answers with the current head, from which the entry is rebuilt and tried again. The
chain therefore never forks, and a node that restarts picks the chain up from the head key on
its first append (one extra round trip) instead of reading the stream. Keeping the head in its
own key, not taking it from the stream's last entry, also means deleting entries from the end
of a stream cannot rewind the chain: the next entry still follows the deleted one, so
:func:`verify_stream` finds the gap.

A Redis that restarts without persistence loses the stream, its head and its checkpoints
alike, and the next entry would begin a new chain that verifies. A node that wrote to the room
before remembers the head; when Redis answers with a head behind it, the chain has gone back,
and the node writes a checkpoint of the head it remembers before going on. That checkpoint
names the stream ID the lost chain was born with, and the new chain's entry 0 has another,
which is how :func:`verify_stream` tells a lost stream from a cut one. Only a lost stream that
no running node had written to goes unseen: run Redis with persistence (AOF) for the audit
trail.

:class:`RedisAuditLog` is asynchronous; the room host calls its audit log synchronously, so
:class:`BufferedAuditLog` is the :class:`~rooms.audit.AuditLog` to give it: ``append`` queues
and a task writes in order. Wire it in ``WealthroomServer`` as::

    self.audit = BufferedAuditLog(RedisAuditLog(client, key, prefix=prefix))  # __init__
    self.audit.start()  # start(), before any room opens or handshake is served
    await self.audit.aclose()  # stop(), after the rooms are stopped (their last events queued)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from rooms.audit import (
    GENESIS,
    AuditEvent,
    Verdict,
    checkpoint_for,
    entry_for,
    record_for,
    verify,
)
from server.cluster.redis_presence import reply_list, reply_text

log = logging.getLogger(__name__)

# KEYS: stream, head. ARGV: n, prev, mac, entry JSON, genesis MAC.
_APPEND = """
local head = redis.call('HMGET', KEYS[2], 'n', 'mac', 'born')
local n = tonumber(head[1]) or 0
local prev = head[2] or ARGV[5]
if n ~= tonumber(ARGV[1]) or prev ~= ARGV[2] then return {0, tostring(n), prev} end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[4])
local born = head[3] or id
redis.call('HSET', KEYS[2], 'n', tostring(n + 1), 'mac', ARGV[3], 'born', born)
return {1, id, born}
"""

CHECKPOINT_EVERY = 64


class AuditContention(RuntimeError):
    """The head kept moving under us: other writers won every one of our attempts."""


@dataclass(slots=True)
class _Head:
    n: int  # entries in the chain
    mac: str  # the last one's MAC
    born: str  # the stream ID of entry 0
    unchecked: int = 0  # entries this node added since its last checkpoint of the room


class RedisAuditLog:
    """Appends audit events to their room's chain in Redis. ``client`` must return bytes (the
    default, ``decode_responses=False``)."""

    def __init__(
        self,
        client: Redis,
        key: bytes,
        *,
        prefix: str = "wr:",
        attempts: int = 100,
        heads: int = 1024,
        checkpoint_every: int = CHECKPOINT_EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._key = key
        self._prefix = prefix
        self._attempts = attempts
        self._every = checkpoint_every
        self._clock = clock
        self._append = client.register_script(_APPEND)
        # A guess at each room's head saves a round trip per event; a wrong or missing guess
        # costs one, so the cache is bounded rather than kept for every room ever seen.
        self._heads: OrderedDict[str, _Head] = OrderedDict()
        self._max_heads = heads
        # Appends from this node wait their turn instead of racing each other on the head.
        self._lock = asyncio.Lock()

    def stream_key(self, room: str) -> str:
        return f"{self._prefix}audit:{room}"

    def head_key(self, room: str) -> str:
        return f"{self._prefix}audit-head:{room}"

    def checkpoints_key(self, room: str) -> str:
        return f"{self._prefix}audit-checkpoints:{room}"

    async def append(self, event: AuditEvent) -> dict[str, Any]:
        """Chain ``event`` onto its room's stream; returns the entry as stored."""
        room = event.room
        keys = [self.stream_key(room), self.head_key(room)]
        async with self._lock:
            known = self._heads.get(room)
            n, prev = (known.n, known.mac) if known else (0, GENESIS)
            for _ in range(self._attempts):
                entry = entry_for(event, n, prev, self._key)
                body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
                args = [n, prev, entry["mac"], body, GENESIS]
                reply = reply_list(await self._append(keys=keys, args=args))
                if reply[0] == 1:
                    await self._added(room, n + 1, str(entry["mac"]), reply_text(reply[2]))
                    return entry
                head_n, head_mac = int(reply_text(reply[1])), reply_text(reply[2])
                known = self._heads.get(room)
                if known is not None and head_n < known.n:
                    await self._gone_back(room, known, head_n)
                n, prev = head_n, head_mac
            raise AuditContention(f"audit chain of room {room!r} kept moving")

    async def checkpoint(self, room: str) -> None:
        """Write a checkpoint of the room's head as this node last saw it."""
        head = self._heads.get(room)
        if head is not None:
            await self._write_checkpoint(room, head)
            head.unchecked = 0

    async def checkpoint_all(self) -> None:
        """A checkpoint of every room with entries from this node since its last one."""
        for room, head in list(self._heads.items()):
            if head.unchecked:
                await self.checkpoint(room)

    async def _write_checkpoint(self, room: str, head: _Head) -> None:
        cp = checkpoint_for(head.n, head.mac, self._clock(), self._key, room=room, born=head.born)
        body = json.dumps(cp, ensure_ascii=False, separators=(",", ":"))
        await self._client.xadd(self.checkpoints_key(room), {"checkpoint": body})

    async def _added(self, room: str, n: int, mac: str, born: str) -> None:
        head = self._heads.pop(room, None) or _Head(n, mac, born)
        head.n, head.mac, head.born, head.unchecked = n, mac, born, head.unchecked + 1
        self._heads[room] = head
        while len(self._heads) > self._max_heads:
            self._heads.popitem(last=False)
        if head.unchecked >= self._every:
            # The entry is in: a failure here must not reach the caller, who would append the
            # entry again. The count stays up, so the next entry tries the checkpoint again.
            try:
                await self.checkpoint(room)
            except RedisError as exc:
                log.warning("audit: checkpoint of room %s not written (%s)", room, exc)

    async def _gone_back(self, room: str, known: _Head, now_n: int) -> None:
        log.error(
            "audit chain of room %s went back from %d entries to %d: Redis lost it (restarted"
            " without persistence?); checkpointing the head this node knew",
            room,
            known.n,
            now_n,
        )
        await self._write_checkpoint(room, known)
        del self._heads[room]


async def read_stream(client: Redis, key: str, *, batch: int = 1000) -> list[dict[str, Any] | None]:
    """The entries of an audit stream in order; ``None`` for one that is not a JSON object."""
    entries: list[dict[str, Any] | None] = []
    start = "-"
    while True:
        rows = await client.xrange(key, min=start, max="+", count=batch)
        if not rows:
            return entries
        for _, stream_fields in rows:
            entries.append(_parse(stream_fields.get(b"entry") if stream_fields else None))
        start = "(" + reply_text(rows[-1][0])


async def read_checkpoints(client: Redis, key: str) -> list[dict[str, Any] | None]:
    """A checkpoint stream's entries in order; ``None`` for one that is not a JSON object."""
    rows = await client.xrange(key, min="-", max="+")
    return [_parse(row.get(b"checkpoint") if row else None) for _, row in rows or []]


async def verify_stream(client: Redis, key: bytes, room: str, *, prefix: str = "wr:") -> Verdict:
    """Check a room's audit stream under ``key``, held to its checkpoints. Holds the whole
    stream in memory while checking, as ``verify`` takes the chain from its start."""
    names = RedisAuditLog(client, key, prefix=prefix)
    stream = names.stream_key(room)
    checkpoints = await read_checkpoints(client, names.checkpoints_key(room))
    entries = await read_stream(client, stream)
    verdict = verify(entries, key, checkpoints or None, room=room)
    if verdict.problem == "forged-checkpoint":
        return verdict
    first = await client.xrange(stream, min="-", max="+", count=1)
    born = reply_text(first[0][0]) if first else None
    # A stream whose first entry is a chain's entry 0 (not one whose first entries were
    # deleted), born at another ID than a checkpoint says: the chain it vouched for was lost
    # and a new one begun. Said before the chain's verdict, as the new chain is sound.
    afresh = born is None or (entries[0] is not None and entries[0].get("n") == 0)
    for cp in checkpoints:
        if not afresh or cp is None or not cp.get("n") or cp.get("born") == born:
            continue
        since = "is gone" if born is None else "was begun again after it"
        return Verdict(
            False,
            0,
            None,
            f"the checkpoint of {cp.get('at')} vouches for {cp['n']} entries, and the stream"
            f" {since} (Redis restarted without persistence, or its keys were deleted)",
            "lost",
            verdict.checkpoints,
            verdict.covered,
        )
    if not verdict.ok or (verdict.entries == 0 and born is None):
        return verdict
    # The chain alone cannot tell a whole chain from one cut short at the end; the stream
    # counts every entry ever added to it, deleted or not.
    info = await client.xinfo_stream(stream)
    if int(info["entries-added"]) != verdict.entries:
        return Verdict(
            False,
            verdict.entries,
            verdict.entries,
            f"{info['entries-added']} entries were added to the stream, {verdict.entries} are"
            " here: the last ones were deleted",
            "truncated",
            verdict.checkpoints,
            verdict.covered,
        )
    return verdict


def _parse(raw: object) -> dict[str, Any] | None:
    if not isinstance(raw, bytes | str):
        return None
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


class BufferedAuditLog:
    """The synchronous :class:`~rooms.audit.AuditLog` in front of a :class:`RedisAuditLog`.

    ``append`` never waits on Redis (it is called from a room's tick); a task writes the queued
    events in order, retrying while Redis is unreachable. The queue is bounded so an outage
    cannot exhaust memory: past ``max_pending`` events are dropped, counted in ``dropped``, and
    once there is room again an ``audit.dropped`` event with the count goes into each affected
    room's chain, so the loss is on the record rather than silent.
    """

    def __init__(
        self, chain: RedisAuditLog, *, max_pending: int = 10_000, retry_s: float = 1.0
    ) -> None:
        self._chain = chain
        self._queue: asyncio.Queue[AuditEvent] = asyncio.Queue(max_pending)
        self._retry_s = retry_s
        self._lost: Counter[str] = Counter()
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def append(self, event: AuditEvent) -> dict[str, Any]:
        """Queue ``event``. Its place in the chain is not known until it is written, so the
        record returned lacks ``n``, ``prev`` and ``hash``; nothing in the server reads it."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            if not self._lost:
                log.error("audit queue full; dropping events until Redis catches up")
            self._lost[event.room] += 1
            self.dropped += 1
        return record_for(event)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit:redis")

    async def flush(self) -> None:
        """Wait until every event queued so far is in Redis."""
        await self._queue.join()

    async def aclose(self, *, timeout_s: float = 5.0) -> None:
        """Write what is queued and checkpoint the rooms written to, for at most ``timeout_s``,
        then stop the writer."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
                await self._chain.checkpoint_all()
        except TimeoutError:
            log.error("audit: %d events not written to Redis at shutdown", self.pending)
        except RedisError as exc:
            log.error("audit: no checkpoint written at shutdown (%s)", exc)
        finally:
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
                self._task = None

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._write(event)
                self._record_losses()
            finally:
                self._queue.task_done()

    async def _write(self, event: AuditEvent) -> None:
        while True:
            try:
                await self._chain.append(event)
                return
            except (RedisError, AuditContention) as exc:
                log.warning("audit: writing to Redis failed (%s); retrying", exc)
                await asyncio.sleep(self._retry_s)
            except Exception:
                # Retrying an event that cannot be written would stop every later one.
                log.exception("audit: event for room %s cannot be written", event.room)
                self._lost[event.room] += 1
                self.dropped += 1
                return

    def _record_losses(self) -> None:
        for room, count in list(self._lost.items()):
            note = AuditEvent(
                time.time(), room, "server", "", "audit.dropped", "lost", {"count": count}
            )
            try:
                self._queue.put_nowait(note)
            except asyncio.QueueFull:
                return
            del self._lost[room]
