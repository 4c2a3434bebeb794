"""A room keeps its layout across nodes: restored from the store elsewhere, it is the layout
its first token chose, not the new node's default, and a token for another is still refused."""

from __future__ import annotations

from protocol.codes import CloseCode
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.cluster.test_scaleout import LEASE_S, nodes
from tests.conftest import SECRET, make_settings
from tests.redis_fixture import RedisServer, redis_server

__all__ = ["redis_server"]  # fixtures, used by name


async def test_a_room_restored_on_another_node_keeps_its_layout(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "b") as (b,):
        settings = make_settings(
            redis_url=f"redis://{redis_server.host}:{redis_server.port}/0",
            node_id="a",
            redis_prefix=b.settings.redis_prefix,
            lease_s=LEASE_S,
            demo_room=None,
        )
        a = WealthroomServer(settings, secret=SECRET)
        await a.start()
        token = a.tokens.mint(room="talk", role=Role.ADVISOR, subject="host", layout="seminar_room")
        host = await RoomClient.join(a.room_url("talk"), token, "Ms Chan")
        assert host.welcome is not None
        assert host.welcome.layout == "seminar_room"
        seen = max(r.seq for r in host.reliable)
        await a.stop()
        await host.wait_for(lambda c: c.closed)
        assert host.close_code == CloseCode.GOING_AWAY

        # Stored, not hosted: a token for another layout is refused by what the store says,
        # and the room is not opened as a lobby.
        lobby = b.tokens.mint(room="talk", role=Role.GUEST, subject="x", layout="branch_lobby")
        wrong = await RoomClient.open(b.room_url("talk"), lobby)
        await wrong.wait_for(lambda c: c.closed)
        assert wrong.close_code == CloseCode.LAYOUT_MISMATCH
        assert "talk" not in b.rooms

        # Node b's default is the private room; the room comes back as the seminar it was,
        # for a token that names no layout as for the host's own.
        assert b.settings.layout == "private_room"
        guest_token = b.tokens.mint(room="talk", role=Role.GUEST, subject="guest")
        guest = await RoomClient.join(b.room_url("talk"), guest_token, "Bo")
        assert guest.welcome is not None
        assert guest.welcome.layout == "seminar_room"
        assert b.rooms["talk"].room.scene.layout.name == "seminar_room"
        back = await RoomClient.join(b.room_url("talk"), token, "Ms Chan", since=seen)
        assert back.welcome is not None
        assert back.welcome.layout == "seminar_room"
        await back.wait_for(lambda c: c.replica.by_member(c.member) is not None)
        presenter = back.replica.by_member(back.member)
        assert presenter is not None
        assert presenter.s in {"", *(s.id for s in b.rooms["talk"].room.scene.layout.seats)}

        again = await RoomClient.open(b.room_url("talk"), lobby)
        await again.wait_for(lambda c: c.closed)
        assert again.close_code == CloseCode.LAYOUT_MISMATCH
        for client in (guest, back):
            await client.close()
