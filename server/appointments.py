"""Appointments on a node: the shell around :mod:`advisors.appointments`.

It applies the consoles' and customers' appointment messages to the shared store, tells every
console and customer connection on every node that the slots changed (over the bus), and
honours bookings at their time: the node that wins :func:`~advisors.appointments.honour` opens
the room, pages the booked advisor first (they alone see the page for
``appointment_head_start_s`` if they are available; then, or at once if they are absent, any
advisor may take it), and sends the customer an ``appointment`` reminder wherever they are
connected to ``/book`` (the room page is, for customers).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

import msgpack
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from advisors.appointments import (
    AppointmentStore,
    Party,
    Refused,
    Slot,
    SlotState,
    decide,
    due,
    honour,
    slot_from_json,
    slot_to_json,
    slots_message,
    unhonour,
)
from advisors.booking import Booker
from advisors.desk import PAGES_TOPIC, PageDesk, PageEvent
from advisors.errors import PageExists
from advisors.grant import BookingGrant
from advisors.outputs import Appoint, Close, ConsoleOutput, Send, SendSlots
from advisors.presence import AdvisorState
from protocol import messages as m
from protocol.codec import encode
from protocol.codes import ErrorCode
from rooms.audit import AuditEvent, AuditLog
from rooms.handoff_words import BOOKED
from rooms.outputs import PageRequest
from rooms.roles import Role
from server.auth import TokenAuthority
from server.errors import Refused as NotHosted
from server.health import Health
from server.room_host import RoomHost

log = logging.getLogger(__name__)

TOPIC = "appointments"
APPOINTMENT_REASON = BOOKED
UNAVAILABLE = "appointments cannot be reached just now; please try again shortly"


class Watcher(Protocol):
    """A connection shown the slots: a console, or a customer's ``/book``."""

    party: Party

    async def send(self, msg: m.Message) -> None: ...


