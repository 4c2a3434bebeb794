"""The advisor console as a pure state machine: frames and time in, outputs out, no socket."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisors.booking import Booker
from advisors.console import Console, pages_message
from advisors.grant import BookingGrant, ConsoleGrant
from advisors.outputs import (
    Admit,
    Appoint,
    Audit,
    Claim,
    Close,
    ConsoleOutput,
    Pass,
    PutPresence,
    Send,
    SendPages,
    SendSlots,
)
from advisors.pages import Page
from advisors.presence import AdvisorState
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import encode
from protocol.codes import CloseCode, ErrorCode
from protocol.limits import MAX_PAGES

NOW = 1_795_000_000.0
GRANT = ConsoleGrant(
    "adv-1", "Ms Chan", frozenset({Specialty.BONDS}), frozenset({"en"}), frozenset()
)


def console(strikes: float = 5.0) -> Console:
    return Console(GRANT, node="n1", max_frame_bytes=4096, strikes=strikes, now=NOW)


def page(pid: str = "p1") -> Page:
    return Page(pid, "r1", "cust-1", Specialty.BONDS, "en", None, "risk above profile", NOW)


def error_codes(outputs: list[ConsoleOutput]) -> list[int]:
    return [
        o.message.code for o in outputs if isinstance(o, Send) and isinstance(o.message, m.Error)
    ]


def test_opening_puts_presence_then_welcomes_then_shows_the_queue() -> None:
    out = console().open(NOW)
    assert isinstance(out[0], PutPresence)
    assert out[0].status.state is AdvisorState.AVAILABLE
    assert (out[0].status.node, out[0].status.updated) == ("n1", NOW)
    assert isinstance(out[1], Send)
    assert isinstance(out[1].message, m.ConsoleWelcome)
    assert out[1].message.skills == ["bonds"]
    assert isinstance(out[2], SendPages)


def test_ping_is_answered_and_presence_changes_are_written() -> None:
    c = console()
    assert c.receive(encode(m.Ping(7)), NOW) == [Send(m.Pong(7))]
    (put,) = c.receive(encode(m.SetPresence("away")), NOW + 1)
    assert isinstance(put, PutPresence)
    assert put.status.state is AdvisorState.AWAY
    assert put.status.updated == NOW + 1


@pytest.mark.parametrize(
    "message",
    [m.Chat("hi"), m.Verify("123456"), m.ViewPortfolio(), m.Mute(mic="off"), m.Record(True)],
    ids=lambda msg: msg.TYPE,
)
def test_every_room_message_is_refused_as_the_wrong_endpoint(message: m.Message) -> None:
    assert error_codes(console().receive(encode(message), NOW)) == [ErrorCode.WRONG_ENDPOINT]


def test_accepting_claims_then_a_taken_page_admits_and_makes_the_advisor_busy() -> None:
    c = console()
    assert c.receive(encode(m.Accept("p1")), NOW) == [Claim("p1")]
    audit, admit = c.claimed("p1", page(), NOW)
    assert isinstance(audit, Audit)
    assert audit.event.outcome == "ok"
    assert admit == Admit(page())
    assert c.state is AdvisorState.BUSY


def test_a_page_already_gone_is_refused_and_audited() -> None:
    c = console()
    out = c.claimed("p9", None, NOW)
    assert isinstance(out[0], Audit)
    assert out[0].event.outcome == "refused"
    assert error_codes(out) == [ErrorCode.NO_SUCH_PAGE]
    assert c.state is AdvisorState.AVAILABLE


def test_repeated_bad_frames_close_the_console() -> None:
    c = console(strikes=2.0)
    outs = [c.receive(b"\xc1", NOW) for _ in range(3)]
    assert not any(isinstance(o, Close) for o in outs[0] + outs[1])
    assert outs[2][-1] == Close(CloseCode.TOO_MANY_ERRORS, "too many bad messages")


def test_a_flood_is_rate_limited() -> None:
    c = console(strikes=1000.0)
    codes = [code for _ in range(60) for code in error_codes(c.receive(encode(m.Ping(1)), NOW))]
    assert ErrorCode.RATE_LIMITED in codes


def test_a_flood_out_of_strikes_closes_as_a_room_does() -> None:
    c = console(strikes=5.0)
    outs = [o for _ in range(100) for o in c.receive(encode(m.Ping(1)), NOW)]
    assert outs[-1] == Close(CloseCode.RATE_LIMITED, "message rate limit exceeded")


def test_the_queue_shows_at_most_max_pages() -> None:
    msg = pages_message([page(f"p{i}") for i in range(MAX_PAGES + 3)])
    assert len(msg.pages) == MAX_PAGES
    assert msg.pages[0].id == "p0"


def test_appointment_messages_go_to_the_store_and_refusals_come_back_as_errors() -> None:
    c = console()
    assert isinstance(c.open(NOW)[-1], SendSlots)
    for msg in (m.Offer(1, 2), m.Cancel("s1"), m.Move("s1", start=5), m.Book("s1")):
        assert c.receive(encode(msg), NOW) == [Appoint(msg)]
    out = c.refused(ErrorCode.SLOT_OVERLAP, "overlaps your slot s0", "offer", NOW)
    assert error_codes(out) == [ErrorCode.SLOT_OVERLAP]


def test_declining_a_page_offered_first_is_audited_and_refreshes_the_queue() -> None:
    c = console()
    assert c.receive(encode(m.Decline("appt-1")), NOW) == [Pass("appt-1")]
    out = c.passed("appt-1", page("appt-1"), NOW)
    assert isinstance(out[0], Audit)
    assert (out[0].event.action, out[0].event.outcome) == ("handoff.decline", "ok")
    assert out[1:] == [SendPages()]
    assert error_codes(c.passed("appt-1", None, NOW)) == [ErrorCode.NO_SUCH_PAGE]


def test_a_page_is_marked_first_for_its_booked_advisor_during_the_head_start() -> None:
    booked = replace(page("appt-1"), first="adv-1", first_until=NOW + 60)
    assert pages_message([booked], "adv-1", NOW).pages[0].first is True
    assert pages_message([booked], "adv-2", NOW).pages[0].first is None
    assert pages_message([booked], "adv-1", NOW + 61).pages[0].first is None


def test_a_customers_booking_connection_takes_appointment_messages_only() -> None:
    b = Booker(BookingGrant("ann", "Ann", "ann-room"), max_frame_bytes=4096, strikes=3, now=NOW)
    assert b.open(NOW) == [SendSlots()]
    assert b.party.room == "ann-room"
    assert b.receive(encode(m.Book("s1")), NOW) == [Appoint(m.Book("s1"))]
    assert b.receive(encode(m.Ping(3)), NOW) == [Send(m.Pong(3))]
    assert error_codes(b.receive(encode(m.Chat("hi")), NOW)) == [ErrorCode.WRONG_ENDPOINT]
    assert error_codes(b.receive(encode(m.Accept("p1")), NOW)) == [ErrorCode.WRONG_ENDPOINT]
    assert error_codes(b.receive(b"\xc1", NOW)) == [ErrorCode.MALFORMED]
    out = b.refused(ErrorCode.SLOT_TAKEN, "that slot is booked", "book", NOW)
    assert error_codes(out) == [ErrorCode.SLOT_TAKEN]
    assert isinstance(out[-1], Close)  # out of strikes
    assert out[-1].code is CloseCode.TOO_MANY_ERRORS


def test_a_booking_connection_that_floods_is_limited_then_closed() -> None:
    b = Booker(BookingGrant("ann", "Ann", "ann-room"), max_frame_bytes=4096, strikes=3, now=NOW)
    outputs = [o for _ in range(40) for o in b.receive(encode(m.Book("s1")), NOW)]
    assert ErrorCode.RATE_LIMITED in error_codes(outputs)
    closes = [o for o in outputs if isinstance(o, Close)]
    assert closes
    assert closes[0].code is CloseCode.RATE_LIMITED
