"""Pages in Redis: raised on the room's node, accepted from a console on any node.

Keys, under the prefix (default ``wr:``):

``{prefix}page:{id}``
    Hash: ``state``, ``advisor`` and ``advisor_name`` (absent while None), and ``body``, the
    JSON of every other field of the page. It expires ``ttl_s`` (a day) after it was posted,
    whatever its state, so neither forgotten nor settled pages pile up.
``{prefix}pages:open``
    Sorted set of open page ids scored by ``raised``; Redis orders equal scores by member, which
    is the memory board's ``(raised, id)`` order. Ids of pages that expired while open are
    dropped by the next ``open_pages``.

``claim`` and ``cancel`` are Lua scripts: the state test, the state change and the removal from
the open index happen as one step, so of any number of advisors pressing "accept" at once,
exactly one gets the page. The scripts read and write only the plain hash fields and never
decode the body, so it never passes through cjson (which rounds floats to 14 digits).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from redis.asyncio import Redis

from advisors.errors import PageExists
from advisors.pages import Page, PageState
from avatars.specialties import Specialty
from server.cluster.redis_presence import millis, reply_list, reply_text

DAY_S = 24 * 3600.0

# KEYS: page, open index. ARGV: ttl ms, raised, id, then field/value pairs.
_POST = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

# KEYS: page, open index. ARGV: id, new state, then field/value pairs to set with it.
_SETTLE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return false end
redis.call('HSET', KEYS[1], 'state', ARGV[2], unpack(ARGV, 3))
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""


# KEYS: page. ARGV: advisor. The first advisor's head start ends: first_until becomes 0.
_DECLINE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'open' then return false end
if redis.call('HGET', KEYS[1], 'first') ~= ARGV[1] then return false end
if redis.call('HGET', KEYS[1], 'first_until') == '0.0' then return false end
redis.call('HSET', KEYS[1], 'first_until', '0.0')
return redis.call('HGETALL', KEYS[1])
"""


class RedisPageBoard:
    """:class:`~advisors.pages.PageBoard` in Redis. ``client`` must return bytes (the
    default, ``decode_responses=False``)."""

    def __init__(self, client: Redis, *, prefix: str = "wr:", ttl_s: float = DAY_S) -> None:
        self._client = client
        self._prefix = prefix
        self._open = f"{prefix}pages:open"
        self._ttl_ms = millis(ttl_s)
        self._post = client.register_script(_POST)
        self._settle = client.register_script(_SETTLE)
        self._decline = client.register_script(_DECLINE)

    def _key(self, page_id: str) -> str:
        return f"{self._prefix}page:{page_id}"

    async def post(self, page: Page) -> None:
        pairs = [part for pair in _page_fields(page).items() for part in pair]
        args: list[str | int] = [self._ttl_ms, repr(page.raised), page.id, *pairs]
        posted: object = await self._post(keys=[self._key(page.id), self._open], args=args)
        if posted == 0:
            raise PageExists(f"page {page.id} already posted")

    async def get(self, page_id: str) -> Page | None:
        stored = await self._client.hgetall(self._key(page_id))
        return _page_from_fields(stored) if stored else None

    async def claim(self, page_id: str, advisor: str, advisor_name: str) -> Page | None:
        extra = ["advisor", advisor, "advisor_name", advisor_name]
        return await self._settle_page(page_id, PageState.CLAIMED, extra)

    async def cancel(self, page_id: str) -> Page | None:
        return await self._settle_page(page_id, PageState.CANCELLED, [])

    async def decline(self, page_id: str, advisor: str) -> Page | None:
        reply: object = await self._decline(keys=[self._key(page_id)], args=[advisor])
        if reply is None:
            return None
        flat = reply_list(reply)
        return _page_from_fields(dict(zip(flat[::2], flat[1::2], strict=True)))

    async def _settle_page(self, page_id: str, state: PageState, extra: list[str]) -> Page | None:
        keys = [self._key(page_id), self._open]
        reply: object = await self._settle(keys=keys, args=[page_id, state.value, *extra])
        if reply is None:
            return None
        flat = reply_list(reply)
        return _page_from_fields(dict(zip(flat[::2], flat[1::2], strict=True)))

    async def open_pages(self) -> list[Page]:
        ids = await self._client.zrange(self._open, 0, -1)
        if not ids:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for raw_id in ids:
                pipe.hgetall(self._key(reply_text(raw_id)))
            replies = await pipe.execute()
        pages: list[Page] = []
        lapsed: list[object] = []
        for raw_id, stored in zip(ids, replies, strict=True):
            if not stored:
                lapsed.append(raw_id)  # the page expired while open
                continue
            page = _page_from_fields(stored)
            if page.state is PageState.OPEN:
                pages.append(page)
        if lapsed:
            await self._client.zrem(self._open, *[reply_text(x) for x in lapsed])
        return sorted(pages, key=lambda p: (p.raised, p.id))


# What the scripts change lives in hash fields of its own; everything fixed when the page is raised
# travels as one JSON body, so fields added to Page later need no change here unless they are
# enums (which JSON carries as their value and Page must get back as members).
_SETTLED = ("state", "advisor", "advisor_name", "first", "first_until")


def _page_fields(page: Page) -> dict[str, str]:
    body = {
        f.name: getattr(page, f.name) for f in dataclasses.fields(Page) if f.name not in _SETTLED
    }
    out = {
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "state": page.state.value,
    }
    if page.advisor is not None:
        out["advisor"] = page.advisor
    if page.advisor_name is not None:
        out["advisor_name"] = page.advisor_name
    if page.first is not None:
        out["first"] = page.first
    out["first_until"] = repr(float(page.first_until))
    return out


def _page_from_fields(raw: object) -> Page:
    if not isinstance(raw, dict):
        raise TypeError(f"expected a hash from Redis, got {type(raw).__name__}")
    hash_fields = {reply_text(k): reply_text(v) for k, v in raw.items()}
    body: dict[str, Any] = json.loads(hash_fields["body"])
    skill = body.get("skill")
    body["skill"] = None if skill is None else Specialty(skill)
    return Page(
        **body,
        state=PageState(hash_fields["state"]),
        advisor=hash_fields.get("advisor"),
        advisor_name=hash_fields.get("advisor_name"),
        first=hash_fields.get("first"),
        first_until=float(hash_fields.get("first_until", "0.0")),
    )
