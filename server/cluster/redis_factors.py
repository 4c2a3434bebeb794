"""Step-up records in Redis, shared by every node: a customer's failures, lock-out and spent
codes count the same whichever room and node their codes reach.

Keys, under the prefix (default ``wr:``):

``{prefix}factor:{subject}``
    String: the JSON of the customer's :class:`~rooms.stepup_policy.FactorRecord`. It expires
    at the record's ``keep_until`` (the end of a lock-out, of the failures' memory, of the last
    accepted code's validity), so a lock-out lifts by itself and nothing piles up.

An update is optimistic (WATCH, read, judge in Python, MULTI/EXEC; again if the key changed
meanwhile) rather than a Lua script: the rule then exists once, in ``rooms/stepup_policy.py``,
not also in Lua. Two nodes checking the same code at once cannot both accept it, and no failure
is lost: whichever EXEC comes second finds the key changed and judges again on the new record.
"""

from __future__ import annotations

import json
import math

from redis.asyncio import Redis
from redis.exceptions import WatchError

from rooms.stepup_policy import FactorRecord, Judged
from server.factor_store import Change, record_from_json, record_to_json

# Contention is one customer's own codes: a few at most. Past this something else is wrong.
MAX_ATTEMPTS = 16


class FactorContention(RuntimeError):
    """The record kept changing under every attempt to update it."""


class RedisFactorStore:
    """:class:`~server.factor_store.FactorStore` in Redis."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, subject: str) -> str:
        return f"{self._prefix}factor:{subject}"

    async def update(self, subject: str, now: float, change: Change) -> Judged:
        key = self._key(subject)
        async with self._client.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    record = record_from_json(json.loads(raw)) if raw else FactorRecord()
                    if record.keep_until <= now:
                        record = FactorRecord()  # outlived its use; Redis's clock may lag
                    new, verdict = change(record)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if new.keep_until > now:
                        expires_ms = math.ceil(new.keep_until * 1000)
                        pipe.set(key, json.dumps(record_to_json(new)), pxat=expires_ms)
                    else:
                        pipe.delete(key)
                    await pipe.execute()
                    return verdict
                except WatchError:
                    continue
        raise FactorContention(f"step-up record of {subject!r} kept changing")
