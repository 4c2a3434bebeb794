"""What a client does after losing its node, shared by the failover tests."""

from __future__ import annotations

import asyncio
import time

from websockets.exceptions import InvalidHandshake

from simulator.client import ClientError, RoomClient


async def join_any(
    urls: list[str], token: str, name: str, since: int | None, deadline: float
) -> RoomClient:
    """Try the nodes the client knows until one takes it, up to ``deadline`` (monotonic)."""
    while True:
        for url in urls:
            try:
                return await RoomClient.join(url, token, name, since=since, timeout=2.0)
            except (ClientError, OSError, InvalidHandshake):
                pass
        if time.monotonic() > deadline:
            raise AssertionError("no node took the room back in time")
        await asyncio.sleep(0.05)  # pacing retries, not synchronisation
