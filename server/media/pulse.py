"""An event that wakes everyone waiting on it and is at once ready for the next round.

Media code counts things as they happen (frames decoded, packets written); a waiter wants
"until the count reaches N", re-checked at each firing rather than polled on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Pulse:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self) -> None:
        """Until the next firing."""
        await self._event.wait()

    async def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until ``condition()`` holds, checked now and after each firing; TimeoutError after
        ``timeout`` seconds."""

        async def wait() -> None:
            while True:
                event = self._event
                if condition():
                    return
                await event.wait()

        await asyncio.wait_for(wait(), timeout)
