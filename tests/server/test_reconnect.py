"""Reliable messages survive connections cut at random: resumed with ``join.since``, a member
receives every one it missed exactly once, in order."""

from __future__ import annotations

import random
from collections.abc import Callable

from protocol import messages as m
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings

CUTS = 1000


def has_reliable(n: int) -> Callable[[RoomClient], bool]:
    return lambda c: len(c.reliable) >= n


def saw_leave(member: int) -> Callable[[RoomClient], bool]:
    return lambda c: any(isinstance(r, m.Left) and r.member == member for r in c.reliable)


async def test_a_thousand_random_cuts_lose_and_duplicate_nothing() -> None:
    settings = make_settings(chat_rate=100_000.0, rate=100_000.0, burst=100_000.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        url = srv.room_url("demo")
        talker = await RoomClient.join(
            url, srv.tokens.mint(room="demo", role=Role.CUSTOMER, subject="talker"), "Talker"
        )
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="listener")
        rng = random.Random(20261123)
        received: list[m.ChatPosted | m.Joined | m.Left] = []
        since: int | None = None
        sent = 0
        for _ in range(CUTS):
            listener = await RoomClient.join(url, token, "Listener", since=since)
            burst = rng.randint(0, 4)
            for _ in range(burst):
                await talker.chat(f"line {sent}")
                sent += 1
            # Cut at a random point: before anything arrived, after some, or after all.
            wanted = rng.randint(0, len(listener.reliable) + burst)
            await listener.wait_for(has_reliable(wanted))
            member = listener.member
            listener.ws.transport.abort()
            await listener.wait_for(lambda c: c.closed)
            received += listener.reliable
            since = received[-1].seq
            # The room has let the cut connection go once the talker hears it left.
            await talker.wait_for(saw_leave(member))
        final = await RoomClient.join(url, token, "Listener", since=since)
        await talker.chat("the end")
        await final.wait_for(lambda c: any(getattr(r, "text", "") == "the end" for r in c.reliable))
        received += final.reliable

        seqs = [r.seq for r in received]
        assert len(seqs) == len(set(seqs)), "a reliable message arrived twice"
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a reliable message was lost"
        texts = [r.text for r in received if isinstance(r, m.ChatPosted)]
        assert texts == [f"line {i}" for i in range(sent)] + ["the end"]
        # The talker's view and the listener's agree message for message.
        talker_view = {r.seq: r for r in talker.reliable}
        assert all(talker_view[r.seq] == r for r in received if r.seq in talker_view)
        await final.close()
        await talker.close()
