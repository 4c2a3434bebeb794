"""Experts, advisors and step-up through the real server: WebSockets on loopback."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest

from avatars.advice import Complexity
from avatars.expertise import default_expertise
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from rooms.audit import MemoryAuditLog
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.conftest import Mint


def _console_url(server: WealthroomServer) -> str:
    return server.ws_base + "/console"


def _console_token(server: WealthroomServer, subject: str = "adv-1", **kw: Any) -> str:
    kw.setdefault("name", "Ms Chan")
    kw.setdefault("skills", list(Specialty))
    kw.setdefault("languages", ["en", "zh"])
    return server.tokens.mint_console(subject=subject, **kw)


def _has_expert(c: RoomClient) -> bool:
    return any(e.k == "expert" for e in c.replica.entities.values())


async def test_a_question_brings_an_expert_and_an_advisor_takes_the_hand_off(
    server: WealthroomServer, mint: Mint
) -> None:
    console = await RoomClient.open(_console_url(server), _console_token(server))
    await console.wait_for(lambda c: bool(c.of(m.ConsoleWelcome)) and bool(c.of(m.Pages)))
    assert console.of(m.Pages)[-1].pages == []
    rival = await RoomClient.open(_console_url(server), _console_token(server, "adv-2"))
    await rival.wait_for(lambda c: bool(c.of(m.Pages)))

    ann = await RoomClient.join(server.room_url("demo"), mint(risk=2, name="Ann"), "Ann")
    products = default_expertise().knowledge.products.values()
    complex_ = next(p for p in products if p.complexity is Complexity.COMPLEX)
    await ann.send(m.Ask(f"Tell me about the {complex_.name['en']}"))
    await ann.wait_for(lambda c: bool(c.of(m.Answer)) and _has_expert(c))
    await ann.wait_for(
        lambda c: [h.st for h in c.of(m.Handoff)][-1:] in (["unavailable"], ["paging"])
    )
    answer = ann.of(m.Answer)[0]
    assert answer.label == "AI-generated"
    assert answer.handoff

    await console.wait_for(lambda c: bool(c.of(m.Pages)[-1].pages))
    (page,) = console.of(m.Pages)[-1].pages
    assert page.room == "demo"
    assert page.customer == "Ann"
    assert page.risk == 2
    await console.send(m.Accept(page.id))
    await console.wait_for(lambda c: bool(c.of(m.Accepted)))
    accepted = console.of(m.Accepted)[0]
    assert accepted.url == server.room_url("demo")
    # The other advisor was too late.
    await rival.send(m.Accept(page.id))
    await rival.wait_for(lambda c: bool(c.errors))
    assert rival.errors[-1].code == ErrorCode.NO_SUCH_PAGE

    await ann.wait_for(lambda c: any(h.st == "coming" for h in c.of(m.Handoff)))
    assert isinstance(server.audit, MemoryAuditLog)
    accepts = [
        (e["actor"], e["outcome"]) for e in server.audit.entries if e["action"] == "handoff.accept"
    ]
    assert accepts == [("adv-1", "ok"), ("adv-2", "refused")]
    coming = next(h for h in ann.of(m.Handoff) if h.st == "coming")
    assert coming.advisor == "Ms Chan"
    assert coming.eta
    advisor = await RoomClient.join(accepted.url, accepted.token, "Ms Chan")
    await ann.wait_for(lambda c: any(h.st == "arrived" for h in c.of(m.Handoff)))
    await advisor.send(m.Present("Allocation", ["Bonds", "Cash"], [70.0, 30.0]))
    await ann.wait_for(lambda c: bool(c.of(m.Presented)))
    for client in (ann, advisor, console, rival):
        await client.close()


async def test_the_console_refuses_room_messages_and_garbage(server: WealthroomServer) -> None:
    console = await RoomClient.open(_console_url(server), _console_token(server))
    await console.wait_for(lambda c: bool(c.of(m.Pages)))
    await console.send(m.Chat("hello"))
    await console.send_raw(b"\xc1")
    await console.send(m.Accept("no-such-page"))
    await console.wait_for(lambda c: len(c.errors) >= 3)
    assert [e.code for e in console.errors] == [
        ErrorCode.WRONG_ENDPOINT,
        ErrorCode.MALFORMED,
        ErrorCode.NO_SUCH_PAGE,
    ]
    await console.send(m.SetPresence("away"))
    await console.send(m.Ping(7))
    await console.wait_for(lambda c: bool(c.pongs))
    status = await server.desk.presence.get("adv-1")
    assert status is not None
    assert status.state.value == "away"
    await console.close()


@pytest.mark.parametrize("which", ["room token at the console", "console token in a room"])
async def test_tokens_do_not_cross_between_room_and_console(
    server: WealthroomServer, mint: Mint, which: str
) -> None:
    if which == "room token at the console":
        client = await RoomClient.open(_console_url(server), mint(role=Role.ADVISOR))
    else:
        client = await RoomClient.open(server.room_url("demo"), _console_token(server))
    await client.wait_for(lambda c: c.closed)
    assert client.close_code == CloseCode.TOKEN_INVALID


async def test_an_expired_console_token_is_refused(server: WealthroomServer) -> None:
    token = _console_token(server, ttl_s=10, now=1_000_000)
    client = await RoomClient.open(_console_url(server), token)
    await client.wait_for(lambda c: c.closed)
    assert client.close_code == CloseCode.TOKEN_EXPIRED


async def test_step_up_with_a_real_totp_code_then_the_portfolio(
    server: WealthroomServer, mint: Mint
) -> None:
    secret = server.enrolments.enrol("cust-1")
    ann = await RoomClient.join(
        server.room_url("demo"), mint(subject="cust-1", risk=3, name="Ann"), "Ann"
    )
    await ann.send(m.ViewPortfolio())
    await ann.wait_for(lambda c: bool(c.errors))
    assert ann.errors[-1].code == ErrorCode.STEP_UP_REQUIRED
    await ann.send(m.Verify("000000" if pyotp.TOTP(secret).now() != "000000" else "111111"))
    await ann.wait_for(lambda c: len(c.errors) >= 2)
    assert ann.errors[-1].code == ErrorCode.NOT_VERIFIED
    await ann.send(m.Verify(pyotp.TOTP(secret).now()))
    await ann.wait_for(lambda c: bool(c.of(m.Verified)))
    await ann.send(m.ViewPortfolio())
    await ann.wait_for(lambda c: bool(c.of(m.Holdings)))
    holdings = ann.of(m.Holdings)[0]
    assert holdings.items
    assert holdings.risk == 3
    assert isinstance(server.audit, MemoryAuditLog)
    events = [e["action"] for e in server.audit.entries]
    assert "stepup.verify" in events
    assert "portfolio.view" in events
    await ann.close()


async def test_the_advisor_reads_the_conversation_and_nobody_else_does(
    server: WealthroomServer, mint: Mint
) -> None:
    console = await RoomClient.open(_console_url(server), _console_token(server))
    await console.wait_for(lambda c: bool(c.of(m.Pages)))
    ann = await RoomClient.join(server.room_url("demo"), mint(risk=2, name="Ann"), "Ann")
    bob = await RoomClient.join(server.room_url("demo"), mint(role=Role.GUEST, name="Bob"), "Bob")
    await ann.send(m.Ask("Tell me about the money market fund"))
    await ann.wait_for(lambda c: len(c.of(m.Answer)) == 1)
    await ann.send(m.Ask("Tell me about the balanced fund"))
    await ann.wait_for(lambda c: len(c.of(m.Answer)) == 2)

    await console.wait_for(lambda c: bool(c.of(m.Pages)[-1].pages))
    (page,) = console.of(m.Pages)[-1].pages
    brief = page.brief
    assert brief is not None
    assert [t.q for t in brief.turns] == [
        "Tell me about the money market fund",
        "Tell me about the balanced fund",
    ]
    assert ann.of(m.Answer)[0].text.startswith(brief.turns[0].a.removesuffix("…"))
    assert {p.id: p.risk for p in brief.products}["global-balanced-fund"] == 3
    assert [d.verdict for d in brief.decisions] == ["ok", "handoff"]
    assert brief.why == page.why

    await console.send(m.Accept(page.id))
    await console.wait_for(lambda c: bool(c.of(m.Accepted)))
    accepted = console.of(m.Accepted)[0]
    advisor = await RoomClient.join(accepted.url, accepted.token, "Ms Chan")
    await advisor.wait_for(lambda c: bool(c.of(m.Briefing)))
    (briefing,) = advisor.of(m.Briefing)
    assert briefing.page == page.id
    assert briefing.brief == brief
    for customer_side in (ann, bob):
        await customer_side.wait_for(lambda c: any(h.st == "arrived" for h in c.of(m.Handoff)))
        arrived = next(h for h in customer_side.of(m.Handoff) if h.st == "arrived")
        assert arrived.read is True
    # Everything up to the arrival has reached them: a briefing would have come before it.
    await ann.send(m.Ping(1))
    await bob.send(m.Ping(1))
    for customer_side in (ann, bob):
        await customer_side.wait_for(lambda c: bool(c.pongs))
        assert not customer_side.of(m.Briefing)
    for client in (ann, bob, advisor, console):
        await client.close()
