"""Binary poses waiting for the tick: one packed record per pose in one buffer.

The read path does no more for a joined member's binary pose than check the frame's shape and
copy its 31 bytes here; :func:`avatars.pose_batch.judge` then checks and places them all at
once. A member's poses keep their order: when one member sent several since the last tick
(bunched by the network), the k-th of each member's is judged in round k, so the walking budget
sees them in the order they were sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from avatars.pose_batch import HAND_PAD, RECORD


@dataclass(frozen=True, slots=True)
class PoseRound:
    """Poses of distinct members, in arrival order: ``records`` holds one record each."""

    members: list[int]
    times: list[float]
    quiet: list[bool]  # from the data channel: a refused step there is not answered
    records: bytes

    def record(self, i: int) -> bytes:
        return self.records[i * RECORD : (i + 1) * RECORD]


@dataclass(slots=True)
class PoseQueue:
    _records: bytearray = field(default_factory=bytearray)
    _members: list[int] = field(default_factory=list)
    _times: list[float] = field(default_factory=list)
    _quiet: list[bool] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def add(
        self, member: int, mode: int, parts: bytes | memoryview, now: float, quiet: bool
    ) -> None:
        """A pose: its hand mode and its parts as they stand in the frame (10 or 30 bytes)."""
        self._records.append(mode)
        self._records += parts
        if not mode:
            self._records += HAND_PAD
        self._members.append(member)
        self._times.append(now)
        self._quiet.append(quiet)

    def take(self, member: int | None = None) -> list[PoseRound]:
        """Every waiting pose (or one member's), removed from the queue, round by round."""
        members, times, quiet, records = self._members, self._times, self._quiet, self._records
        if member is None:
            self._members, self._times, self._quiet = [], [], []
            self._records = bytearray()
            if len(set(members)) == len(members):
                # The usual tick: one pose per member, the buffer as it stands.
                return [PoseRound(members, times, quiet, bytes(records))] if members else []
            picked = list(range(len(members)))
        else:
            picked = [i for i, who in enumerate(members) if who == member]
            keep = [i for i, who in enumerate(members) if who != member]
            self._members = [members[i] for i in keep]
            self._times = [times[i] for i in keep]
            self._quiet = [quiet[i] for i in keep]
            self._records = bytearray(b"".join(_slice(records, i) for i in keep))
        rounds: list[list[int]] = []
        seen: dict[int, int] = {}
        for i in picked:
            k = seen.get(members[i], 0)
            seen[members[i]] = k + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(i)
        return [
            PoseRound(
                [members[i] for i in chosen],
                [times[i] for i in chosen],
                [quiet[i] for i in chosen],
                b"".join(_slice(records, i) for i in chosen),
            )
            for chosen in rounds
        ]


def _slice(records: bytearray, i: int) -> bytes:
    return bytes(records[i * RECORD : (i + 1) * RECORD])
