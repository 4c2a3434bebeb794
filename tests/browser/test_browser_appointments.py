"""Appointments in a real browser, in Hong Kong time: an advisor publishes a slot from the
console in local wall time (sent in UTC), a customer books it from a booking link, moves the
booking to a slot due in seconds, and at its time gets the reminder with the way into the room
while the booked advisor's console shows the page. No sleeps: every wait is on page state."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from avatars.specialties import Specialty
from protocol import messages as m
from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.browser.pages import (
    ARGS,
    CHROMIUM,
    VIEWPORT,
    Watch,
    open_console,
    open_room,
    room_link,
)
from tests.conftest import SECRET, make_settings

WAIT_MS = 20_000

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        viewport=VIEWPORT,  # type: ignore[arg-type]
        timezone_id="Asia/Hong_Kong",
        locale="en-GB",
    )
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    await ctx.close()


@pytest.fixture
async def server() -> AsyncIterator[WealthroomServer]:
    settings = make_settings(appointment_poll_s=0.05, appointment_head_start_s=60.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        yield srv


async def test_a_slot_published_in_local_time_is_booked_moved_and_honoured(
    server: WealthroomServer, context: BrowserContext, watch: Watch
) -> None:
    console = await open_console(server, context, watch)
    await console.fill("#slot-start", "2027-03-01T10:00")  # Hong Kong wall time
    await console.fill("#slot-length", "30")
    await console.click("#slot-publish")
    await console.wait_for_function("() => window.wealthroomConsole.state.slots.length === 1")
    start = await console.evaluate("() => window.wealthroomConsole.state.slots[0].start")
    assert start == round(datetime(2027, 3, 1, 2, 0, tzinfo=UTC).timestamp() * 1000)
    assert "10:00" in await console.inner_text("#slots")
    assert "Asia/Hong_Kong" in await console.inner_text("#slot-zone")

    link = server.tokens.mint_booking(subject="ann", name="Ann", room="ann-room")
    book = watch.attach(await context.new_page(), "book")
    await book.goto(f"{server.base_url}/book.html#token={link}")
    await book.wait_for_function("() => window.wealthroomBooking.state.slots.length === 1")
    assert "10:00" in await book.inner_text("#free")
    await book.click("#free button.book")
    await book.wait_for_function(
        "() => window.wealthroomBooking.state.slots.some((s) => s.st === 'booked')"
    )
    await console.wait_for_function(
        "() => window.wealthroomConsole.state.slots.some((s) => s.customer === 'Ann')"
    )
    assert "booked by Ann" in await console.inner_text("#slots")

    # Another slot of Ms Chan's, due in seconds; Ann moves her booking there.
    token = server.tokens.mint_console(
        subject="adv-chan", name="Ms Chan", skills=list(Specialty), languages=["en", "zh"]
    )
    other = await RoomClient.open(server.ws_base + "/console", token)
    soon = round(time.time() * 1000) + 8000
    await other.send(m.Offer(soon, soon + 30 * 60_000))
    await book.wait_for_function("() => window.wealthroomBooking.state.slots.length === 2")
    await book.click("#mine button.move")
    await book.click("#free li[data-slot] >> nth=0 >> button.book")
    moved = f"s.start === {soon} && s.st !== 'free'"
    await book.wait_for_function(f"() => window.wealthroomBooking.state.slots.some((s) => {moved})")
    await book.wait_for_selector("#reminder a.open-room", timeout=WAIT_MS)
    assert "Ms Chan" in await book.inner_text("#reminder")
    href = await book.get_attribute("#reminder a.open-room", "href")
    assert href is not None
    assert href.startswith("/room.html#")
    assert "room=ann-room" in href
    await console.wait_for_function(
        "() => window.wealthroomConsole.state.pages.some((p) => p.room === 'ann-room')"
    )
    await other.close()
    watch.assert_clean()


async def test_a_customer_in_the_room_is_reminded_in_the_page(
    server: WealthroomServer, context: BrowserContext, watch: Watch
) -> None:
    token = server.tokens.mint_console(
        subject="adv-chan", name="Ms Chan", skills=list(Specialty), languages=["en"]
    )
    chan = await RoomClient.open(server.ws_base + "/console", token)
    link = server.tokens.mint_booking(subject="ann", name="Ann", room="ann-room")
    booker = await RoomClient.open(server.ws_base + "/book", link)
    soon = round(time.time() * 1000) + 8000
    await chan.send(m.Offer(soon, soon + 30 * 60_000))
    await booker.wait_for(lambda c: bool(c.of(m.Slots)) and bool(c.of(m.Slots)[-1].slots))
    await booker.send(m.Book(booker.of(m.Slots)[-1].slots[0].id))
    await chan.wait_for(lambda c: any(s.st == "booked" for s in c.of(m.Slots)[-1].slots))

    room_token = server.tokens.mint(room="ann-room", role=Role.CUSTOMER, subject="ann", name="Ann")
    room = await open_room(context, watch, room_link(server, room_token, "ann-room"), "room")
    assert await room.is_visible("#appt-button")
    await room.wait_for_selector("#appt-reminder:not([hidden])", timeout=WAIT_MS)
    text = await room.inner_text("#appt-reminder")
    assert "Ms Chan" in text
    assert "GMT+8" in text  # shown in the customer's own time zone, named
    # Ms Chan takes the page and walks in: the reminder has done its work.
    await chan.wait_for(lambda c: any(p.room == "ann-room" for p in c.of(m.Pages)[-1].pages))
    (page,) = [p for p in chan.of(m.Pages)[-1].pages if p.room == "ann-room"]
    await chan.send(m.Accept(page.id))
    await chan.wait_for(lambda c: bool(c.of(m.Accepted)))
    accepted = chan.of(m.Accepted)[0]
    advisor = await RoomClient.join(accepted.url, accepted.token, "Ms Chan")
    await room.wait_for_selector("#appt-reminder", state="hidden", timeout=WAIT_MS)
    for client in (chan, booker, advisor):
        await client.close()
    watch.assert_clean()


async def test_the_customer_is_told_when_the_advisor_moves_or_withdraws_their_booking(
    server: WealthroomServer, context: BrowserContext, watch: Watch
) -> None:
    console = await open_console(server, context, watch)
    await console.fill("#slot-start", "2027-03-01T10:00")
    await console.click("#slot-publish")
    await console.wait_for_function("() => window.wealthroomConsole.state.slots.length === 1")
    link = server.tokens.mint_booking(subject="ann", name="Ann", room="ann-room")
    book = watch.attach(await context.new_page(), "book")
    await book.goto(f"{server.base_url}/book.html#token={link}")
    await book.wait_for_function("() => window.wealthroomBooking.state.slots.length === 1")
    await book.click("#free button.book")
    await console.wait_for_function(
        "() => window.wealthroomConsole.state.slots.some((s) => s.st === 'booked')"
    )

    await console.fill("#slots .move-to", "2027-03-01T15:30")
    await console.click("#slots button.move")
    await book.wait_for_function(
        "() => document.querySelector('#toast').textContent.includes('moved your appointment')"
    )
    assert "15:30" in await book.inner_text("#toast")
    assert "15:30" in await book.inner_text("#mine")
    await console.click("#slots button.cancel")
    await book.wait_for_function(
        "() => document.querySelector('#toast').textContent.includes('cancelled your appointment')"
    )
    await book.wait_for_function("() => window.wealthroomBooking.state.slots.length === 0")
    assert await book.is_visible("#mine-empty")
    watch.assert_clean()
