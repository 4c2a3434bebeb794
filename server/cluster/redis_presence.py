"""Advisor presence in Redis, so a console on any node is visible to rooms on every node.

Keys, under the prefix (default ``wr:``):

``{prefix}presence:{subject}``
    The status as JSON, with a ``PX`` expiry of the status's ttl: Redis itself forgets a console
    that stopped writing.
``{prefix}presence``
    Sorted set of subjects scored by when their status lapses (Redis server time, ms).

``all()`` reads the index rather than SCANning for the status keys: SCAN walks the whole
keyspace (every room, page and lease the cluster holds) on each call and may return a key twice,
while the index costs one sorted-set write per ``put`` and is read in one range. Expiry scores
let ``all()`` and ``put()`` drop lapsed subjects in the same atomic step, so the index stays
about as large as the set of advisors signed in; both scores and ``PX`` come from the Redis
clock, so no node's clock skew can keep a lapsed status alive or hide a live one.
"""

from __future__ import annotations

import json
import math
from typing import Any

from redis.asyncio import Redis

from advisors.presence import AdvisorState, AdvisorStatus
from avatars.specialties import Specialty

# The Lua prelude that puts Redis server time, in ms, in ``now``; the other Redis modules use it
# and the reply helpers below too, so every expiry in the cluster is judged by one clock.
NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# A value that lapses, listed in an index scored by when it lapses (presence statuses, nodes'
# load reports). KEYS: value key, index. ARGV: value, ttl ms, index member.
PUT_INDEXED = (
    NOW_MS
    + """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[3])
return 1
"""
)

# KEYS: an index. Returns its members that have not lapsed (and drops the others).
LIVE = (
    NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
)


class RedisPresence:
    """:class:`~advisors.presence.Presence` in Redis. ``client`` must return bytes (the
    default, ``decode_responses=False``)."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix
        self._index = f"{prefix}presence"
        self._put = client.register_script(PUT_INDEXED)
        self._live = client.register_script(LIVE)

    def _key(self, subject: str) -> str:
        return f"{self._prefix}presence:{subject}"

    async def put(self, status: AdvisorStatus, *, ttl_s: float) -> None:
        ttl_ms = millis(ttl_s)
        body = json.dumps(_status_to_json(status), ensure_ascii=False, separators=(",", ":"))
        await self._put(
            keys=[self._key(status.subject), self._index], args=[body, ttl_ms, status.subject]
        )

    async def get(self, subject: str) -> AdvisorStatus | None:
        raw = await self._client.get(self._key(subject))
        return None if raw is None else _status_from_json(raw)

    async def remove(self, subject: str) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(subject))
            pipe.zrem(self._index, subject)
            await pipe.execute()

    async def all(self) -> list[AdvisorStatus]:
        reply: object = await self._live(keys=[self._index])
        subjects = [reply_text(item) for item in reply_list(reply)]
        if not subjects:
            return []
        # A status can lapse between the two reads; MGET then answers None and it is left out.
        values = await self._client.mget([self._key(s) for s in subjects])
        statuses = [_status_from_json(v) for v in values if v is not None]
        return sorted(statuses, key=lambda st: st.subject)


def _status_to_json(status: AdvisorStatus) -> dict[str, Any]:
    return {
        "subject": status.subject,
        "name": status.name,
        "state": status.state.value,
        "skills": sorted(s.value for s in status.skills),
        "languages": sorted(status.languages),
        "customers": sorted(status.customers),
        "node": status.node,
        "updated": status.updated,
    }


def _status_from_json(raw: bytes | str) -> AdvisorStatus:
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("presence entry is not a JSON object")
    return AdvisorStatus(
        subject=str(data["subject"]),
        name=str(data["name"]),
        state=AdvisorState(data["state"]),
        skills=frozenset(Specialty(s) for s in data["skills"]),
        languages=frozenset(str(x) for x in data["languages"]),
        customers=frozenset(str(x) for x in data["customers"]),
        node=str(data["node"]),
        updated=float(data["updated"]),
    )


def millis(seconds: float) -> int:
    if not seconds > 0:
        raise ValueError(f"a ttl must be positive, not {seconds!r}")
    return max(1, math.ceil(seconds * 1000))


def reply_list(reply: object) -> list[object]:
    if not isinstance(reply, list):
        raise TypeError(f"expected a list from Redis, got {type(reply).__name__}")
    return list(reply)


def reply_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string from Redis, got {type(value).__name__}")
