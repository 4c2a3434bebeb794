"""Events between nodes (and between a room and the advisor consoles on the same node)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class Bus(Protocol):
    async def publish(self, topic: str, payload: bytes) -> None: ...

    def subscribe(self, topic: str) -> Subscription:
        """An async context manager yielding an async iterator of payloads."""
        ...


Subscription = AbstractAsyncContextManager[AsyncIterator[bytes]]


class MemoryBus:
    """Fan-out to every subscriber of a topic in this process; a slow subscriber's queue is
    bounded and drops its oldest event rather than holding everyone up."""

    def __init__(self, *, max_queue: int = 1024) -> None:
        self._subs: dict[str, set[asyncio.Queue[bytes]]] = {}
        self._max_queue = max_queue

    async def publish(self, topic: str, payload: bytes) -> None:
        for queue in self._subs.get(topic, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(payload)

    def subscribe(self, topic: str) -> Subscription:
        return _subscription(self, topic)

    def _add(self, topic: str) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(self._max_queue)
        self._subs.setdefault(topic, set()).add(queue)
        return queue

    def _drop(self, topic: str, queue: asyncio.Queue[bytes]) -> None:
        subs = self._subs.get(topic)
        if subs is not None:
            subs.discard(queue)
            if not subs:
                del self._subs[topic]


@asynccontextmanager
async def _subscription(bus: MemoryBus, topic: str) -> AsyncIterator[AsyncIterator[bytes]]:
    queue = bus._add(topic)

    async def events() -> AsyncIterator[bytes]:
        while True:
            yield await queue.get()

    try:
        yield events()
    finally:
        bus._drop(topic, queue)
