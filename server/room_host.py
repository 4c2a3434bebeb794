"""Drives one pure :class:`rooms.Room` on the event loop: its tick task and its members' sockets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from websockets.asyncio.server import ServerConnection

from protocol.codes import CloseCode
from rooms.audit import AuditLog
from rooms.members import Grant
from rooms.outputs import Audit, Close, Frame, Output
from rooms.room import Room
from server.metrics import Metrics
from server.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Attachment:
    member: int
    grant: Grant
    outbox: Outbox


class RoomHost:
    def __init__(
        self,
        room: Room,
        metrics: Metrics,
        *,
        max_reliable: int,
        empty_ttl_s: float | None,
        on_dispose: Callable[[RoomHost], None],
        audit: AuditLog,
    ) -> None:
        self.room = room
        self._metrics = metrics
        self._max_reliable = max_reliable
        self._empty_ttl = empty_ttl_s  # None: never disposed while the server runs
        self._attached: dict[int, Attachment] = {}
        self._task: asyncio.Task[None] | None = None
        self._on_dispose = on_dispose
        self._audit = audit
        self.disposed = asyncio.Event()

    @property
    def id(self) -> str:
        return self.room.id

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"room:{self.id}")

    async def stop(self) -> None:
        """Close every member (1001) and wait until their close frames are out."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._dispatch(self.room.close(time.time()))
        outboxes = [a.outbox.task for a in self._attached.values() if a.outbox.task]
        await asyncio.gather(*outboxes, return_exceptions=True)

    # --- members --------------------------------------------------------------------------

    def attach(self, ws: ServerConnection, grant: Grant) -> Attachment:
        member = self.room.connect(grant, time.time())
        outbox = Outbox(ws, self._metrics, max_reliable=self._max_reliable)
        outbox.start()
        att = Attachment(member, grant, outbox)
        self._attached[member] = att
        return att

    def receive(self, att: Attachment, data: bytes | str) -> None:
        if att.outbox.closing:
            return  # the room already let this member go; late frames are ignored
        self._dispatch(self.room.receive(att.member, data, time.time()))

    def detach(self, att: Attachment) -> None:
        self._dispatch(self.room.disconnect(att.member, time.time()))
        self._attached.pop(att.member, None)

    def outbox_of(self, member: int) -> Outbox | None:
        att = self._attached.get(member)
        return att.outbox if att else None

    # --- internals ------------------------------------------------------------------------

    def _dispatch(self, outputs: list[Output]) -> None:
        attached = self._attached
        for out in outputs:
            if isinstance(out, Frame):
                for member in out.to:
                    att = attached.get(member)
                    if att is not None:
                        att.outbox.push(out.data, reliable=out.reliable)
            elif isinstance(out, Close):
                att = attached.get(out.member)
                if att is not None:
                    att.outbox.close(out.code, out.reason)
            elif isinstance(out, Audit):
                self._audit.append(out.event)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.room.tick_hz
        next_at = loop.time()
        empty_since: float | None = None
        try:
            while True:
                started = loop.time()
                with self._metrics.tick_seconds.time():
                    self._dispatch(self.room.tick(time.time()))
                if self._empty_ttl is not None:
                    if not self.room.is_empty:
                        empty_since = None
                    elif empty_since is None:
                        empty_since = started
                    elif started - empty_since >= self._empty_ttl:
                        log.info("room %s empty for %.0f s: disposing", self.id, self._empty_ttl)
                        break
                next_at += period
                delay = next_at - loop.time()
                if delay < -period:
                    # Behind by more than a tick: skip ahead rather than burst to catch up.
                    self._metrics.tick_overruns.inc()
                    next_at = loop.time()
                    delay = 0.0
                await asyncio.sleep(delay)
        except Exception:
            log.exception("room %s tick loop failed", self.id)
            for att in self._attached.values():
                att.outbox.close(CloseCode.INTERNAL_ERROR, "room failed; reconnect")
            raise
        finally:
            # Synchronous with the emptiness check above: no member can attach in between.
            self._on_dispose(self)
            self.disposed.set()
