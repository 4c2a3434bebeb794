"""Rooms of every layout on one server: each opened as its first token says, each member told
its room's layout, a token for another layout refused; and the layout rule's vectors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jwt
import pytest

from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from protocol.vectors import PATH
from rooms.interest import POLICIES
from rooms.roles import Role
from server.app import WealthroomServer
from server.audit_file import read_entries
from server.auth import TokenAuthority
from server.errors import Refused
from server.room_layouts import layout_for
from server.static import static_response
from simulator.client import RoomClient
from tests.conftest import SECRET, Mint, make_settings, minter

VECTORS = json.loads(PATH.read_text("utf-8"))["layouts"]


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["name"])
def test_layout_rule_vectors(vec: dict[str, Any]) -> None:
    tokens = TokenAuthority(SECRET)
    claim = vec["claim"]
    # Signed with the claim as it stands: mint itself refuses a layout it does not know.
    token = _token_with(tokens, layout=claim) if claim else _token_with(tokens)

    def decide() -> str:
        grant = tokens.verify(token, room="r")
        return layout_for("r", live=vec["live"], claimed=grant.layout, default=vec["default"])

    if "close" not in vec:
        assert decide() == vec["welcome"]
        return
    assert CloseCode(vec["code"]).name == vec["close"]
    with pytest.raises(Refused) as refused:
        decide()
    assert refused.value.close_code == vec["code"]


def _token_with(tokens: TokenAuthority, **extra: Any) -> str:
    """A correctly signed token carrying a claim ``mint`` would refuse to write."""
    claims = jwt.decode(
        tokens.mint(room="r", role=Role.GUEST, subject="s"),
        options={"verify_signature": False},
    )
    return jwt.encode(claims | extra, SECRET, algorithm="HS256")


def test_mint_refuses_a_layout_the_server_does_not_ship() -> None:
    with pytest.raises(ValueError, match="layout"):
        TokenAuthority(SECRET).mint(room="r", role=Role.GUEST, subject="s", layout="ballroom")


def test_every_known_layout_is_served_by_name_and_the_default_at_the_old_path() -> None:
    for name in ("private_room", "branch_lobby", "seminar_room"):
        response = static_response(f"/layouts/{name}.json", layout="private_room")
        assert response is not None
        assert json.loads(response.body)["name"] == name
        asset = json.loads(response.body)["asset"]
        glb = static_response(f"/scenes/{asset}", layout="private_room")
        assert glb is not None
        assert glb.headers["Content-Type"] == "model/gltf-binary"
    old = static_response("/layout.json", layout="branch_lobby")
    assert old is not None
    assert json.loads(old.body)["name"] == "branch_lobby"
    for path in ("/layouts/ballroom.json", "/layouts/../server/config.json", "/layouts/x.glb"):
        assert static_response(path, layout="private_room") is None


def _seat(viewer: RoomClient, member: RoomClient) -> str | None:
    """The seat ``viewer``'s replica shows ``member`` in."""
    ent = viewer.replica.by_member(member.member)
    return None if ent is None else ent.s


async def _members(url: str, mint: Mint, layout: str, roles: list[Role]) -> list[RoomClient]:
    return [
        await RoomClient.join(url, mint(room=url.rsplit("/", 1)[1], role=role, layout=layout), n)
        for n, role in zip(("Ann", "Bo", "Cy", "Di"), roles, strict=False)
    ]