class Appointments:
    def __init__(  # noqa: PLR0913 - the node services appointments use
        self,
        store: AppointmentStore,
        desk: PageDesk,
        tokens: TokenAuthority,
        audit: AuditLog,
        health: Health,
        *,
        open_room: Callable[[str], Awaitable[RoomHost]],
        room_url: Callable[[str], Awaitable[str]],
        token_ttl_s: float,
        head_start_s: float,
        poll_s: float,
    ) -> None:
        self.store = store
        self._desk = desk
        self._bus = desk.bus
        self._tokens = tokens
        self._audit = audit
        self._health = health
        self._open_room = open_room
        self._room_url = room_url
        self._token_ttl = token_ttl_s
        self._head_start = head_start_s
        self._poll = poll_s
        self.watchers: set[Watcher] = set()
        self.stopping = False
        self._releases: set[asyncio.Task[None]] = set()

    # --- requests -------------------------------------------------------------------------------

    async def request(self, party: Party, msg: m.Message, now: float) -> Slot | None:
        """Apply one appointment message; raises :class:`Refused` with the rule's code."""
        new_id = uuid.uuid4().hex[:16]
        try:
            decision = await self.store.apply(lambda book: decide(book, party, msg, new_id, now))
        except Refused as exc:
            self._record(party, msg, None, now, outcome=exc.code.name)
            raise
        self._record(party, msg, decision.slot, now, outcome="ok")
        try:
            await self._bus.publish(TOPIC, msgpack.packb(["changed", None]))
        except Exception as exc:
            # Done all the same: the asker is shown it at once, the others when news next
            # comes (a resubscribing node shows every connection its slots again).
            self._health.degrade("appointment-events", exc)
        return decision.slot

    async def send_slots(self, watcher: Watcher) -> None:
        book = await self.store.slots()
        await watcher.send(slots_message(book, watcher.party, time.time()))

    async def _send_slots_if_up(self, watcher: Watcher) -> None:
        try:
            await self.send_slots(watcher)
        except Exception as exc:
            self._health.degrade("appointments", exc)  # shown again when news next comes

    def _record(
        self, party: Party, msg: m.Message, slot: Slot | None, now: float, *, outcome: str
    ) -> None:
        room = (slot.room if slot else None) or party.room or f"advisor:{party.subject}"
        detail: dict[str, str | int | bool] = {"msg": msg.TYPE}
        if slot is not None:
            detail |= {"slot": slot.id, "start": round(slot.start), "advisor": slot.advisor}
        role = "advisor" if party.advisor else "customer"
        event = AuditEvent(
            now, room, party.subject, role, f"appointment.{msg.TYPE}", outcome, detail
        )
        self._audit.append(event)

    # --- a customer's /book connection ------------------------------------------------------------

    async def serve_customer(
        self, ws: ServerConnection, grant: BookingGrant, *, max_frame_bytes: int, strikes: float
    ) -> None:
        booker = Booker(grant, max_frame_bytes=max_frame_bytes, strikes=strikes, now=time.time())
        watcher = _SocketWatcher(ws, booker.party)
        self.watchers.add(watcher)
        try:
            await self.carry_out(watcher, booker.open(time.time()), booker.refused)
            await self._remind_late(watcher)
            async for data in ws:
                await self.carry_out(watcher, booker.receive(data, time.time()), booker.refused)
        except ConnectionClosed:
            pass
        finally:
            self.watchers.discard(watcher)

    async def carry_out(
        self,
        watcher: Watcher,
        outputs: list[ConsoleOutput],
        refused: Callable[[ErrorCode, str, str, float], list[ConsoleOutput]],
    ) -> list[ConsoleOutput]:
        """Do a booking connection's outputs; return those that are not appointments' own
        (a console's) for its shell."""
        rest: list[ConsoleOutput] = []
        for out in outputs:
            if isinstance(out, Appoint):
                now = time.time()
                try:
                    await self.request(watcher.party, out.message, now)
                except Refused as exc:
                    more = refused(exc.code, exc.detail, out.message.TYPE, now)
                    rest += await self.carry_out(watcher, more, refused)
                    continue
                except Exception as exc:
                    # The store did not answer (Redis away, a disk that failed): the person
                    # is told to try again, the connection stays, the node reports degraded.
                    self._health.degrade("appointments", exc)
                    more = refused(ErrorCode.INTERNAL, UNAVAILABLE, out.message.TYPE, now)
                    rest += await self.carry_out(watcher, more, refused)
                    continue
                await self._send_slots_if_up(watcher)  # at once: the bus's news may come later
            elif isinstance(out, SendSlots):
                await self._send_slots_if_up(watcher)
            elif isinstance(out, Send) and isinstance(watcher, _SocketWatcher):
                await watcher.send(out.message)
            elif isinstance(out, Close) and isinstance(watcher, _SocketWatcher):
                await watcher.ws.close(int(out.code), out.reason)
            else:
                rest.append(out)
        return rest

    # --- news from any node -----------------------------------------------------------------------

    async def follow(self, ready: asyncio.Event) -> None:
        """Slots changed anywhere: every connection here is shown them again; an appointment
        due: its customer's connections here get the reminder. Resubscribes after the bus fails."""
        while not self.stopping:
            try:
                async with self._bus.subscribe(TOPIC) as events:
                    self._health.recover("appointment-events")
                    ready.set()
                    await self._refresh_all()  # news may have been missed meanwhile
                    async for data in events:
                        await self._on_event(data)
            except Exception as exc:
                self._health.degrade("appointment-events", exc)  # logged once, not each retry
                ready.set()
                await asyncio.sleep(1.0)

    async def _on_event(self, data: bytes) -> None:
        try:
            kind, body = msgpack.unpackb(data)
            slot = None if body is None else slot_from_json(body)
        except Exception:
            log.warning("ignoring a malformed appointment event")
            return
        if kind == "due" and slot is not None:
            await self._remind(slot)
        await self._refresh_all()

    async def _refresh_all(self) -> None:
        if not self.watchers:
            return
        book = await self.store.slots()
        now = time.time()
        # Side by side: a connection slow to take its frame delays only itself.
        await asyncio.gather(
            *(w.send(slots_message(book, w.party, now)) for w in list(self.watchers)),
            return_exceptions=True,
        )

    async def _remind_late(self, watcher: Watcher) -> None:
        """A customer who comes after their appointment began, while it lasts, is reminded
        too: the booking link's page is their way into the room."""
        now = time.time()
        for slot in (await self.store.slots()).values():
            if (
                slot.customer == watcher.party.subject
                and slot.state is SlotState.HONOURED
                and slot.start <= now < slot.end
            ):
                await self._remind(slot, [watcher])

    async def _remind(self, slot: Slot, to: list[Watcher] | None = None) -> None:
        mine = to or [
            w for w in self.watchers if not w.party.advisor and w.party.subject == slot.customer
        ]
        if not mine or slot.room is None or slot.customer is None:
            return
        token = self._tokens.mint(
            room=slot.room,
            role=Role.CUSTOMER,
            subject=slot.customer,
            name=slot.customer_name,
            ttl_s=self._token_ttl,
        )
        url = await self._room_url(slot.room)
        msg = m.Appointment(
            slot.id,
            slot.room,
            round(slot.start * 1000),
            round(slot.end * 1000),
            slot.advisor_name,
            token,
            url,
        )
        for watcher in mine:
            await watcher.send(msg)

    # --- the time comes -------------------------------------------------------------------------

    async def keep_time(self) -> None:
        """Look for bookings due every ``poll_s``; honour each on exactly one node."""
        while not self.stopping:
            try:
                await self.honour_due(time.time())
                self._health.recover("appointments")
            except Exception as exc:
                self._health.degrade("appointments", exc)  # logged once, not every poll
            await asyncio.sleep(self._poll)

    async def honour_due(self, now: float) -> list[Slot]:
        honoured: list[Slot] = []
        for slot in due(await self.store.slots(), now):
            decision = await self.store.apply(partial(honour, slot_id=slot.id, now=now))
            if decision.slot is None:
                continue  # another node won it, or it was cancelled meanwhile
            try:
                await self._honour(decision.slot, now)
            except Exception:
                # Due again at the next look (here or on another node), not lost.
                await self.store.apply(partial(unhonour, slot_id=slot.id, now=now))
                raise
            honoured.append(decision.slot)
        return honoured

    async def _honour(self, slot: Slot, now: float) -> None:
        assert slot.room is not None
        assert slot.customer is not None
        host: RoomHost | None = None
        try:
            host = await self._open_room(slot.room)
            host.kept_until = max(host.kept_until, slot.end)
        except NotHosted as exc:
            # Hosted by another node (it serves the customer), or shared services away: the
            # page and the reminder still go out; the room opens when the first one comes.
            log.info("appointment %s: room %s not opened here: %s", slot.id, slot.room, exc)
        status = await self._desk.presence.get(slot.advisor)
        present = status is not None and status.state is AdvisorState.AVAILABLE
        head_start = self._head_start if present else 0.0
        request = PageRequest(
            f"appt-{slot.id}",
            slot.room,
            slot.customer,
            slot.customer_name or "customer",
            None,
            slot.language,
            None,
            APPOINTMENT_REASON,
            None,
        )
        # Posted already by an earlier attempt whose reminder did not go out: once is enough.
        with contextlib.suppress(PageExists):
            await self._desk.post(request, first=slot.advisor, first_for_s=head_start)
        if host is not None:
            host.appointment_due(request.id, slot.advisor_name, slot.language)
        detail: dict[str, str | int | bool] = {
            "slot": slot.id,
            "advisor": slot.advisor,
            "head_start_s": round(head_start),
        }
        self._audit.append(
            AuditEvent(now, slot.room, "server", "server", "appointment.due", "ok", detail)
        )
        await self._bus.publish(TOPIC, msgpack.packb(["due", slot_to_json(slot)]))
        if head_start > 0:
            task = asyncio.create_task(self._release(request.id, slot.room, head_start))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)

    async def _release(self, page: str, room: str, after_s: float) -> None:
        # The booked advisor's head start is over: every console looks at its queue again.
        await asyncio.sleep(after_s)
        await self._bus.publish(PAGES_TOPIC, PageEvent("opened", page, room).encode())

    async def close(self) -> None:
        self.stopping = True
        for task in list(self._releases):
            task.cancel()
        await asyncio.gather(*self._releases, return_exceptions=True)


class _SocketWatcher:
    def __init__(self, ws: ServerConnection, party: Party) -> None:
        self.ws = ws
        self.party = party

    async def send(self, msg: m.Message) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(encode(msg))
