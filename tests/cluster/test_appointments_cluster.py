"""Appointments across nodes on one Redis: an advisor on one node, the customer on another;
slots booked on either are shown on both, and at its time exactly one node honours the
booking, opens the room, pages the advisor (on the other node) and reminds the customer."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from avatars.specialties import Specialty
from protocol import messages as m
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings
from tests.redis_fixture import RedisServer, redis_server

__all__ = ["redis_server"]  # fixtures, used by name

MIN = 60_000


@asynccontextmanager
async def nodes(redis: RedisServer, *names: str) -> AsyncIterator[list[WealthroomServer]]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:
        servers = []
        for name in names:
            settings = make_settings(
                redis_url=f"redis://{redis.host}:{redis.port}/0",
                node_id=name,
                redis_prefix=prefix,
                demo_room=None,
                appointment_poll_s=0.05,
                appointment_head_start_s=60.0,
            )
            servers.append(
                await stack.enter_async_context(WealthroomServer(settings, secret=SECRET))
            )
        yield servers


def slots(c: RoomClient) -> list[m.SlotInfo]:
    return c.of(m.Slots)[-1].slots if c.of(m.Slots) else []


async def test_booked_on_one_node_honoured_once_with_the_advisor_on_another(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "a", "b") as (a, b):
        token = a.tokens.mint_console(
            subject="adv-chan", name="Ms Chan", skills=list(Specialty), languages=["en"]
        )
        chan = await RoomClient.open(a.ws_base + "/console", token)
        link = b.tokens.mint_booking(subject="ann", name="Ann", room="ann-room")
        ann = await RoomClient.open(b.ws_base + "/book", link)
        await chan.wait_for(lambda c: bool(c.of(m.Slots)))
        await ann.wait_for(lambda c: bool(c.of(m.Slots)))
        soon = round(time.time() * 1000) + 6000
        await chan.send(m.Offer(soon, soon + 30 * MIN))
        await ann.wait_for(lambda c: [s.start for s in slots(c)] == [soon])  # news from node a
        await ann.send(m.Book(slots(ann)[0].id))
        await chan.wait_for(lambda c: [s.customer for s in slots(c)] == ["Ann"])  # from node b

        await ann.wait_for(lambda c: bool(c.of(m.Appointment)), timeout=30)
        await chan.wait_for(lambda c: any(p.room == "ann-room" for p in c.of(m.Pages)[-1].pages))
        hosts = [n for n in (a, b) if "ann-room" in n.rooms]
        assert len(hosts) == 1
        (reminder,) = ann.of(m.Appointment)
        assert reminder.url == hosts[0].room_url("ann-room")
        assert reminder.token is not None
        # The page is the booking's, once: whichever node honoured it.
        (page,) = [p for p in chan.of(m.Pages)[-1].pages if p.room == "ann-room"]
        assert page.first is True
        assert page.why == "booked appointment"
        await ann.wait_for(lambda c: [s.st for s in slots(c)] == ["honoured"])
        for client in (chan, ann):
            await client.close()
