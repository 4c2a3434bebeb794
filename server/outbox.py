"""Per-connection send queue: reliable frames in order, state frames latest-wins.

A member on a slow link never delays anyone else (each connection has its own writer task) and
never builds up a queue of stale positions: a new state frame replaces an unsent one. Reliable
frames are never dropped; if a member falls so far behind that its reliable backlog passes the
bound, it is closed (4409) and resumes from its last sequence number on reconnect.

While a member keeps up (nothing queued, the writer idle and the socket's buffer under
``FAST_WRITE_BYTES``) a frame is written at once, without waking the writer task: that is
almost every frame, and a task switch per frame was a large share of a busy node's CPU. Such a
frame goes out as the bytes :func:`framed` made once for everyone it is addressed to (a room's
state frame goes to a whole group), not framed again for each member; a frame for one member
is framed here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from protocol.codes import CloseCode
from server.metrics import Metrics

log = logging.getLogger(__name__)

# Below this much unsent in the socket's buffer, a member is keeping up. Far under the
# transport's high-water mark (64 KiB): a state frame written behind a backlog would be stale
# by the time it left, so from here on the writer's latest-wins queue takes over.
FAST_WRITE_BYTES = 16 * 1024


def framed(data: bytes) -> bytes:
    """``data`` as the binary WebSocket frame a server writes (unmasked, no extensions: the
    server negotiates no compression), framed by the library once for all its recipients."""
    return Frame(Opcode.BINARY, data).serialize(mask=False, extensions=[])


class Outbox:
    def __init__(self, ws: ServerConnection, metrics: Metrics, *, max_reliable: int) -> None:
        self._ws = ws
        self._metrics = metrics
        self._max_reliable = max_reliable
        self._reliable: deque[bytes] = deque()
        self._state: bytes | None = None
        self._close: tuple[CloseCode, str] | None = None
        self._wake = asyncio.Event()
        self._busy = False  # the writer task is between waking and going back to sleep
        self.task: asyncio.Task[None] | None = None
        self._tally = metrics.tally  # counted in batches (server/metrics.py)

    @property
    def closing(self) -> bool:
        return self._close is not None

    @property
    def backlog(self) -> int:
        return len(self._reliable) + (self._state is not None)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    def push(self, data: bytes, *, reliable: bool, wire: bytes | None = None) -> None:
        """Send ``data``; ``wire`` is :func:`framed` of it, when the caller made it already."""
        if self._close is not None:
            return
        if self._write_now(data, wire):
            self._count(data, reliable=reliable)
            return
        if reliable:
            if len(self._reliable) >= self._max_reliable:
                self._cut_off()
                return
            self._reliable.append(data)
        else:
            if self._state is not None:
                self._metrics.state_superseded.inc()
            self._state = data
        self._wake.set()

    def _count(self, data: bytes, *, reliable: bool) -> None:
        tally = self._tally
        if reliable:
            tally.reliable_out += 1
        else:
            tally.state_out += 1
        tally.bytes_out += len(data)

    def _write_now(self, data: bytes, wire: bytes | None) -> bool:
        """Write ``data`` straight to the socket if nothing could be ahead of it."""
        ws = self._ws
        if (
            self._busy
            or self._reliable
            or self._state is not None
            or self.task is None
            or ws.protocol.state is not State.OPEN
            or ws.transport.is_closing()
            or ws.transport.get_write_buffer_size() > FAST_WRITE_BYTES
        ):
            return False
        ws.transport.write(framed(data) if wire is None else wire)
        return True

    def close(self, code: CloseCode, reason: str) -> None:
        """Close after the frames already queued (an error frame, say) have gone out."""
        if self._close is None:
            self._close = (code, reason)
            self._state = None
            self._metrics.closes.labels(code=str(int(code))).inc()
            self._wake.set()

    def _cut_off(self) -> None:
        """The peer stopped reading: stop the writer (it may be stuck waiting for the socket to
        drain) and close. The close frame queues behind what the kernel holds; if the peer never
        reads it, the WebSocket layer's close timeout drops the TCP connection."""
        self._reliable.clear()
        self.close(CloseCode.SLOW_CONSUMER, "too far behind; reconnect to resume")
        if self.task is not None:
            self.task.cancel()
        self.task = asyncio.get_running_loop().create_task(
            self._ws.close(int(CloseCode.SLOW_CONSUMER), "too far behind; reconnect to resume"),
            name="outbox-cut-off",
        )

    async def finish(self) -> None:
        """Wait for a requested close to go out; otherwise stop writing (the peer is gone)."""
        if self.task is None:
            return
        if self._close is None:
            self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def _run(self) -> None:
        ws = self._ws
        try:
            while True:
                self._busy = False
                await self._wake.wait()
                self._busy = True
                self._wake.clear()
                while self._reliable or self._state is not None:
                    reliable = bool(self._reliable)
                    if reliable:
                        data = self._reliable.popleft()
                    else:
                        assert self._state is not None
                        data, self._state = self._state, None
                    await ws.send(data)
                    self._count(data, reliable=reliable)
                if self._close is not None:
                    await ws.close(int(self._close[0]), self._close[1])
                    return
        except ConnectionClosed:
            return
