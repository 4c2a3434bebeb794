"""Appointment slots in Redis, shared by every node.

Keys, under the prefix (default ``wr:``):

``{prefix}appointments``
    Hash: slot id -> the JSON of the slot (:func:`advisors.appointments.slot_to_json`).

A change is optimistic, as the step-up records are (``redis_factors.py``): WATCH the hash, read
it, judge in Python by :mod:`advisors.appointments`, write in MULTI/EXEC, again if it changed
meanwhile. One hash for every slot: a bank's pilot has hundreds of slots, not millions, and one
watched key is what makes "two customers book the same slot" and "no overlap with the
advisor's other slots" one atomic step without the rules in Lua.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis
from redis.exceptions import WatchError

from advisors.appointments import Change, Decision, Slot, slot_from_json, slot_to_json
from server.cluster.redis_presence import reply_text

# Contention is people pressing buttons; past this something else is wrong.
MAX_ATTEMPTS = 32


class AppointmentContention(RuntimeError):
    """The slots kept changing under every attempt to update them."""


class RedisAppointments:
    """:class:`~advisors.appointments.AppointmentStore` in Redis."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._key = f"{prefix}appointments"

    async def slots(self) -> dict[str, Slot]:
        return _decode(await self._client.hgetall(self._key))

    async def apply(self, change: Change) -> Decision:
        async with self._client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(self._key)
                    decision = change(_decode(await pipe.hgetall(self._key)))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if decision.put:
                        mapping = {s.id: json.dumps(slot_to_json(s)) for s in decision.put}
                        pipe.hset(self._key, mapping=mapping)  # type: ignore[arg-type]
                    if decision.drop:
                        pipe.hdel(self._key, *decision.drop)
                    await pipe.execute()
                    return decision
                except WatchError:
                    continue
        raise AppointmentContention("appointment slots kept changing")

    async def close(self) -> None:
        """The client belongs to the cluster, which closes it."""


def _decode(raw: object) -> dict[str, Slot]:
    if not isinstance(raw, dict):
        raise TypeError(f"expected a hash from Redis, got {type(raw).__name__}")
    slots = (slot_from_json(json.loads(reply_text(v))) for v in raw.values())
    return {s.id: s for s in slots}
