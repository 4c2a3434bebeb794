"""Exceptions of the rooms package. Bad input from members never raises: it becomes an error
frame. These are for callers that break the room's contract (the server shell, tests).

    RoomError
    └── UnknownMember     a member id this room never issued or already forgot
"""

from __future__ import annotations


class RoomError(Exception):
    """Root of every rooms failure."""


class UnknownMember(RoomError):
    pass
