"""A customer's booking connection (endpoint ``/book``): from the room page, or from a booking
link the bank sends. A pure state machine as the console is: frames and time in, outputs
(:mod:`advisors.outputs`) out; ``server/appointments.py`` is its shell."""

from __future__ import annotations

from advisors.appointments import Party
from advisors.grant import BookingGrant
from advisors.outputs import Appoint, Close, ConsoleOutput, Send, SendSlots
from protocol import messages as m
from protocol.codec import decode
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import ProtocolError
from protocol.limits import MAX_ERROR_CHARS, PROTOCOL_VERSION, TokenBucket

MESSAGE_RATE = 5.0  # per second: a person choosing a time, no more
MESSAGE_BURST = 20.0


class Booker:
    def __init__(
        self, grant: BookingGrant, *, max_frame_bytes: int, strikes: float, now: float
    ) -> None:
        self.grant = grant
        self.party = Party(
            grant.subject, grant.name, advisor=False, room=grant.room, language=grant.language
        )
        self._max_frame = max_frame_bytes
        self._strikes = TokenBucket(1.0, strikes, now)
        self._messages = TokenBucket(MESSAGE_RATE, MESSAGE_BURST, now)

    def open(self, now: float) -> list[ConsoleOutput]:
        return [SendSlots()]

    def receive(self, data: bytes | str, now: float) -> list[ConsoleOutput]:
        if not self._messages.take(now):
            return self._error(ErrorCode.RATE_LIMITED, "too many messages; slow down", None, now)
        try:
            msg = decode(data, max_bytes=self._max_frame)
        except ProtocolError as exc:
            return self._error(exc.code, exc.detail, exc.msg_type, now)
        if isinstance(msg, m.Hello):
            if msg.v != PROTOCOL_VERSION:
                detail = f"protocol version {msg.v} is not supported"
                return self._error(ErrorCode.UNSUPPORTED_VERSION, detail, "hello", now)
            return []
        if isinstance(msg, m.Ping):
            return [Send(m.Pong(msg.n))]
        if isinstance(msg, m.Offer | m.Book | m.Cancel | m.Move):
            return [Appoint(msg)]
        detail = f"{msg.TYPE!r} belongs to a room or the console, not /book"
        return self._error(ErrorCode.WRONG_ENDPOINT, detail, msg.TYPE, now)

    def refused(self, code: ErrorCode, detail: str, ref: str, now: float) -> list[ConsoleOutput]:
        """An appointment message the rules refused: an error frame, counted as a strike."""
        return self._error(code, detail, ref, now)

    def _error(
        self, code: ErrorCode, detail: str, ref: str | None, now: float
    ) -> list[ConsoleOutput]:
        fatal = not self._strikes.take(now)
        error = m.Error(int(code), detail[:MAX_ERROR_CHARS], ref, True if fatal else None)
        if not fatal:
            return [Send(error)]
        if code is ErrorCode.RATE_LIMITED:
            return [Send(error), Close(CloseCode.RATE_LIMITED, "message rate limit exceeded")]
        return [Send(error), Close(CloseCode.TOO_MANY_ERRORS, "too many bad messages")]
