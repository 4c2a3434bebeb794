"""What the simulator needs of a token authority: room and console tokens, minted on demand.

The simulator signs its bots' tokens itself (it plays every visitor), but the keys and the
signing belong to the server; the one who starts a run (``run_server.py``, a test, a
benchmark) hands in something that mints, such as ``server.auth.TokenAuthority``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from avatars.specialties import Specialty
from rooms.roles import Role


class TokenMinter(Protocol):
    def mint(
        self,
        *,
        room: str,
        role: Role,
        subject: str,
        name: str | None = None,
        risk: int | None = None,
        language: str | None = None,
        layout: str | None = None,
    ) -> str:
        """A room token for ``subject`` in ``room`` with ``role`` (and, opening it, ``layout``)."""
        ...

    def mint_console(
        self,
        *,
        subject: str,
        name: str,
        skills: Iterable[Specialty],
        languages: Iterable[str],
    ) -> str:
        """An advisor console token."""
        ...


# A minter for a signing secret: for a server the simulator started with a fresh secret.
MinterFactory = Callable[[bytes], TokenMinter]
