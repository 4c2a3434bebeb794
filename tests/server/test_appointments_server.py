"""Appointments end to end on a real server: consoles publish and move slots, a customer books
through a booking link, moves and cancels, and at its time the room opens, the customer is
reminded and the booked advisor alone is paged until their head start ends. Bad input gets an
error frame with its code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings

MIN = 60_000  # ms


@pytest.fixture
async def server() -> AsyncIterator[WealthroomServer]:
    settings = make_settings(appointment_poll_s=0.05, appointment_head_start_s=60.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        yield srv


async def _console(server: WealthroomServer, subject: str, name: str) -> RoomClient:
    token = server.tokens.mint_console(
        subject=subject, name=name, skills=list(Specialty), languages=["en"]
    )
    client = await RoomClient.open(server.ws_base + "/console", token)
    await client.wait_for(lambda c: bool(c.of(m.Slots)) and bool(c.of(m.Pages)))
    return client


async def _booker(server: WealthroomServer, subject: str, name: str, room: str) -> RoomClient:
    token = server.tokens.mint_booking(subject=subject, name=name, room=room)
    client = await RoomClient.open(server.ws_base + "/book", token)
    await client.wait_for(lambda c: bool(c.of(m.Slots)))
    return client


def slots(c: RoomClient) -> list[m.SlotInfo]:
    return c.of(m.Slots)[-1].slots


def shows(**want: Any) -> Callable[[RoomClient], bool]:
    """The latest slot list holds a slot with these fields."""
    return lambda c: any(all(getattr(s, k) == v for k, v in want.items()) for s in slots(c))


async def _refused(c: RoomClient, msg: m.Message) -> ErrorCode:
    before = len(c.errors)
    await c.send(msg)
    await c.wait_for(lambda c: len(c.errors) > before)
    error = c.errors[-1]
    assert error.ref == msg.TYPE
    return ErrorCode(error.code)


async def test_a_booking_made_moved_cancelled_then_honoured_with_the_advisor_paged_first(
    server: WealthroomServer,
) -> None:
    chan = await _console(server, "adv-chan", "Ms Chan")
    lee = await _console(server, "adv-lee", "Mr Lee")
    ann = await _booker(server, "ann", "Ann", "ann-room")
    soon = round(time.time() * 1000) + 8000  # seconds from now, with room for a loaded machine
    later = soon + 60 * MIN
    await chan.send(m.Offer(soon, soon + 30 * MIN))
    await chan.send(m.Offer(later, later + 30 * MIN))
    await ann.wait_for(lambda c: [s.start for s in slots(c)] == [soon, later])
    first, second = (s.id for s in slots(ann))
    assert {s.st for s in slots(ann)} == {"free"}
    assert {s.adv for s in slots(ann)} == {"Ms Chan"}

    await ann.send(m.Book(second))
    await chan.wait_for(shows(id=second, st="booked", customer="Ann", room="ann-room"))
    await ann.send(m.Move(second, to=first))
    await ann.wait_for(shows(id=first, st="booked"))
    assert shows(id=second, st="free")(ann)
    await ann.send(m.Cancel(first))
    await chan.wait_for(lambda c: {s.st for s in slots(c)} == {"free"})
    await chan.send(m.Move(second, start=later + 60 * MIN))  # the advisor reschedules a slot
    await ann.wait_for(shows(id=second, start=later + 60 * MIN))
    lee_pages = len(lee.of(m.Pages))
    await ann.send(m.Book(first))
    await chan.wait_for(shows(id=first, st="booked", customer="Ann"))

    # Its time: the room opens, the customer is reminded, the booked advisor is paged.
    await ann.wait_for(lambda c: bool(c.of(m.Appointment)), timeout=30)
    (reminder,) = ann.of(m.Appointment)
    assert (reminder.slot, reminder.room, reminder.start, reminder.adv) == (
        first,
        "ann-room",
        soon,
        "Ms Chan",
    )
    assert reminder.token is not None
    assert server.tokens.verify(reminder.token, room="ann-room").role is Role.CUSTOMER
    assert "ann-room" in server.rooms
    # Kept open, empty or not, until the appointment's end: the customer may come late.
    assert server.rooms["ann-room"].kept_until == (soon + 30 * MIN) / 1000
    await chan.wait_for(lambda c: any(p.room == "ann-room" for p in c.of(m.Pages)[-1].pages))
    await ann.wait_for(shows(id=first, st="honoured"))
    # The other advisor's queue was refreshed when the page went up, without it.
    await lee.wait_for(lambda c: len(c.of(m.Pages)) > lee_pages)
    assert all(p.room != "ann-room" for p in lee.of(m.Pages)[-1].pages)
    (page,) = [p for p in chan.of(m.Pages)[-1].pages if p.room == "ann-room"]
    await chan.send(m.Accept(page.id))
    await chan.wait_for(lambda c: bool(c.of(m.Accepted)))
    assert chan.of(m.Accepted)[0].room == "ann-room"
    # Each request and the honouring are in the audit trail, refusals with their code.
    trail = [
        (e["action"], e["outcome"], e["actor"])
        for e in server.audit.entries  # type: ignore[attr-defined]
        if e["action"].startswith("appointment.")
    ]
    assert [t for t in trail if t[2] == "ann"] == [
        ("appointment.book", "ok", "ann"),
        ("appointment.move", "ok", "ann"),
        ("appointment.cancel", "ok", "ann"),
        ("appointment.book", "ok", "ann"),
    ]
    assert trail.count(("appointment.due", "ok", "server")) == 1
    # Ann opens her link again a little later: she is reminded as she comes.
    again = await _booker(server, "ann", "Ann", "ann-room")
    await again.wait_for(lambda c: bool(c.of(m.Appointment)))
    assert again.of(m.Appointment)[0].slot == first
    for client in (chan, lee, ann, again):
        await client.close()


async def test_an_absent_booked_advisor_leaves_the_page_to_the_others(
    server: WealthroomServer,
) -> None:
    chan = await _console(server, "adv-chan", "Ms Chan")
    lee = await _console(server, "adv-lee", "Mr Lee")
    bob = await _booker(server, "bob", "Bob", "bob-room")
    soon = round(time.time() * 1000) + 6000
    await chan.send(m.Offer(soon, soon + 30 * MIN))
    await bob.wait_for(lambda c: bool(slots(c)))
    await bob.send(m.Book(slots(bob)[0].id))
    await chan.wait_for(shows(st="booked"))
    await chan.close()  # Ms Chan is away when it is time
    await lee.wait_for(
        lambda c: any(p.room == "bob-room" for p in c.of(m.Pages)[-1].pages), timeout=30
    )
    await bob.wait_for(lambda c: bool(c.of(m.Appointment)))
    for client in (lee, bob):
        await client.close()


async def test_the_booked_advisor_declines_and_the_others_are_paged(
    server: WealthroomServer,
) -> None:
    chan = await _console(server, "adv-chan", "Ms Chan")
    lee = await _console(server, "adv-lee", "Mr Lee")
    bob = await _booker(server, "bob", "Bob", "bob-room")
    soon = round(time.time() * 1000) + 6000
    await chan.send(m.Offer(soon, soon + 30 * MIN))
    await bob.wait_for(lambda c: bool(slots(c)))
    await bob.send(m.Book(slots(bob)[0].id))
    await chan.wait_for(
        lambda c: any(p.room == "bob-room" and p.first for p in c.of(m.Pages)[-1].pages),
        timeout=30,
    )
    (page,) = [p for p in chan.of(m.Pages)[-1].pages if p.room == "bob-room"]
    assert await _refused(lee, m.Decline(page.id)) is ErrorCode.NO_SUCH_PAGE  # not his first
    await chan.send(m.Decline(page.id))
    await lee.wait_for(lambda c: any(p.room == "bob-room" for p in c.of(m.Pages)[-1].pages))
    (passed,) = [p for p in lee.of(m.Pages)[-1].pages if p.room == "bob-room"]
    assert passed.first is None
    assert await _refused(chan, m.Decline(page.id)) is ErrorCode.NO_SUCH_PAGE  # once
    await lee.send(m.Accept(page.id))
    await lee.wait_for(lambda c: bool(c.of(m.Accepted)))
    for client in (chan, lee, bob):
        await client.close()


async def test_the_booked_advisors_head_start_ends(server: WealthroomServer) -> None:
    settings = make_settings(
        port=0, demo_room=None, appointment_poll_s=0.05, appointment_head_start_s=0.5
    )
    async with WealthroomServer(settings, secret=SECRET) as srv:
        chan = await _console(srv, "adv-chan", "Ms Chan")
        lee = await _console(srv, "adv-lee", "Mr Lee")
        bob = await _booker(srv, "bob", "Bob", "bob-room")
        soon = round(time.time() * 1000) + 6000
        await chan.send(m.Offer(soon, soon + 30 * MIN))
        await bob.wait_for(lambda c: bool(slots(c)))
        await bob.send(m.Book(slots(bob)[0].id))
        await chan.wait_for(
            lambda c: any(p.room == "bob-room" for p in c.of(m.Pages)[-1].pages), timeout=30
        )
        # Ms Chan did not take it in her head start: Mr Lee is shown it.
        await lee.wait_for(lambda c: any(p.room == "bob-room" for p in c.of(m.Pages)[-1].pages))
        for client in (chan, lee, bob):
            await client.close()


async def test_bad_appointment_requests_get_an_error_with_a_code(
    server: WealthroomServer,
) -> None:
    chan = await _console(server, "adv-chan", "Ms Chan")
    lee = await _console(server, "adv-lee", "Mr Lee")
    ann = await _booker(server, "ann", "Ann", "ann-room")
    bob = await _booker(server, "bob", "Bob", "bob-room")
    now = round(time.time() * 1000)
    start = now + 24 * 60 * MIN
    await chan.send(m.Offer(start, start + 30 * MIN))
    await ann.wait_for(lambda c: bool(slots(c)))
    slot = slots(ann)[0].id
    await ann.send(m.Book(slot))
    await chan.wait_for(shows(id=slot, st="booked"))

    assert await _refused(bob, m.Book(slot)) is ErrorCode.SLOT_TAKEN
    (refusal,) = [
        e
        for e in server.audit.entries  # type: ignore[attr-defined]
        if e["action"] == "appointment.book" and e["actor"] == "bob"
    ]
    assert refusal["outcome"] == "SLOT_TAKEN"
    assert await _refused(bob, m.Cancel(slot)) is ErrorCode.NOT_YOUR_BOOKING
    assert await _refused(lee, m.Cancel(slot)) is ErrorCode.NOT_YOUR_BOOKING
    assert await _refused(bob, m.Book("no-such-slot")) is ErrorCode.NO_SUCH_SLOT
    assert await _refused(chan, m.Offer(now - 60 * MIN, now - 30 * MIN)) is ErrorCode.SLOT_PAST
    assert await _refused(chan, m.Offer(start + 9 * MIN, start + 2 * MIN)) is ErrorCode.BAD_VALUE
    assert await _refused(chan, m.Offer(start + 10 * MIN, start + 40 * MIN)) is (
        ErrorCode.SLOT_OVERLAP
    )
    assert await _refused(ann, m.Offer(start + 60 * MIN, start + 90 * MIN)) is ErrorCode.FORBIDDEN
    # Times that are no times: refused by the schema, with the field named.
    before = len(chan.errors)
    await chan.send_raw(b"\x83\xa1t\xa5offer\xa5start\xa8tomorrow\xa3end\x01")
    await chan.wait_for(lambda c: len(c.errors) > before)
    error = chan.errors[-1]
    assert (error.code, error.ref) == (ErrorCode.WRONG_TYPE, "offer")
    assert "offer.start" in error.msg
    before = len(ann.errors)
    await ann.send_raw(
        b"\x83\xa1t\xa4move\xa4slot\xa1x\xa5start\xd3\xff\xff\xff\xff\xff\xff\xff\xff"
    )
    await ann.wait_for(lambda c: len(c.errors) > before)
    assert ann.errors[-1].code == ErrorCode.BAD_VALUE
    # Nothing changed by any of it.
    assert [(s.id, s.st) for s in slots(ann)] == [(slot, "booked")]
    for client in (chan, lee, ann, bob):
        await client.close()


async def test_book_admits_booking_links_and_customers_room_tokens_only(
    server: WealthroomServer,
) -> None:
    room_token = server.tokens.mint(room="ann-room", role=Role.CUSTOMER, subject="ann", name="Ann")
    ann = await RoomClient.open(server.ws_base + "/book", room_token)
    await ann.wait_for(lambda c: bool(c.of(m.Slots)))
    await ann.close()
    guest = server.tokens.mint(room="ann-room", role=Role.GUEST, subject="g")
    link = server.tokens.mint_booking(subject="ann", name="Ann", room="ann-room")
    for url, token in ((server.ws_base + "/book", guest), (server.ws_base + "/ws/ann-room", link)):
        client = await RoomClient.open(url, token)
        await client.wait_for(lambda c: c.ws.close_code is not None)
        assert client.ws.close_code == CloseCode.TOKEN_INVALID
        await client.close()


async def test_slots_outlive_a_restart_in_the_sqlite_file_under_var(tmp_path: Path) -> None:
    path = tmp_path / "var" / "appointments.sqlite3"
    settings = make_settings(port=0, demo_room=None, appointments_path=path)
    start = round(time.time() * 1000) + 24 * 60 * MIN
    async with WealthroomServer(settings, secret=SECRET) as srv:
        chan = await _console(srv, "adv-chan", "Ms Chan")
        await chan.send(m.Offer(start, start + 30 * MIN))
        await chan.wait_for(lambda c: bool(slots(c)))
        await chan.close()
    assert path.exists()
    assert path.parent.stat().st_mode & 0o077 == 0  # owner-only, as var/ always is
    async with WealthroomServer(settings, secret=SECRET) as srv:
        ann = await _booker(srv, "ann", "Ann", "ann-room")
        assert [(s.start, s.adv, s.st) for s in slots(ann)] == [(start, "Ms Chan", "free")]
        await ann.close()


async def test_a_booking_whose_honouring_fails_is_due_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The node looks only when the test says (poll once a minute), at a time the test gives.
    settings = make_settings(port=0, demo_room=None, appointment_poll_s=60.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        chan = await _console(srv, "adv-chan", "Ms Chan")
        ann = await _booker(srv, "ann", "Ann", "ann-room")
        start = round(time.time() * 1000) + 60 * MIN
        await chan.send(m.Offer(start, start + 30 * MIN))
        await ann.wait_for(lambda c: bool(slots(c)))
        await ann.send(m.Book(slots(ann)[0].id))
        await chan.wait_for(shows(st="booked"))
        post = srv.desk.post
        failures = 0

        async def board_away(*args: Any, **kw: Any) -> Any:
            nonlocal failures
            failures += 1
            raise ConnectionError("page board unreachable")

        monkeypatch.setattr(srv.desk, "post", board_away)
        at = start / 1000 + 1
        with pytest.raises(ConnectionError):
            await srv.appointments.honour_due(at)
        assert failures == 1
        monkeypatch.setattr(srv.desk, "post", post)
        # The page goes up, then the news of it fails: due again, and the page is not doubled.
        publish = srv.desk.bus.publish

        async def news_away(topic: str, payload: bytes) -> None:
            if topic == "appointments":
                raise ConnectionError("bus unreachable")
            await publish(topic, payload)

        monkeypatch.setattr(srv.desk.bus, "publish", news_away)
        with pytest.raises(ConnectionError):
            await srv.appointments.honour_due(at)
        monkeypatch.setattr(srv.desk.bus, "publish", publish)
        (honoured,) = await srv.appointments.honour_due(at)
        assert honoured.customer == "ann"
        assert await srv.appointments.honour_due(at) == []  # once
        await ann.wait_for(lambda c: bool(c.of(m.Appointment)))
        await chan.wait_for(lambda c: any(p.room == "ann-room" for p in c.of(m.Pages)[-1].pages))
        assert [p.room for p in await srv.desk.board.open_pages()] == ["ann-room"]
        assert len(ann.of(m.Appointment)) == 1
        for client in (chan, ann):
            await client.close()


async def test_a_store_that_does_not_answer_is_an_internal_error_and_the_connection_stays(
    server: WealthroomServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await _booker(server, "ann", "Ann", "ann-room")

    async def away(*args: Any, **kw: Any) -> Any:
        raise ConnectionError("store unreachable")

    monkeypatch.setattr(server.appointments.store, "apply", away)
    monkeypatch.setattr(server.appointments.store, "slots", away)
    assert await _refused(ann, m.Book("s1")) is ErrorCode.INTERNAL
    assert "appointments" in server.health.degraded
    await ann.send(m.Ping(9))
    await ann.wait_for(lambda c: any(p.n == 9 for p in c.pongs))
    await ann.close()


async def test_the_customer_in_the_room_follows_the_appointments_page_to_the_briefed_advisor(
    server: WealthroomServer,
) -> None:
    chan = await _console(server, "adv-chan", "Ms Chan")
    link = server.tokens.mint_booking(subject="ann", name="Ann", room="ann-room", language="yue")
    ann = await RoomClient.open(server.ws_base + "/book", link)
    await ann.wait_for(lambda c: bool(c.of(m.Slots)))
    soon = round(time.time() * 1000) + 6000
    await chan.send(m.Offer(soon, soon + 30 * MIN))
    await ann.wait_for(lambda c: bool(slots(c)))
    await ann.send(m.Book(slots(ann)[0].id))
    await chan.wait_for(shows(st="booked"))
    token = server.tokens.mint(room="ann-room", role=Role.CUSTOMER, subject="ann", name="Ann")
    in_room = await RoomClient.join(server.room_url("ann-room"), token, "Ann")

    def handoffs(c: RoomClient) -> list[tuple[str, str | None]]:
        return [(h.st, h.advisor) for h in c.of(m.Handoff)]

    await in_room.wait_for(lambda c: ("paging", "Ms Chan") in handoffs(c), timeout=30)
    # In the language of the customer's booking (Cantonese reads them in Traditional characters).
    assert [h.why for h in in_room.of(m.Handoff)] == ["正在邀請 Ms Chan"]
    (page,) = [p for p in chan.of(m.Pages)[-1].pages if p.room == "ann-room"]
    await chan.send(m.Accept(page.id))
    await chan.wait_for(lambda c: bool(c.of(m.Accepted)))
    await in_room.wait_for(lambda c: ("coming", "Ms Chan") in handoffs(c))
    accepted = chan.of(m.Accepted)[0]
    advisor = await RoomClient.join(accepted.url, accepted.token, "Ms Chan")
    await advisor.wait_for(lambda c: bool(c.of(m.Briefing)))
    assert advisor.of(m.Briefing)[0].brief.why == "booked appointment"
    await in_room.wait_for(lambda c: ("arrived", "Ms Chan") in handoffs(c))
    for client in (chan, ann, in_room, advisor):
        await client.close()
