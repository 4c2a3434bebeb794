"""The audit chain in Redis Streams, for a cluster whose rooms move between nodes.

Keys, under the prefix (default ``wr:``):

``{prefix}audit:{room}``
    Stream of the room's chained entries, one stream entry each with one field, ``entry``: the
    entry's JSON, byte for byte what the file log writes as a line. Never trimmed or expired: a
    chain verifies only from its first entry, and retention is a compliance decision.
``{prefix}audit-head:{room}``
    Hash ``n`` (the next index) and ``hash`` (the last entry's hash): where the chain goes on.

One chain per room rather than one for the cluster: a room's events are written by the node that
hosts it, so chains of different rooms never contend, while a single chain would make every
node wait on every other for each event. The price is that order between rooms is given only by
the timestamps, not by the chain.

Two nodes can still append to one room's chain (a lease handed over while the old host flushes
its last events, or a refused handshake recorded by whichever node received it). SHA-256 is not
available inside Redis, so the entry is hashed here and written by a compare-and-append script:
it adds the entry only if the head is still the ``n`` and ``hash`` the entry was built on, and
otherwise answers with the current head, from which the entry is rebuilt and tried again. The
chain therefore never forks, and a node that restarts picks the chain up from the head key on
its first append (one extra round trip) instead of reading the stream. Keeping the head in its
own key, not taking it from the stream's last entry, also means deleting entries from the end
of a stream cannot rewind the chain: the next entry still follows the deleted one, so
:func:`verify_stream` finds the gap.

:class:`RedisAuditLog` is asynchronous; the room host calls its audit log synchronously, so
:class:`BufferedAuditLog` is the :class:`~rooms.audit.AuditLog` to give it: ``append`` queues
and a task writes in order. Wire it in ``WealthroomServer`` as::

    self.audit = BufferedAuditLog(RedisAuditLog(client, prefix=prefix))  # __init__
    self.audit.start()  # start(), before any room opens or handshake is served
    await self.audit.aclose()  # stop(), after the rooms are stopped (their last events queued)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, OrderedDict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from rooms.audit import GENESIS, AuditEvent, entry_for, verify
from server.cluster.redis_presence import reply_list, reply_text

log = logging.getLogger(__name__)

# KEYS: stream, head. ARGV: n, prev, hash, entry JSON, genesis hash.
_APPEND = """
local head = redis.call('HMGET', KEYS[2], 'n', 'hash')
local n = tonumber(head[1]) or 0
local prev = head[2] or ARGV[5]
if n ~= tonumber(ARGV[1]) or prev ~= ARGV[2] then return {0, tostring(n), prev} end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[4])
redis.call('HSET', KEYS[2], 'n', tostring(n + 1), 'hash', ARGV[3])
return {1, id}
"""

_CHAIN_FIELDS = ("n", "prev", "hash")


class AuditContention(RuntimeError):
    """The head kept moving under us: other writers won every one of our attempts."""


class RedisAuditLog:
    """Appends audit events to their room's chain in Redis. ``client`` must return bytes (the
    default, ``decode_responses=False``)."""

    def __init__(
        self, client: Redis, *, prefix: str = "wr:", attempts: int = 100, heads: int = 1024
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._attempts = attempts
        self._append = client.register_script(_APPEND)
        # A guess at each room's head saves a round trip per event; a wrong or missing guess
        # costs one, so the cache is bounded rather than kept for every room ever seen.
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._max_heads = heads
        # Appends from this node wait their turn instead of racing each other on the head.
        self._lock = asyncio.Lock()

    def stream_key(self, room: str) -> str:
        return f"{self._prefix}audit:{room}"

    def head_key(self, room: str) -> str:
        return f"{self._prefix}audit-head:{room}"

    async def append(self, event: AuditEvent) -> dict[str, Any]:
        """Chain ``event`` onto its room's stream; returns the entry as stored."""
        keys = [self.stream_key(event.room), self.head_key(event.room)]
        async with self._lock:
            n, prev = self._heads.get(event.room, (0, GENESIS))
            for _ in range(self._attempts):
                entry = entry_for(event, n, prev)
                body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
                args = [n, prev, entry["hash"], body, GENESIS]
                reply = reply_list(await self._append(keys=keys, args=args))
                if reply[0] == 1:
                    self._remember(event.room, n + 1, str(entry["hash"]))
                    return entry
                n, prev = int(reply_text(reply[1])), reply_text(reply[2])
            raise AuditContention(f"audit chain of room {event.room!r} kept moving")

    def _remember(self, room: str, n: int, last_hash: str) -> None:
        self._heads[room] = (n, last_hash)
        self._heads.move_to_end(room)
        while len(self._heads) > self._max_heads:
            self._heads.popitem(last=False)


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


async def verify_stream(client: Redis, key: str) -> tuple[bool, int | None]:
    """Check an audit stream's chain: ``(True, None)``, or ``False`` and the 0-based index of
    the first bad entry (the first missing one, if entries were deleted from the end). Holds the
    whole stream in memory while checking, as ``verify`` takes the chain from its start."""
    verdict = verify(await read_stream(client, key))
    if not verdict.ok:
        return False, verdict.first_broken
    if verdict.entries == 0 and not await client.exists(key):
        return True, None
    # The chain alone cannot tell a whole chain from one cut short at the end; the stream
    # counts every entry ever added to it, deleted or not.
    info = await client.xinfo_stream(key)
    if int(info["entries-added"]) != verdict.entries:
        return False, verdict.entries
    return True, None


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
        entry = entry_for(event, 0, GENESIS)
        return {k: v for k, v in entry.items() if k not in _CHAIN_FIELDS}

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="audit:redis")

    async def flush(self) -> None:
        """Wait until every event queued so far is in Redis."""
        await self._queue.join()

    async def aclose(self, *, timeout_s: float = 5.0) -> None:
        """Write what is queued, for at most ``timeout_s``, then stop the writer."""
        try:
            async with asyncio.timeout(timeout_s):
                await self.flush()
        except TimeoutError:
            log.error("audit: %d events not written to Redis at shutdown", self.pending)
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
