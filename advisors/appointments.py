"""Appointments: advisors publish free slots, customers book them, both sides cancel and move,
and a booking is honoured at its time. The rules, pure: the slots as they are, who asks, what
and ``now`` in; the slots to write, to drop and the slot concerned out.

Times are seconds since the epoch (UTC) here and Unix milliseconds on the wire; nothing here
knows a time zone: clients show them in the viewer's own.

A store (:class:`AppointmentStore`) applies one decision atomically over every slot: the rule
exists once, here, whichever store (SQLite in embedded mode, Redis in distributed mode) keeps
the slots. A refusal is raised as :class:`Refused`, so the store writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from advisors.errors import AdvisorsError
from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.limits import MAX_SLOTS

MIN_SLOT_S = 5 * 60.0  # shorter is no meeting
MAX_SLOT_S = 4 * 3600.0
MAX_AHEAD_S = 366 * 24 * 3600.0  # a slot further ahead is a typo more often than a plan
MAX_BOOKINGS = 3  # bookings ahead one customer may hold: nobody holds a day's slots hostage
MAX_OPEN_SLOTS = 200  # slots ahead one advisor may have published
KEEP_S = 24 * 3600.0  # a slot over for this long is dropped at the next write


class SlotState(StrEnum):
    FREE = "free"
    BOOKED = "booked"
    HONOURED = "honoured"  # its time came: the room was opened and the advisor paged


@dataclass(frozen=True, slots=True)
class Slot:
    id: str
    advisor: str  # the advisor's subject
    advisor_name: str
    start: float  # seconds since the epoch, UTC
    end: float
    state: SlotState = SlotState.FREE
    customer: str | None = None  # subject of the customer who booked it
    customer_name: str | None = None
    room: str | None = None  # the room that opens at its time
    language: str = "en"  # the customer's: their room's notices, advisors asked after the first


@dataclass(frozen=True, slots=True)
class Party:
    """Who asks: an advisor (from the console) or a customer (from their room or a link)."""

    subject: str
    name: str
    advisor: bool
    room: str | None = None  # a customer's room: where a booking of theirs opens
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule decided: slots to write, ids to drop, and the slot it concerned."""

    put: tuple[Slot, ...] = ()
    drop: tuple[str, ...] = ()
    slot: Slot | None = None


