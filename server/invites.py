"""Guest links: where their use count and revocation live, and how a link is made.

A link is a signed invitation token (``server/auth.py``, its own audience) after ``#`` in the
room page's URL; what the token cannot say (how often it was used, whether it was revoked) is
in an :class:`InviteStore` shared by the node, because a link is used at the handshake, before
any room is reached, and on any node. The rule a use is judged by is
:func:`rooms.invitations.redeem`; a store applies it as one atomic step, so that two guests
with a one-use link at once are admitted once. :class:`MemoryInviteStore` is the embedded one,
``server/cluster/redis_invites.py`` the one for several nodes.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol
from urllib.parse import quote

import segno

from rooms.invitations import Admitted, InviteRecord, Refusal, redeem
from server.auth import TokenAuthority


class InviteStore(Protocol):
    async def create(self, record: InviteRecord) -> None:
        """Keep ``record`` (a new link) until it expires."""
        ...

    async def redeem(
        self, room: str, invite: str, now: float, holder: str | None = None
    ) -> Admitted | Refusal:
        """One use of the link by ``holder`` (see :func:`rooms.invitations.redeem`), judged
        and counted in one atomic step."""
        ...

    async def revoke(self, room: str, invite: str) -> None:
        """The link admits nobody from now on (nothing if it is unknown or gone)."""
        ...


class MemoryInviteStore:
    """:class:`InviteStore` for one process: the embedded node's."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._records: dict[tuple[str, str], InviteRecord] = {}
        self._clock = clock

    async def create(self, record: InviteRecord) -> None:
        self._forget_expired()
        self._records[(record.room, record.id)] = record

    async def redeem(
        self, room: str, invite: str, now: float, holder: str | None = None
    ) -> Admitted | Refusal:
        record, verdict = redeem(self._records.get((room, invite)), now, holder)
        if record is not None:
            self._records[(room, invite)] = record
        return verdict

    async def revoke(self, room: str, invite: str) -> None:
        record = self._records.get((room, invite))
        if record is not None:
            self._records[(room, invite)] = replace(record, revoked=True)

    def _forget_expired(self) -> None:
        # An expired link is refused by its token already; its record only takes space.
        now = self._clock()
        for key in [k for k, r in self._records.items() if r.expires <= now]:
            del self._records[key]


class Inviter:
    """Makes a link: an id, the store's record, the signed token, the URL and its QR code."""

    def __init__(
        self, store: InviteStore, tokens: TokenAuthority, base_url: Callable[[], str]
    ) -> None:
        self.store = store
        self._tokens = tokens
        self._base_url = base_url

    async def issue(
        self, room: str, by: str, uses: int, expires: float, now: float
    ) -> tuple[str, str, str]:
        """``(id, url, qr)`` of a new link to ``room``; ``qr`` is an SVG document."""
        invite_id = f"inv-{secrets.token_hex(6)}"
        await self.store.create(InviteRecord(room, invite_id, uses, expires))
        token = self._tokens.mint_invite(
            room=room, invite=invite_id, by=by, expires=expires, now=now
        )
        # After '#': the token never reaches a server log, a proxy or a Referer.
        url = f"{self._base_url()}/room.html#room={quote(room)}&invite={token}"
        return invite_id, url, qr_svg(url)


def qr_svg(text: str) -> str:
    """``text`` as a QR code, an SVG document with no XML declaration (it is shown as an
    image); medium error correction survives a phone screen's glare."""
    out = io.BytesIO()
    segno.make_qr(text, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return out.getvalue().decode()
