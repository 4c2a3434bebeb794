"""Guest links through a real server: an invitation used, overused, expired and revoked, a
customer removing a guest, the forbidden invite of a guest and of an observer, and the summary
download's hash in the audit chain. Real sockets on loopback."""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp

from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from rooms.invitations import GUEST_NOTICE
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.cluster.test_scaleout import nodes
from tests.conftest import Mint
from tests.redis_fixture import RedisServer, redis_server

__all__ = ["redis_server"]  # fixtures, used by name


async def _invite(client: RoomClient, uses: int = 1) -> m.Invitation:
    before = len(client.of(m.Invitation))
    await client.send(m.Invite(uses=uses, ttl=600))
    await client.wait_for(lambda c: len(c.of(m.Invitation)) > before)
    return client.of(m.Invitation)[-1]


def _link(server: WealthroomServer, invitation: m.Invitation) -> str:
    """The WebSocket URL a browser opening the link connects to."""
    assert invitation.url is not None
    fragment = parse_qs(urlsplit(invitation.url).fragment)
    (room,), (token,) = fragment["room"], fragment["invite"]
    return f"{server.room_url(room)}?invite={token}"


def _audited(server: WealthroomServer, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = server.audit.entries  # type: ignore[attr-defined]
    return [e for e in entries if e["action"] == action]


async def _refused(url: str) -> int | None:
    client = await RoomClient.open(url, None)
    await client.wait_for(lambda c: c.closed)
    return client.close_code


async def test_a_link_admits_its_uses_then_is_refused(server: WealthroomServer, mint: Mint) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    invitation = await _invite(ann, uses=2)
    assert invitation.st == "open"
    assert invitation.url is not None
    assert invitation.url.startswith(f"{server.base_url}/room.html#room=demo&invite=")
    assert invitation.qr is not None
    assert invitation.qr.startswith("<svg")
    link = _link(server, invitation)
    bo = await RoomClient.join(link, "", "Bo")
    cy = await RoomClient.join(link, "", "Cy")
    assert bo.welcome is not None
    assert bo.welcome.role == "guest"
    await bo.wait_for(lambda c: bool(c.of(m.Notice)))
    assert bo.of(m.Notice)[0].text == GUEST_NOTICE["en"]
    assert await _refused(link) == CloseCode.INVITE_USED_UP
    arrivals = _audited(server, "guest.arrive")
    assert [e["detail"]["invite"] for e in arrivals] == [invitation.id] * 2
    assert len({e["actor"] for e in arrivals}) == 2  # each use its own subject
    assert len(_audited(server, "guest.notice")) == 2
    for client in (ann, bo, cy):
        await client.close()


async def test_a_guest_who_reconnects_from_the_same_tab_uses_the_link_once(
    server: WealthroomServer, mint: Mint
) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    link = _link(server, await _invite(ann, uses=1))
    bo = await RoomClient.join(f"{link}&guest=tab-of-bo-0123456789", "", "Bo")
    await bo.close()
    again = await RoomClient.join(f"{link}&guest=tab-of-bo-0123456789", "", "Bo")
    assert await _refused(f"{link}&guest=tab-of-cy-0123456789") == CloseCode.INVITE_USED_UP
    assert await _refused(f"{link}&guest=short") == CloseCode.INVITE_USED_UP  # not a name
    arrivals = _audited(server, "guest.arrive")
    assert len(arrivals) == 2
    assert arrivals[0]["actor"] == arrivals[1]["actor"]  # one guest, twice
    for client in (ann, again):
        await client.close()


async def test_an_expired_link_is_refused(server: WealthroomServer) -> None:
    token = server.tokens.mint_invite(room="demo", invite="inv-x", by="u", expires=600, now=0)
    assert await _refused(f"{server.room_url('demo')}?invite={token}") == CloseCode.TOKEN_EXPIRED


async def test_a_link_for_another_room_or_never_issued_is_refused(server: WealthroomServer) -> None:
    now = time.time()
    other = server.tokens.mint_invite(
        room="elsewhere", invite="i", by="u", expires=now + 600, now=now
    )
    assert await _refused(f"{server.room_url('demo')}?invite={other}") == CloseCode.ROOM_NOT_ALLOWED
    never = server.tokens.mint_invite(room="demo", invite="i", by="u", expires=now + 600, now=now)
    assert await _refused(f"{server.room_url('demo')}?invite={never}") == CloseCode.INVITE_REVOKED


async def test_a_revoked_link_is_refused(server: WealthroomServer, mint: Mint) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    invitation = await _invite(ann, uses=3)
    await ann.send(m.Revoke(invitation.id))
    # Told only once the store has it: from then on the link admits nobody.
    await ann.wait_for(lambda c: c.of(m.Invitation)[-1].st == "revoked")
    assert await _refused(_link(server, invitation)) == CloseCode.INVITE_REVOKED
    await ann.close()


async def test_the_customer_removes_a_guest_who_cannot_come_back(
    server: WealthroomServer, mint: Mint
) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    invitation = await _invite(ann, uses=3)
    bo = await RoomClient.join(_link(server, invitation), "", "Bo")
    assert bo.welcome is not None
    await ann.send(m.Remove(bo.welcome.member))
    await bo.wait_for(lambda c: c.closed)
    assert bo.close_code == CloseCode.REMOVED
    await ann.wait_for(lambda c: c.of(m.Invitation)[-1].st == "revoked")
    assert await _refused(_link(server, invitation)) == CloseCode.INVITE_REVOKED
    await ann.close()


async def test_a_guest_or_an_observer_may_not_invite(server: WealthroomServer, mint: Mint) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    bo = await RoomClient.join(_link(server, await _invite(ann)), "", "Bo")
    # An observer is announced to nobody, itself included: it joins by hand.
    eve = await RoomClient.open(server.room_url("demo"), mint(role=Role.OBSERVER))
    await eve.send(m.Hello(1))
    await eve.send(m.Join("Eve"))
    for client in (bo, eve):
        await client.send(m.Invite())
        await client.wait_for(lambda c: bool(c.errors))
        assert (client.errors[-1].code, client.errors[-1].ref) == (ErrorCode.FORBIDDEN, "invite")
        await client.close()
    await ann.close()


async def test_the_summary_is_the_customers_and_its_hash_is_audited(
    server: WealthroomServer, mint: Mint
) -> None:
    token = mint(subject="cust-9")
    ann = await RoomClient.join(server.room_url("demo"), token, "Ann")
    await ann.send(m.Ask("What are the fees of the balanced fund?"))
    await ann.wait_for(lambda c: bool(c.of(m.Answer)))
    url = f"{server.base_url}/summary/demo"
    async with httpx.AsyncClient() as http:
        got = await http.get(
            url, params={"lang": "zh"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert got.status_code == 200
        assert got.headers["content-type"] == "text/markdown; charset=utf-8"
        assert "attachment" in got.headers["content-disposition"]
        assert "# 会谈摘要" in got.text
        assert "What are the fees of the balanced fund?" in got.text
        sha = got.headers["x-summary-sha256"]
        assert hashlib.sha256(got.content).hexdigest() == sha
        (filed,) = _audited(server, "summary.issued")
        assert (filed["actor"], filed["detail"]["sha256"], filed["detail"]["lang"]) == (
            "cust-9",
            sha,
            "zh",
        )
        # Nobody else's: no token, a guest's or an advisor's token, another language.
        assert (await http.get(url)).status_code == 401
        adv = mint(role=Role.ADVISOR)
        assert (await http.get(url, headers={"Authorization": f"Bearer {adv}"})).status_code == 403
        bad = await http.get(
            url, params={"lang": "fr"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert bad.status_code == 400
    await ann.close()


async def test_across_two_nodes_a_redirect_costs_no_use_and_a_revocation_holds_on_both(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "a", "b") as (a, b):
        ann = await RoomClient.join(
            a.room_url("r1"), a.tokens.mint(room="r1", role=Role.CUSTOMER, subject="c"), "Ann"
        )
        invitation = await _invite(ann, uses=1)
        moved = await RoomClient.open(_link(b, invitation), None)
        await moved.wait_for(lambda c: c.closed)
        assert moved.close_code == CloseCode.ROOM_MOVED
        # The one use is still there, on the node that hosts the room.
        bo = await RoomClient.join(_link(a, invitation), "", "Bo")
        assert await _refused(_link(a, invitation)) == CloseCode.INVITE_USED_UP
        second = await _invite(ann, uses=2)
        await ann.send(m.Revoke(second.id))
        await ann.wait_for(lambda c: c.of(m.Invitation)[-1].st == "revoked")
        assert await _refused(_link(a, second)) == CloseCode.INVITE_REVOKED
        for client in (ann, bo):
            await client.close()


async def test_a_guest_never_sees_the_customers_holdings_or_step_up(
    server: WealthroomServer, mint: Mint
) -> None:
    secret = server.enrolments.enrol("cust-7")
    ann = await RoomClient.join(server.room_url("demo"), mint(subject="cust-7", risk=3), "Ann")
    bo = await RoomClient.join(_link(server, await _invite(ann)), "", "Bo")
    await ann.send(m.ViewPortfolio())
    await ann.wait_for(lambda c: bool(c.errors))
    assert ann.errors[-1].code == ErrorCode.STEP_UP_REQUIRED
    await ann.send(m.Verify(pyotp.TOTP(secret).now()))
    await ann.wait_for(lambda c: bool(c.of(m.Verified)))
    await ann.send(m.ViewPortfolio())
    await ann.wait_for(lambda c: bool(c.of(m.Holdings)))
    # A message after all that, which the guest sees: so the guest has had its chance.
    await ann.send(m.Chat("done"))
    await bo.wait_for(lambda c: any(isinstance(r, m.ChatPosted) for r in c.reliable))
    assert not [x for x in bo.direct if isinstance(x, m.Holdings | m.Verified)]
    assert bo.errors == []
    await bo.send(m.ViewPortfolio())
    await bo.wait_for(lambda c: bool(c.errors))
    assert bo.errors[-1].code == ErrorCode.FORBIDDEN
    for client in (ann, bo):
        await client.close()


class _Down:
    """A store that does not answer."""

    async def create(self, record: object) -> None:
        raise ConnectionError("store down")

    async def redeem(self, *args: object) -> None:
        raise ConnectionError("store down")

    async def revoke(self, room: str, invite: str) -> None:
        raise ConnectionError("store down")


async def test_when_the_store_does_not_answer_nothing_is_pretended(
    server: WealthroomServer, mint: Mint
) -> None:
    inviter = server.services.for_rooms.inviter
    assert inviter is not None
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    invitation = await _invite(ann)
    working = inviter.store
    inviter.store = _Down()  # type: ignore[assignment]
    try:
        # A revocation the store did not take is not reported as done: the link still works.
        await ann.send(m.Revoke(invitation.id))
        await ann.wait_for(lambda c: bool(c.errors))
        assert (ann.errors[-1].code, ann.errors[-1].ref) == (ErrorCode.INTERNAL, "revoke")
        assert ann.of(m.Invitation)[-1].st == "open"
        # No link is handed out that the store does not know.
        await ann.send(m.Invite())
        await ann.wait_for(lambda c: len(c.errors) == 2)
        assert (ann.errors[-1].code, ann.errors[-1].ref) == (ErrorCode.INTERNAL, "invite")
        assert len(ann.of(m.Invitation)) == 1
    finally:
        inviter.store = working
    bo = await RoomClient.join(_link(server, invitation), "", "Bo")
    # Once the store answers, the revocation goes through.
    await ann.send(m.Revoke(invitation.id))
    await ann.wait_for(lambda c: c.of(m.Invitation)[-1].st == "revoked")
    outcomes = [e["outcome"] for e in _audited(server, "invite.revoke")]
    assert outcomes == ["failed", "ok"]
    for client in (ann, bo):
        await client.close()
