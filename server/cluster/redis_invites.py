"""Guest links' records in Redis, shared by every node: a link's uses count the same whichever
node its guests reach, and a revocation made on one node holds on all.

Keys, under the prefix (default ``wr:``):

``{prefix}invite:{room}:{id}``
    String: the JSON of the link's :class:`~rooms.invitations.InviteRecord`, expiring with the
    link (an expired link is refused by its token already).

A use is optimistic (WATCH, read, judge with :func:`rooms.invitations.redeem`, MULTI/EXEC; again
if the key changed meanwhile), as step-up records are: the rule exists once, in Python, and two
guests using a one-use link at once on two nodes are admitted once.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from rooms.invitations import Admitted, InviteRecord, Refusal, redeem

# Contention is the guests of one link arriving at once: a few at most.
MAX_ATTEMPTS = 16


class InviteContention(RuntimeError):
    """The record kept changing under every attempt to use it."""


class RedisInviteStore:
    """:class:`~server.invites.InviteStore` in Redis."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, room: str, invite: str) -> str:
        return f"{self._prefix}invite:{room}:{invite}"

    async def create(self, record: InviteRecord) -> None:
        await self._client.set(
            self._key(record.room, record.id),
            json.dumps(asdict(record)),
            pxat=math.ceil(record.expires * 1000),
        )

    async def redeem(
        self, room: str, invite: str, now: float, holder: str | None = None
    ) -> Admitted | Refusal:
        key = self._key(room, invite)
        async with self._client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    record, verdict = redeem(_load(raw) if raw else None, now, holder)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if isinstance(verdict, Admitted) and record is not None:
                        pipe.set(key, json.dumps(asdict(record)), keepttl=True)
                    await pipe.execute()
                    return verdict
                except WatchError:
                    continue
        raise InviteContention(f"invitation {invite!r} of room {room!r} kept changing")

    async def revoke(self, room: str, invite: str) -> None:
        key = self._key(room, invite)
        async with self._client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if not raw:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        return
                    record = replace(_load(raw), revoked=True)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, json.dumps(asdict(record)), keepttl=True)
                    await pipe.execute()
                    return
                except WatchError:
                    continue
        raise InviteContention(f"invitation {invite!r} of room {room!r} kept changing")


def _load(raw: bytes | str) -> InviteRecord:
    data: dict[str, Any] = json.loads(raw)
    return InviteRecord(
        str(data["room"]),
        str(data["id"]),
        int(data["uses"]),
        float(data["expires"]),
        int(data["used"]),
        bool(data["revoked"]),
        tuple(str(h) for h in data.get("holders", [])),
    )
