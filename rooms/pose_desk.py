"""Every room's waiting binary poses on a node, judged together.

A room of ten has ten poses a tick: too few for numpy's cost per call to pay off
(``avatars/pose_batch.py``). A node holds many rooms; when they share a desk, the first room
to tick judges the poses waiting in all of them, one batch per layout (the floor differs),
and the others find theirs done when their own tick comes. Nothing of one room leaks into
another: each room's records are placed in its own scene, and the error frames for its
members wait in the room until its own tick returns them.

Rooms are independent, so the order they are judged in does not matter; a member's own poses
are judged in the order they were sent (round k holds each member's k-th pose).
"""

from __future__ import annotations

import logging
from typing import Protocol

from avatars.pose_batch import Floor, Judged, judge
from protocol.quantise import Vec3mm
from rooms.pose_queue import PoseRound

log = logging.getLogger(__name__)


class DeskRoom(Protocol):
    """What the desk needs of a room (:class:`rooms.room.Room` has it)."""

    @property
    def floor(self) -> Floor: ...

    def waiting_poses(self) -> list[PoseRound]: ...

    def pose_inputs(
        self, batch: PoseRound
    ) -> tuple[PoseRound, list[Vec3mm], list[Vec3mm | None]]: ...

    def apply_poses(self, batch: PoseRound, judged: Judged) -> None: ...


class PoseDesk:
    def __init__(self) -> None:
        self._rooms: dict[int, DeskRoom] = {}  # by id(): rooms are not hashable by value
        # Rooms with poses waiting since the last settle: the rest of a wave's rooms, ticking
        # after the first, then cost the desk nothing.
        self._waiting: dict[int, DeskRoom] = {}
        # What the benchmarks report: judge() calls, the poses in them, the largest batch.
        self.batches = 0
        self.judged = 0
        self.largest = 0

    def enrol(self, room: DeskRoom) -> None:
        self._rooms[id(room)] = room

    def leave(self, room: DeskRoom) -> None:
        self._rooms.pop(id(room), None)
        self._waiting.pop(id(room), None)

    def mark(self, room: DeskRoom) -> None:
        """``room`` has a pose waiting (said when its first one since the last settle came)."""
        if id(room) in self._rooms:
            self._waiting[id(room)] = room

    def __len__(self) -> int:
        return len(self._rooms)

    def settle(self) -> None:
        """Judge the poses waiting in every enrolled room."""
        rooms, self._waiting = self._waiting, {}
        waiting = [(room, room.waiting_poses()) for room in rooms.values()]
        waiting = [(room, rounds) for room, rounds in waiting if rounds]
        k = 0
        while waiting:
            by_floor: dict[str, list[tuple[DeskRoom, PoseRound]]] = {}
            for room, rounds in waiting:
                by_floor.setdefault(room.floor.layout.name, []).append((room, rounds[k]))
            for parts in by_floor.values():
                self._judge(parts)
            k += 1
            waiting = [(room, rounds) for room, rounds in waiting if k < len(rounds)]

    def _judge(self, parts: list[tuple[DeskRoom, PoseRound]]) -> None:
        batches: list[tuple[DeskRoom, PoseRound]] = []
        current: list[Vec3mm] = []
        seats: list[Vec3mm | None] = []
        for room, batch in parts:
            try:
                live, heads, seated = room.pose_inputs(batch)
            except Exception:
                log.exception("a room's waiting poses could not be read; dropped")
                continue
            if live.members:
                batches.append((room, live))
                current += heads
                seats += seated
        if not batches:
            return
        floor = batches[0][0].floor
        judged = judge(floor, b"".join(b.records for _, b in batches), current, seats)
        self.batches += 1
        self.judged += len(current)
        self.largest = max(self.largest, len(current))
        at = 0
        for room, batch in batches:
            n = len(batch.members)
            try:
                room.apply_poses(batch, judged.part(at, at + n))
            except Exception:
                # Judged in another room's tick: a defect in this one must not stop that one.
                log.exception("a room's poses could not be placed; dropped")
            at += n
