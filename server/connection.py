"""A room member's WebSocket connection: messages handed to the room as they are parsed.

websockets' own connection queues every message and wakes a reading task for it, which on a
node carrying thousands of VR members costs more than the room's work on the pose. A member's
connection instead hands each complete message to a sink in the event loop's read callback:
no queue, no task switch, and backpressure comes for free since nothing more is read while the
room works. Consoles and refused handshakes keep the library's queued reading.

Messages that arrive before the member is attached (between the handshake and ``deliver_to``)
are held, in order, and reading pauses once ``max_held`` of them wait.

Every connection, member, console or refused, also has hard bounds that a peer cannot talk
its way past (:class:`ConnectionLimits`): the bytes of its handshake request, the fragments of
one message and how long one message may stay open, and what the server has written but the
peer has not read. The last is what a peer that sends pings and never reads exploits: each ping
is answered by a pong the library writes at once, the transport buffers it without limit, and a
graceful close waits behind that buffer. Past the bound the transport is aborted: a peer that
does not read cannot be told anything anyway.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event, State

log = logging.getLogger(__name__)

Sink = Callable[[bytes | str], None]

# Sent to a handshake over the size bound; the connection is closed after it.
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 26\r\n"
    b"Connection: close\r\n\r\nrequest headers too large\n"
)


def _ignore(_bound: str) -> None:
    pass


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    # A browser's handshake with a token in the URL is under 4 KiB.
    max_request_bytes: int = 16 * 1024
    # Above the outbox's own bounds (a member that keeps up has under 16 KiB unsent, the
    # writer waits for the library's 32 KiB high-water mark) plus one largest frame.
    max_unsent_bytes: int = 4 * 1024 * 1024
    # Browsers send every message in one frame; a few fragments are legitimate elsewhere.
    max_fragments: int = 256
    max_message_open_s: float = 10.0
    # Told which bound ("request", "unsent", "fragments") cut a connection: the metrics.
    report: Callable[[str], None] = field(default=_ignore, compare=False)


class MemberConnection(ServerConnection):
    max_held = 64  # as many as websockets' own queue holds before it stops reading
    limits = ConnectionLimits()

    @classmethod
    def with_limits(cls, limits: ConnectionLimits) -> type[MemberConnection]:
        """This class with other bounds: websockets builds connections from a class."""
        return type(cls.__name__, (cls,), {"limits": limits})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_bytes = 0
        self._opened_at = 0.0  # when the message being assembled began
        self._fragments = 0
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

    def data_received(self, data: bytes) -> None:
        if self.protocol.state is State.CONNECTING:
            self._request_bytes += len(data)
            if self._request_bytes > self.limits.max_request_bytes:
                # Before the handshake the library would buffer up to 128 lines of 8 KiB.
                self.limits.report("request")
                self.transport.write(_TOO_LARGE)
                self.transport.close()
                return
        super().data_received(data)

    def send_data(self) -> None:
        super().send_data()
        unsent = self.transport.get_write_buffer_size()
        if unsent > self.limits.max_unsent_bytes and not self.transport.is_closing():
            self.limits.report("unsent")
            log.warning("aborting a connection that does not read (%d bytes unsent)", unsent)
            self.transport.abort()

    def process_event(self, event: Event) -> None:
        sink = self._sink
        if (
            sink is not None
            and type(event) is Frame
            and event.opcode is Opcode.BINARY
            and event.fin
            and self._fragments >= 0
        ):
            # A whole binary message in one frame to a member that is attached: every pose.
            # Nothing to bound (no fragments) and nothing to join.
            data = event.data
            self._call(sink, data if type(data) is bytes else bytes(data))
            return
        if isinstance(event, Frame) and event.opcode in _DATA and not self._message_ok(event):
            return
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

    def _message_ok(self, frame: Frame) -> bool:
        """Counts a data frame against the bounds of the message it belongs to."""
        if self._fragments < 0:
            return False
        if frame.opcode is not Opcode.CONT:
            self._fragments = 1
            self._opened_at = self.loop.time()
            return True
        self._fragments += 1
        if self._fragments > self.limits.max_fragments:
            # The protocol bounds the message's bytes, not its frames: empty continuations
            # would each cost a frame object until the idle timeout.
            self._cut(CloseCode.MESSAGE_TOO_BIG, "too many fragments")
            return False
        if self.loop.time() - self._opened_at > self.limits.max_message_open_s:
            self._cut(CloseCode.POLICY_VIOLATION, "message open too long")
            return False
        return True

    def _cut(self, code: CloseCode, reason: str) -> None:
        """Close frame out, then the transport closed: unlike a peer that merely erred, this
        one would otherwise be read (and its frames dropped) at wire speed until the close
        timeout."""
        self.limits.report("fragments")
        self._fragments = -1  # the rest of the frames parsed with this one go too
        self._fail(code, reason)
        self.transport.close()

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


_DATA = frozenset({Opcode.TEXT, Opcode.BINARY, Opcode.CONT})

__all__ = ["ConnectionLimits", "MemberConnection", "Sink"]