async def test_one_server_hosts_a_private_room_a_lobby_and_a_seminar_at_once(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.jsonl"
    # The default is the private room: the lobby and the seminar exist only by their tokens.
    settings = make_settings(audit_path=audit, layout="private_room", demo_room=None)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        mint = minter(srv)
        rooms = {
            "wang-family": ("private_room", [Role.CUSTOMER, Role.GUEST]),
            "central-lobby": ("branch_lobby", [Role.CUSTOMER, Role.GUEST, Role.GUEST]),
            "pensions-talk": ("seminar_room", [Role.GUEST, Role.GUEST, Role.GUEST]),
        }
        members = {
            room: await _members(srv.room_url(room), mint, layout, roles)
            for room, (layout, roles) in rooms.items()
        }
        assert {r: h.room.scene.layout.name for r, h in srv.rooms.items()} == {
            r: layout for r, (layout, _) in rooms.items()
        }
        # Interest management by the room's layout: the lobby and the seminar have a policy,
        # the private room none.
        assert {r: h.room.interest for r, h in srv.rooms.items()} == {
            r: POLICIES.get(layout) for r, (layout, _) in rooms.items()
        }
        assert srv.rooms["central-lobby"].room.interest is not None
        for room, clients in members.items():
            layout = rooms[room][0]
            for client in clients:
                assert client.welcome is not None
                assert client.welcome.layout == layout
                await client.wait_for(lambda c: all(_seat(c, o) is not None for o in clients))  # noqa: B023 (awaited in this iteration)
            # Each member's avatar is where that layout puts it: a seat of this layout.
            seats = {s.id for s in srv.rooms[room].room.scene.layout.seats}
            viewer = clients[0].replica
            for client in clients:
                ent = viewer.by_member(client.member)
                assert ent is not None
                assert ent.s in seats or not ent.s
        # Seats of the layout the room has, and not of another's.
        assert _seat(members["wang-family"][1], members["wang-family"][0]) == "seat-customer"
        assert _seat(members["pensions-talk"][1], members["pensions-talk"][0]) == "row-A-1"
        guest = members["central-lobby"][1]
        await guest.send(m.Sit("row-A-1"))
        await guest.wait_for(lambda c: bool(c.errors))
        assert guest.errors[-1].code == ErrorCode.NO_SUCH_SEAT
        await guest.send(m.Sit("lounge-1-1"))
        await guest.wait_for(lambda c: _seat(c, c) == "lounge-1-1")
        assert "lounge-1-1" in {s.id for s in srv.rooms["central-lobby"].room.scene.layout.seats}

        # A token without the claim joins whatever the room is; one for another layout is
        # refused, and the room stays as it was.
        plain = await RoomClient.join(
            srv.room_url("pensions-talk"), mint(room="pensions-talk"), "Ed"
        )
        assert plain.welcome is not None
        assert plain.welcome.layout == "seminar_room"
        wrong = await RoomClient.open(
            srv.room_url("pensions-talk"), mint(room="pensions-talk", layout="private_room")
        )
        await wrong.wait_for(lambda c: c.closed)
        assert wrong.close_code == CloseCode.LAYOUT_MISMATCH
        assert srv.rooms["pensions-talk"].room.scene.layout.name == "seminar_room"
        # A room whose first token names no layout is the server's default.
        default = await RoomClient.join(srv.room_url("walk-in"), mint(room="walk-in"), "Flo")
        assert default.welcome is not None
        assert default.welcome.layout == "private_room"
        for client in [*(c for cs in members.values() for c in cs), plain, default]:
            await client.leave()
    joins = [e for e in read_entries(audit) if e is not None and e["action"] == "member.join"]
    claimed = {(e["room"], e["detail"].get("layout")) for e in joins}
    assert ("central-lobby", "branch_lobby") in claimed
    assert ("pensions-talk", "seminar_room") in claimed
    assert ("walk-in", None) in claimed  # no claim, none audited


async def test_concurrent_first_tokens_for_two_layouts_open_the_room_once(
    server: WealthroomServer, mint: Mint
) -> None:
    url = server.room_url("race")
    lobby, seminar = await asyncio.gather(
        RoomClient.open(url, mint(room="race", layout="branch_lobby")),
        RoomClient.open(url, mint(room="race", layout="seminar_room")),
    )
    layout = server.rooms["race"].room.scene.layout.name
    loser = seminar if layout == "branch_lobby" else lobby
    await loser.wait_for(lambda c: c.closed)
    assert loser.close_code == CloseCode.LAYOUT_MISMATCH
    for client in (lobby, seminar):
        await client.close()