class Refused(AdvisorsError):
    """A request the rules refuse; the shell sends it as an ``error`` frame with ``code``."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


Book = Mapping[str, Slot]
Change = Callable[[Book], Decision]


class AppointmentStore(Protocol):
    async def slots(self) -> dict[str, Slot]:
        """Every slot kept, by id."""
        ...

    async def apply(self, change: Change) -> Decision:
        """Run ``change`` on the slots as they are and write what it decided, as one atomic
        step; a :class:`Refused` it raises propagates and nothing is written."""
        ...

    async def close(self) -> None: ...


# --- the rules ------------------------------------------------------------------------------


def decide(book: Book, party: Party, msg: m.Message, new_id: str, now: float) -> Decision:
    """One appointment message from ``party``. ``new_id`` names a slot an offer creates."""
    match msg:
        case m.Offer(start, end) if party.advisor:
            return offer(book, party, new_id, start / 1000, end / 1000, now)
        case m.Book(slot) if not party.advisor:
            return book_slot(book, party, slot, now)
        case m.Cancel(slot):
            return cancel(book, party, slot, now)
        case m.Move(slot, to, start):
            return move(
                book, party, slot, to=to, start=None if start is None else start / 1000, now=now
            )
    who = "an advisor" if party.advisor else "a customer"
    raise Refused(ErrorCode.FORBIDDEN, f"{who} may not {msg.TYPE}")


def offer(
    book: Book, advisor: Party, slot_id: str, start: float, end: float, now: float
) -> Decision:
    _check_times(start, end, now)
    mine = [s for s in book.values() if s.advisor == advisor.subject and s.end > now]
    if len(mine) >= MAX_OPEN_SLOTS:
        raise Refused(ErrorCode.BOOKING_LIMIT, f"at most {MAX_OPEN_SLOTS} slots ahead")
    _check_free_time(book, advisor.subject, start, end, besides=None)
    slot = Slot(slot_id, advisor.subject, advisor.name, start, end)
    return _decided(book, now, put=(slot,), slot=slot)


def book_slot(book: Book, customer: Party, slot_id: str, now: float) -> Decision:
    slot = _visible(book, customer, slot_id)
    _check_bookable(book, customer, slot, now, besides=None)
    if customer.room is None:
        raise Refused(ErrorCode.FORBIDDEN, "no room to meet in: open the bank's link again")
    booked = replace(
        slot,
        state=SlotState.BOOKED,
        customer=customer.subject,
        customer_name=customer.name,
        room=customer.room,
        language=customer.language,
    )
    return _decided(book, now, put=(booked,), slot=booked)


def cancel(book: Book, party: Party, slot_id: str, now: float) -> Decision:
    slot = _own(book, party, slot_id)
    _check_not_begun(slot, now)
    if party.advisor:
        return _decided(book, now, drop=(slot.id,), slot=slot)
    return _decided(book, now, put=(_freed(slot),), slot=slot)


def move(
    book: Book, party: Party, slot_id: str, *, to: str | None, start: float | None, now: float
) -> Decision:
    slot = _own(book, party, slot_id)
    _check_not_begun(slot, now)
    if party.advisor:
        if start is None or to is not None:
            raise Refused(ErrorCode.BAD_VALUE, "an advisor moves a slot with `start` (not `to`)")
        end = start + (slot.end - slot.start)
        _check_times(start, end, now)
        _check_free_time(book, party.subject, start, end, besides=slot.id)
        moved = replace(slot, start=start, end=end)
        if slot.customer is not None:
            # The booking goes with the slot: not onto another appointment of the customer's.
            customer = Party(slot.customer, slot.customer_name or "", advisor=False)
            _check_no_other_booking(book, customer, moved, besides=slot.id)
        return _decided(book, now, put=(moved,), slot=moved)
    if to is None or start is not None:
        raise Refused(ErrorCode.BAD_VALUE, "a customer moves a booking with `to` (not `start`)")
    target = _visible(book, party, to)
    if target.id == slot.id:
        raise Refused(ErrorCode.ALREADY_DONE, "the booking is in that slot already")
    _check_bookable(book, party, target, now, besides=slot.id)
    booked = replace(
        target,
        state=SlotState.BOOKED,
        customer=slot.customer,
        customer_name=slot.customer_name,
        room=slot.room,
        language=slot.language,
    )
    return _decided(book, now, put=(_freed(slot), booked), slot=booked)


def due(book: Book, now: float) -> list[Slot]:
    """Bookings whose time has come and that were not honoured yet, earliest first."""
    found = [s for s in book.values() if s.state is SlotState.BOOKED and s.start <= now < s.end]
    return sorted(found, key=lambda s: (s.start, s.id))


def honour(book: Book, slot_id: str, now: float) -> Decision:
    """Mark a due booking honoured; ``slot`` is None if it is not due (any more): another node
    honoured it first, or it was cancelled meanwhile. Exactly one caller gets the slot."""
    slot = book.get(slot_id)
    if slot is None or slot.state is not SlotState.BOOKED or not slot.start <= now < slot.end:
        return Decision()
    done = replace(slot, state=SlotState.HONOURED)
    return Decision(put=(done,), slot=done)


def unhonour(book: Book, slot_id: str, now: float) -> Decision:
    """Honouring failed half way (the page board did not answer): the booking is due again,
    for the next look, on whichever node, while its time lasts."""
    slot = book.get(slot_id)
    if slot is None or slot.state is not SlotState.HONOURED or now >= slot.end:
        return Decision()
    again = replace(slot, state=SlotState.BOOKED)
    return Decision(put=(again,), slot=again)


def visible_to(book: Book, party: Party, now: float) -> list[Slot]:
    """What a party is shown: an advisor, their own slots not over; a customer, the free slots
    ahead and their own bookings not over. By start, at most ``MAX_SLOTS``."""
    if party.advisor:
        shown = [s for s in book.values() if s.advisor == party.subject and s.end > now]
    else:
        shown = [
            s
            for s in book.values()
            if s.end > now
            and (s.customer == party.subject or (s.state is SlotState.FREE and s.start > now))
        ]
    shown.sort(key=lambda s: (s.start, s.id))
    # A customer's own bookings first in the cut, so that many free slots never hide one.
    if not party.advisor and len(shown) > MAX_SLOTS:
        own = [s for s in shown if s.customer == party.subject]
        free = [s for s in shown if s.customer != party.subject][: MAX_SLOTS - len(own)]
        shown = sorted(own + free, key=lambda s: (s.start, s.id))
    return shown[:MAX_SLOTS]


def slot_info(slot: Slot, *, advisor_view: bool) -> m.SlotInfo:
    return m.SlotInfo(
        slot.id,
        round(slot.start * 1000),
        round(slot.end * 1000),
        slot.advisor_name,
        slot.state.value,
        slot.customer_name if advisor_view and slot.customer else None,
        slot.room,
    )


def slots_message(book: Book, party: Party, now: float) -> m.Slots:
    return m.Slots([slot_info(s, advisor_view=party.advisor) for s in visible_to(book, party, now)])


def slot_to_json(slot: Slot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "advisor": slot.advisor,
        "advisor_name": slot.advisor_name,
        "start": slot.start,
        "end": slot.end,
        "state": slot.state.value,
        "customer": slot.customer,
        "customer_name": slot.customer_name,
        "room": slot.room,
        "language": slot.language,
    }


def slot_from_json(data: Mapping[str, Any]) -> Slot:
    return Slot(
        str(data["id"]),
        str(data["advisor"]),
        str(data["advisor_name"]),
        float(data["start"]),
        float(data["end"]),
        SlotState(data["state"]),
        data.get("customer"),
        data.get("customer_name"),
        data.get("room"),
        str(data.get("language") or "en"),
    )


# --- checks ---------------------------------------------------------------------------------


def _check_times(start: float, end: float, now: float) -> None:
    if end <= start:
        raise Refused(ErrorCode.BAD_VALUE, "the slot must end after it starts")
    if not MIN_SLOT_S <= end - start <= MAX_SLOT_S:
        raise Refused(
            ErrorCode.BAD_VALUE,
            f"a slot lasts {MIN_SLOT_S / 60:.0f} minutes to {MAX_SLOT_S / 3600:.0f} hours",
        )
    if start <= now:
        raise Refused(ErrorCode.SLOT_PAST, "that time has passed")
    if start > now + MAX_AHEAD_S:
        raise Refused(ErrorCode.BAD_VALUE, "slots are published at most a year ahead")


def _check_free_time(
    book: Book, advisor: str, start: float, end: float, *, besides: str | None
) -> None:
    for s in book.values():
        if s.advisor == advisor and s.id != besides and s.start < end and start < s.end:
            raise Refused(ErrorCode.SLOT_OVERLAP, f"overlaps your slot {s.id}")


def _check_not_begun(slot: Slot, now: float) -> None:
    if slot.start <= now:
        raise Refused(ErrorCode.SLOT_PAST, "the slot has begun or is over")


def _check_bookable(
    book: Book, customer: Party, slot: Slot, now: float, *, besides: str | None
) -> None:
    if slot.start <= now:
        raise Refused(ErrorCode.SLOT_PAST, "that slot has begun or is over")
    if slot.state is not SlotState.FREE:
        raise Refused(ErrorCode.SLOT_TAKEN, "that slot is booked")
    mine = _check_no_other_booking(book, customer, slot, besides=besides)
    if len(mine) >= MAX_BOOKINGS:
        raise Refused(ErrorCode.BOOKING_LIMIT, f"at most {MAX_BOOKINGS} bookings ahead")


def _check_no_other_booking(
    book: Book, customer: Party, slot: Slot, *, besides: str | None
) -> list[Slot]:
    """The customer's other bookings, none of which may overlap ``slot``."""
    mine = [
        s
        for s in book.values()
        if s.customer == customer.subject and s.id != besides and s.state is SlotState.BOOKED
    ]
    for s in mine:
        if s.start < slot.end and slot.start < s.end:
            raise Refused(ErrorCode.SLOT_OVERLAP, f"overlaps the customer's booking {s.id}")
    return mine


