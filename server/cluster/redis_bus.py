"""Events between nodes over Redis pub/sub.

A topic is the channel ``{prefix}bus:{topic}``. Each subscription holds a pub/sub connection of
its own, so one slow reader never delays another's events.

Delivery is at most once. Redis keeps nothing for a subscriber: an event published while a
subscriber's connection is down (or before it subscribed) is gone, and Redis cuts off a
subscriber that falls far behind (``client-output-buffer-limit pubsub``), dropping whatever it
had buffered. That is why the state itself lives elsewhere (pages in the
:class:`~advisors.pages.PageBoard`, advisors in
:class:`~advisors.presence.Presence`) and an event only says "look again": a reader that
misses one catches up on its next look, and should also look on entering a subscription and on
a slow timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from advisors.bus import Subscription

SUBSCRIBE_TIMEOUT_S = 10.0


class RedisBus:
    """:class:`~advisors.bus.Bus` over Redis pub/sub. ``client`` must return bytes (the
    default, ``decode_responses=False``), as payloads are opaque bytes."""

    def __init__(self, client: Redis, *, prefix: str = "wr:") -> None:
        self._client = client
        self._prefix = prefix

    def _channel(self, topic: str) -> str:
        return f"{self._prefix}bus:{topic}"

    async def publish(self, topic: str, payload: bytes) -> None:
        await self._client.publish(self._channel(topic), payload)

    def subscribe(self, topic: str) -> Subscription:
        """Once entered, every event published afterwards (while the connection holds) is
        delivered: entering waits for Redis to confirm the subscription."""
        return _subscription(self._client, self._channel(topic))


@asynccontextmanager
async def _subscription(client: Redis, channel: str) -> AsyncIterator[AsyncIterator[bytes]]:
    # Leaving closes the pub/sub connection (rather than unsubscribing and keeping it).
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        await _confirmed(pubsub)
        yield _payloads(pubsub)


async def _confirmed(pubsub: PubSub) -> None:
    # SUBSCRIBE only sends the command; until Redis answers, a PUBLISH from another connection
    # may be processed first and never reach us, so a caller that publishes right after
    # entering (as the tests do, and a room announcing itself might) would lose events.
    async with asyncio.timeout(SUBSCRIBE_TIMEOUT_S):
        while True:
            message = await pubsub.get_message(timeout=None)
            if isinstance(message, dict) and message.get("type") == "subscribe":
                return


async def _payloads(pubsub: PubSub) -> AsyncIterator[bytes]:
    async for message in pubsub.listen():
        if not isinstance(message, dict) or message.get("type") != "message":
            continue  # subscribe confirmations, pongs of health checks
        data = message.get("data")
        if not isinstance(data, bytes):
            raise TypeError("the bus needs a Redis client created with decode_responses=False")
        yield data
