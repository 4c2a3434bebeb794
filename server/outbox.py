"""Per-connection send queue: reliable frames in order, state frames latest-wins.

A member on a slow link never delays anyone else (each connection has its own writer task) and
never builds up a queue of stale positions: a new state frame replaces an unsent one. Reliable
frames are never dropped; if a member falls so far behind that its reliable backlog passes the
bound, it is closed (4409) and resumes from its last sequence number on reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from protocol.codes import CloseCode
from server.metrics import Metrics

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, ws: ServerConnection, metrics: Metrics, *, max_reliable: int) -> None:
        self._ws = ws
        self._metrics = metrics
        self._max_reliable = max_reliable
        self._reliable: deque[bytes] = deque()
        self._state: bytes | None = None
        self._close: tuple[CloseCode, str] | None = None
        self._wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        return self._close is not None

    @property
    def backlog(self) -> int:
        return len(self._reliable) + (self._state is not None)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="outbox")

    def push(self, data: bytes, *, reliable: bool) -> None:
        if self._close is not None:
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
        ws, metrics = self._ws, self._metrics
        sent_reliable = metrics.frames_out.labels(kind="reliable")
        sent_state = metrics.frames_out.labels(kind="state")
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._reliable or self._state is not None:
                    if self._reliable:
                        data = self._reliable.popleft()
                        counter = sent_reliable
                    else:
                        assert self._state is not None
                        data, self._state = self._state, None
                        counter = sent_state
                    await ws.send(data)
                    counter.inc()
                    metrics.bytes_out.inc(len(data))
                if self._close is not None:
                    await ws.close(int(self._close[0]), self._close[1])
                    return
        except ConnectionClosed:
            return
