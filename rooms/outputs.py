"""What a room asks its shell to do: send frames, close connections."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.codes import CloseCode


@dataclass(frozen=True, slots=True)
class Frame:
    """Send ``data`` to each member in ``to``.

    ``reliable`` frames must all arrive, in order; state frames (``reliable=False``) may be
    replaced by a newer one if the member has not taken the older yet.
    """

    to: tuple[int, ...]
    data: bytes
    reliable: bool


@dataclass(frozen=True, slots=True)
class Close:
    member: int
    code: CloseCode
    reason: str


Output = Frame | Close
