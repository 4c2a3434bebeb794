"""Refused avatar actions. They are protocol errors (the room answers them with an error frame
carrying ``code``), raised by the pure placement rules.

    ProtocolError (protocol.errors)
    └── AvatarError
        └── MovedTooFast      a step no walk could make in the time since the last pose

    AvatarDataError           a data file the bank edits is invalid (not a protocol error)
"""

from __future__ import annotations

from protocol.codes import ErrorCode
from protocol.errors import ProtocolError


class AvatarError(ProtocolError):
    code = ErrorCode.BAD_VALUE


class MovedTooFast(AvatarError):
    code = ErrorCode.MOVED_TOO_FAST


class AvatarDataError(Exception):
    """A data file the bank edits (personas, products, FAQs) is missing or invalid.

    ``at`` is where in the file's JSON the fault is (keys and list indices, outermost first;
    empty: the file as a whole), so that the content loader can name the line."""

    def __init__(self, message: str, *, at: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.at = at
