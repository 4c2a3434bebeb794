"""Exceptions raised by the protocol package.

Every failure to accept an inbound frame is one of these; the room turns it into an
``error`` frame carrying :attr:`ProtocolError.code`. Anything else escaping the decoder is a bug
(the fuzz tests hold us to that).

    ProtocolError
    ├── MalformedFrame        not msgpack, truncated, trailing bytes, not a map   MALFORMED
    ├── FrameTooLarge         over the frame size limit                           FRAME_TOO_LARGE
    ├── TextFrame             a text frame where binary is required               TEXT_FRAME
    ├── UnknownMessageType    ``t`` names no message of this direction            UNKNOWN_TYPE
    ├── UnknownField          a key the message does not declare                  UNKNOWN_FIELD
    ├── MissingField          a required key is absent                            MISSING_FIELD
    ├── WrongFieldType        a value of the wrong msgpack type                   WRONG_TYPE
    ├── BadValue              right type, outside its range (NaN, inf, bounds)    BAD_VALUE
    └── TooLong               a string or list over its length limit              TOO_LONG
"""

from __future__ import annotations

from protocol.codes import ErrorCode


class ProtocolError(Exception):
    """Root of every protocol failure. ``str(exc)`` is safe to send to the peer."""

    code: ErrorCode = ErrorCode.MALFORMED

    def __init__(self, detail: str, *, msg_type: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.msg_type = msg_type


class MalformedFrame(ProtocolError):
    code = ErrorCode.MALFORMED


class FrameTooLarge(ProtocolError):
    code = ErrorCode.FRAME_TOO_LARGE


class TextFrame(ProtocolError):
    code = ErrorCode.TEXT_FRAME


class UnknownMessageType(ProtocolError):
    code = ErrorCode.UNKNOWN_TYPE


class UnknownField(ProtocolError):
    code = ErrorCode.UNKNOWN_FIELD


class MissingField(ProtocolError):
    code = ErrorCode.MISSING_FIELD


class WrongFieldType(ProtocolError):
    code = ErrorCode.WRONG_TYPE


class BadValue(ProtocolError):
    code = ErrorCode.BAD_VALUE


class TooLong(ProtocolError):
    code = ErrorCode.TOO_LONG
