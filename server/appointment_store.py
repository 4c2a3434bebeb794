"""Appointment slots in SQLite (stdlib ``sqlite3``): the embedded mode's store, a file under
``var/`` (``WEALTHROOM_APPOINTMENTS_PATH``, default ``var/appointments.sqlite3``).

One table, a row per slot. A change runs in one ``BEGIN IMMEDIATE`` transaction (read every
slot, judge in Python by :mod:`advisors.appointments`, write what was decided), so two
processes on the same file, or two requests at once, cannot both book a slot. The calls run on
a worker thread: a disk that stalls must not stall the event loop's rooms.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from advisors.appointments import Change, Decision, Slot, SlotState
from server.private_dir import private_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS slots (
    id TEXT PRIMARY KEY,
    advisor TEXT NOT NULL,
    advisor_name TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    state TEXT NOT NULL,
    customer TEXT,
    customer_name TEXT,
    room TEXT,
    language TEXT NOT NULL DEFAULT 'en'
)
"""
_COLUMNS = (
    "id, advisor, advisor_name, start_s, end_s, state, customer, customer_name, room, language"
)


class SqliteAppointments:
    """:class:`~advisors.appointments.AppointmentStore` in an SQLite file."""

    def __init__(self, path: Path) -> None:
        if str(path) != ":memory:":
            private_dir(path.parent)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")  # another process holding the write lock
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    async def slots(self) -> dict[str, Slot]:
        return await asyncio.to_thread(self._read_locked)

    async def apply(self, change: Change) -> Decision:
        return await asyncio.to_thread(self._apply, change)

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read_locked(self) -> dict[str, Slot]:
        with self._lock:
            return self._read()

    def _read(self) -> dict[str, Slot]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM slots").fetchall()
        return {row[0]: _slot(row) for row in rows}

    def _apply(self, change: Change) -> Decision:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                decision = change(self._read())
                for slot in decision.put:
                    self._db.execute(
                        f"INSERT OR REPLACE INTO slots ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        _row(slot),
                    )
                self._db.executemany(
                    "DELETE FROM slots WHERE id = ?", [(i,) for i in decision.drop]
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return decision


def _row(slot: Slot) -> tuple[object, ...]:
    return (
        slot.id,
        slot.advisor,
        slot.advisor_name,
        slot.start,
        slot.end,
        slot.state.value,
        slot.customer,
        slot.customer_name,
        slot.room,
        slot.language,
    )


def _slot(row: tuple[object, ...]) -> Slot:
    sid, advisor, name, start, end, state, customer, customer_name, room, language = row
    return Slot(
        str(sid),
        str(advisor),
        str(name),
        float(start),  # type: ignore[arg-type]
        float(end),  # type: ignore[arg-type]
        SlotState(str(state)),
        None if customer is None else str(customer),
        None if customer_name is None else str(customer_name),
        None if room is None else str(room),
        str(language),
    )
