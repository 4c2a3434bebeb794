"""The booking rules, pure: offer, book, move, cancel, what is due, and every refusal's code."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from advisors.appointments import (
    MAX_BOOKINGS,
    Decision,
    Party,
    Refused,
    Slot,
    SlotState,
    decide,
    due,
    honour,
    unhonour,
    visible_to,
)
from protocol import messages as m
from protocol.codes import ErrorCode

NOW = 1_800_000_000.0
HOUR = 3600.0
CHAN = Party("chan", "Ms Chan", advisor=True)
LEE = Party("lee", "Mr Lee", advisor=True)
ANN = Party("ann", "Ann", advisor=False, room="ann-room")
BOB = Party("bob", "Bob", advisor=False, room="bob-room")


def ms(t: float) -> int:
    return round(t * 1000)


class Book:
    """Slots kept in a dict, changed as a store would apply decisions."""

    def __init__(self) -> None:
        self.slots: dict[str, Slot] = {}
        self._n = 0

    def do(self, party: Party, msg: m.Message, now: float = NOW) -> Slot:
        self._n += 1
        decision = decide(self.slots, party, msg, f"s{self._n}", now)
        self._write(decision)
        assert decision.slot is not None
        return decision.slot

    def _write(self, decision: Decision) -> None:
        for slot in decision.put:
            self.slots[slot.id] = slot
        for sid in decision.drop:
            self.slots.pop(sid, None)

    def refused(self, party: Party, msg: m.Message, now: float = NOW) -> ErrorCode:
        before: Mapping[str, Slot] = dict(self.slots)
        with pytest.raises(Refused) as info:
            self.do(party, msg, now)
        assert self.slots == before
        return info.value.code


def offer(book: Book, at: float, who: Party = CHAN, length: float = HOUR) -> Slot:
    return book.do(who, m.Offer(ms(at), ms(at + length)))


def test_a_booking_is_made_moved_cancelled_and_honoured_at_its_time() -> None:
    book = Book()
    first = offer(book, NOW + HOUR)
    second = offer(book, NOW + 3 * HOUR)
    assert first.state is SlotState.FREE
    booked = book.do(ANN, m.Book(first.id))
    assert (booked.state, booked.customer, booked.room) == (SlotState.BOOKED, "ann", "ann-room")
    moved = book.do(ANN, m.Move(first.id, to=second.id))
    assert moved.id == second.id
    assert book.slots[first.id].state is SlotState.FREE
    assert book.slots[first.id].customer is None
    book.do(ANN, m.Cancel(second.id))
    assert book.slots[second.id].state is SlotState.FREE
    book.do(ANN, m.Book(first.id))
    # The advisor moves the slot, booking and all, an hour later.
    later = book.do(CHAN, m.Move(first.id, start=ms(NOW + 5 * HOUR)))
    assert (later.start, later.customer) == (NOW + 5 * HOUR, "ann")
    assert due(book.slots, NOW + 5 * HOUR - 1) == []
    at = NOW + 5 * HOUR + 1
    assert [s.id for s in due(book.slots, at)] == [first.id]
    decision = honour(book.slots, first.id, at)
    assert decision.slot is not None
    assert decision.slot.state is SlotState.HONOURED
    book._write(decision)
    assert due(book.slots, at) == []
    assert honour(book.slots, first.id, at).slot is None  # a second node gets nothing
    # Honouring failed half way: the booking is due again, once, while its time lasts.
    assert unhonour(book.slots, first.id, later.end).slot is None
    book._write(unhonour(book.slots, first.id, at))
    assert [s.id for s in due(book.slots, at)] == [first.id]
    assert unhonour(book.slots, first.id, at).slot is None


def test_an_advisor_withdraws_a_slot_with_its_booking() -> None:
    book = Book()
    slot = offer(book, NOW + HOUR)
    book.do(ANN, m.Book(slot.id))
    book.do(CHAN, m.Cancel(slot.id))
    assert slot.id not in book.slots


def test_booking_a_taken_slot_is_slot_taken() -> None:
    book = Book()
    slot = offer(book, NOW + HOUR)
    book.do(ANN, m.Book(slot.id))
    assert book.refused(BOB, m.Book(slot.id)) is ErrorCode.SLOT_TAKEN
    other = offer(book, NOW + 2 * HOUR)
    book.do(BOB, m.Book(other.id))
    assert book.refused(ANN, m.Move(slot.id, to=other.id)) is ErrorCode.SLOT_TAKEN


def test_a_slot_in_the_past_is_slot_past() -> None:
    book = Book()
    assert book.refused(CHAN, m.Offer(ms(NOW - HOUR), ms(NOW))) is ErrorCode.SLOT_PAST
    slot = offer(book, NOW + HOUR)
    begun = NOW + HOUR + 1
    assert book.refused(ANN, m.Book(slot.id), begun) is ErrorCode.SLOT_PAST
    book.do(ANN, m.Book(slot.id))
    assert book.refused(ANN, m.Cancel(slot.id), begun) is ErrorCode.SLOT_PAST
    assert book.refused(CHAN, m.Move(slot.id, start=ms(NOW - 10)), NOW) is ErrorCode.SLOT_PAST


def test_cancelling_or_moving_someone_elses_booking_is_not_your_booking() -> None:
    book = Book()
    slot = offer(book, NOW + HOUR)
    free = offer(book, NOW + 3 * HOUR)
    book.do(ANN, m.Book(slot.id))
    assert book.refused(BOB, m.Cancel(slot.id)) is ErrorCode.NOT_YOUR_BOOKING
    assert book.refused(BOB, m.Move(slot.id, to=free.id)) is ErrorCode.NOT_YOUR_BOOKING
    assert book.refused(LEE, m.Cancel(slot.id)) is ErrorCode.NOT_YOUR_BOOKING
    assert book.refused(LEE, m.Move(slot.id, start=ms(NOW + 9 * HOUR))) is (
        ErrorCode.NOT_YOUR_BOOKING
    )
    assert book.refused(BOB, m.Cancel(free.id)) is ErrorCode.NO_SUCH_SLOT  # nothing to cancel


def test_an_unknown_slot_is_no_such_slot() -> None:
    book = Book()
    assert book.refused(ANN, m.Book("nope")) is ErrorCode.NO_SUCH_SLOT
    assert book.refused(ANN, m.Cancel("nope")) is ErrorCode.NO_SUCH_SLOT
    assert book.refused(CHAN, m.Move("nope", start=ms(NOW + HOUR))) is ErrorCode.NO_SUCH_SLOT
    slot = offer(book, NOW + HOUR)
    book.do(ANN, m.Book(slot.id))
    assert book.refused(ANN, m.Move(slot.id, to="nope")) is ErrorCode.NO_SUCH_SLOT


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW + 2 * HOUR, NOW + HOUR),  # ends before it starts
        (NOW + HOUR, NOW + HOUR),  # no length
        (NOW + HOUR, NOW + HOUR + 60),  # a minute
        (NOW + HOUR, NOW + 9 * HOUR),  # a working day
        (NOW + 400 * 24 * HOUR, NOW + 400 * 24 * HOUR + HOUR),  # next year but one
    ],
)
def test_malformed_times_are_bad_value(start: float, end: float) -> None:
    assert Book().refused(CHAN, m.Offer(ms(start), ms(end))) is ErrorCode.BAD_VALUE


def test_a_move_says_what_it_moves_by() -> None:
    book = Book()
    slot = offer(book, NOW + HOUR)
    free = offer(book, NOW + 3 * HOUR)
    book.do(ANN, m.Book(slot.id))
    assert book.refused(ANN, m.Move(slot.id, start=ms(NOW + 5 * HOUR))) is ErrorCode.BAD_VALUE
    assert book.refused(CHAN, m.Move(slot.id, to=free.id)) is ErrorCode.BAD_VALUE
    assert book.refused(CHAN, m.Move(slot.id)) is ErrorCode.BAD_VALUE


def test_overlaps_are_slot_overlap() -> None:
    book = Book()
    slot = offer(book, NOW + HOUR)
    assert book.refused(CHAN, m.Offer(ms(NOW + 1.5 * HOUR), ms(NOW + 2.5 * HOUR))) is (
        ErrorCode.SLOT_OVERLAP
    )
    later = offer(book, NOW + 2 * HOUR)  # back to back is fine
    assert book.refused(CHAN, m.Move(later.id, start=ms(NOW + 0.5 * HOUR))) is (
        ErrorCode.SLOT_OVERLAP
    )
    same_time = offer(book, NOW + HOUR, who=LEE)  # another advisor at the same time
    book.do(ANN, m.Book(slot.id))
    assert book.refused(ANN, m.Book(same_time.id)) is ErrorCode.SLOT_OVERLAP
    # An advisor moving a booked slot cannot put it onto the customer's other appointment.
    book.do(LEE, m.Cancel(same_time.id))
    lees = offer(book, NOW + 5 * HOUR, who=LEE)
    book.do(ANN, m.Book(lees.id))
    with pytest.raises(Refused, match="the customer's booking") as info:
        decide(book.slots, LEE, m.Move(lees.id, start=ms(NOW + HOUR)), "x", NOW)
    assert info.value.code is ErrorCode.SLOT_OVERLAP


def test_a_customer_holds_a_few_bookings_at_most() -> None:
    book = Book()
    slots = [offer(book, NOW + (1 + 2 * i) * HOUR) for i in range(MAX_BOOKINGS + 1)]
    for slot in slots[:MAX_BOOKINGS]:
        book.do(ANN, m.Book(slot.id))
    assert book.refused(ANN, m.Book(slots[-1].id)) is ErrorCode.BOOKING_LIMIT


def test_each_side_may_send_only_its_own_messages() -> None:
    book = Book()
    assert book.refused(ANN, m.Offer(ms(NOW + HOUR), ms(NOW + 2 * HOUR))) is ErrorCode.FORBIDDEN
    slot = offer(book, NOW + HOUR)
    assert book.refused(CHAN, m.Book(slot.id)) is ErrorCode.FORBIDDEN


def test_customers_see_free_slots_and_their_own_advisors_their_own() -> None:
    book = Book()
    mine = offer(book, NOW + HOUR)
    taken = offer(book, NOW + 3 * HOUR)
    free = offer(book, NOW + 5 * HOUR, who=LEE)
    book.do(ANN, m.Book(mine.id))
    book.do(BOB, m.Book(taken.id))
    assert [s.id for s in visible_to(book.slots, ANN, NOW)] == [mine.id, free.id]
    assert [s.id for s in visible_to(book.slots, CHAN, NOW)] == [mine.id, taken.id]


def test_slots_long_over_are_swept_at_the_next_write() -> None:
    book = Book()
    old = offer(book, NOW + HOUR)
    much_later = NOW + 3 * 24 * HOUR
    book.do(CHAN, m.Offer(ms(much_later + HOUR), ms(much_later + 2 * HOUR)), much_later)
    assert old.id not in book.slots
