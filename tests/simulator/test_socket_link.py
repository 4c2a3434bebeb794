"""A bot that takes over a connection counts each reliable message once.

A bot attaches to its link after the join returns; messages that arrived before are taken from
``link.reliable``, later ones come through the listener. A message stored while the reader was
still waiting on its own bookkeeping must not come both ways: that is what once made the
simulator report "seq 12 (handoff) arrived twice" for an advisor walking in.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from protocol import messages as m
from protocol.codec import encode
from protocol.limits import SUBPROTOCOL
from simulator.bot import Bot
from simulator.scenario import BotSpec
from simulator.sockets import SocketLink


class _Hub:
    def clock(self) -> float:
        return 0.0

    def bot_of_member(self, member: int) -> Bot | None:
        return None

    def latency(self, seconds: float) -> None:
        pass

    def changed(self) -> None:
        pass


class _Probe(SocketLink):
    """The real link, telling the test when a message has been stored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.stored = asyncio.Event()
        super().__init__(*args, **kwargs)

    def _stored(self, msg: Any) -> None:
        super()._stored(msg)
        self.stored.set()


@pytest.fixture
async def room() -> AsyncIterator[tuple[str, asyncio.Future[ServerConnection]]]:
    """A server that hands the test its side of the connection, to send from."""
    accepted: asyncio.Future[ServerConnection] = asyncio.get_running_loop().create_future()

    async def handler(ws: ServerConnection) -> None:
        accepted.set_result(ws)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[SUBPROTOCOL]) as server:  # type: ignore[list-item]
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/", accepted


def _chat(seq: int) -> bytes:
    return encode(m.ChatPosted(seq, 1, "Ann", f"message {seq}", seq))


async def test_a_message_stored_while_the_bot_attaches_is_counted_once(
    room: tuple[str, asyncio.Future[ServerConnection]],
) -> None:
    url, accepted = room
    link = await _Probe.open(url, "")
    server = await accepted
    bot = Bot(BotSpec("Ms Chan", "advisor"), _Hub(), random.Random(1), subject="s")
    try:
        # The reader stores the message, then waits for the condition's lock (held here):
        # the moment a join returning and the bot attaching can fall into.
        async with link._changed:
            await server.send(_chat(1))
            await link.stored.wait()
            bot.attach(link, since=None, new_visit=True)
        await server.send(_chat(2))
        await link.wait_for(lambda c: len(c.reliable) == 2)
        assert [a.seq for a in bot.ledger.arrivals] == [1, 2]
        assert list(bot.messages) == [1, 2]
    finally:
        await link.close()
