"""A room member's WebSocket connection: messages handed to the room as they are parsed.

websockets' own connection queues every message and wakes a reading task for it, which on a
node carrying thousands of VR members costs more than the room's work on the pose. A member's
connection instead hands each complete message to a sink in the event loop's read callback:
no queue, no task switch, and backpressure comes for free since nothing more is read while the
room works. Consoles and refused handshakes keep the library's queued reading.

Messages that arrive before the member is attached (between the handshake and ``deliver_to``)
are held, in order, and reading pauses once ``max_held`` of them wait.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event

log = logging.getLogger(__name__)

Sink = Callable[[bytes | str], None]


class MemberConnection(ServerConnection):
    max_held = 64  # as many as websockets' own queue holds before it stops reading

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._direct = False
        self._sink: Sink | None = None
        self._held: deque[bytes | str] = deque()
        self._paused = False
        self._parts: list[bytes | bytearray | memoryview] = []
        self._text = False

    def hold_messages(self) -> None:
        """From now on, hold messages for a sink instead of queueing them for ``recv``.

        Called while the handshake is processed, before any message can arrive.
        """
        self._direct = True

    def deliver_to(self, sink: Sink) -> None:
        """Hand held messages, then every later one, to ``sink``."""
        assert self._direct, "hold_messages() first"
        while self._held and self._sink is None:
            self._call(sink, self._held.popleft())
        if self._sink is None:  # else a held message failed and the member is being closed
            self._sink = sink
        if self._paused:
            self._paused = False
            self.transport.resume_reading()

    def process_event(self, event: Event) -> None:
        if not self._direct or not isinstance(event, Frame):
            super().process_event(event)
            return
        opcode = event.opcode
        if opcode is Opcode.BINARY or opcode is Opcode.TEXT:
            self._text = opcode is Opcode.TEXT
            self._parts = [event.data]
        elif opcode is Opcode.CONT:
            self._parts.append(event.data)
        else:
            super().process_event(event)  # pings and pongs, as the library handles them
            return
        if not event.fin:
            return  # the protocol layer bounds the whole message by max_size
        data = bytes(self._parts[0]) if len(self._parts) == 1 else b"".join(self._parts)
        self._parts = []
        message: bytes | str = data
        if self._text:
            try:
                message = data.decode()
            except UnicodeDecodeError as exc:
                self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                return
        sink = self._sink
        if sink is not None:
            self._call(sink, message)
            return
        self._held.append(message)
        if len(self._held) >= self.max_held and not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def _call(self, sink: Sink, message: bytes | str) -> None:
        try:
            sink(message)
        except Exception:
            # As websockets does when a handler fails: the member is closed with 1011, and
            # nobody else is affected.
            log.exception("a member's message failed")
            self._sink = lambda _message: None
            self._fail(CloseCode.INTERNAL_ERROR, "internal error")

    def _fail(self, code: CloseCode, reason: str) -> None:
        self.protocol.fail(code, reason)
        self.send_data()


__all__ = ["MemberConnection", "Sink"]