def _visible(book: Book, party: Party, slot_id: str) -> Slot:
    slot = book.get(slot_id)
    if slot is None:
        raise Refused(ErrorCode.NO_SUCH_SLOT, f"no slot {slot_id!r}")
    return slot


def _own(book: Book, party: Party, slot_id: str) -> Slot:
    slot = _visible(book, party, slot_id)
    if party.advisor and slot.advisor != party.subject:
        raise Refused(ErrorCode.NOT_YOUR_BOOKING, "that slot is another advisor's")
    if not party.advisor and slot.customer != party.subject:
        if slot.state is SlotState.FREE:
            raise Refused(ErrorCode.NO_SUCH_SLOT, "you have no booking in that slot")
        raise Refused(ErrorCode.NOT_YOUR_BOOKING, "that booking is not yours")
    return slot


def _freed(slot: Slot) -> Slot:
    return replace(
        slot, state=SlotState.FREE, customer=None, customer_name=None, room=None, language="en"
    )


def _decided(
    book: Book, now: float, *, put: tuple[Slot, ...] = (), drop: tuple[str, ...] = (), slot: Slot
) -> Decision:
    # Every write also sweeps slots long over, so the store never grows with time.
    stale = tuple(s.id for s in book.values() if s.end < now - KEEP_S and s.id not in drop)
    return Decision(put, drop + stale, slot)
