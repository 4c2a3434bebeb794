"""Drive a pure Room in tests: members as inboxes, time as a number the test advances."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.codes import CloseCode
from protocol.messages import Direction
from rooms.interest import InterestPolicy
from rooms.limits import RoomLimits
from rooms.members import Grant
from rooms.outputs import Close, Frame, Output
from rooms.roles import Role
from rooms.room import Room
from scenes.layout import load_layout
from scenes.replica import Replica


@dataclass
class Inbox:
    frames: list[Any] = field(default_factory=list)
    closed: CloseCode | None = None
    replica: Replica = field(default_factory=Replica)

    def of(self, cls: type[Any]) -> list[Any]:
        return [f for f in self.frames if isinstance(f, cls)]

    @property
    def errors(self) -> list[m.Error]:
        return self.of(m.Error)

    @property
    def reliable(self) -> list[Any]:
        return [f for f in self.frames if type(f).RELIABLE]


class Harness:
    def __init__(
        self,
        *,
        limits: RoomLimits | None = None,
        tick_hz: int = 30,
        layout: str = "private_room",
        interest: InterestPolicy | None = None,
    ) -> None:
        self.room = Room(
            "r1", load_layout(layout), tick_hz=tick_hz, limits=limits, interest=interest
        )
        self.now = 1_000.0
        self.inbox: dict[int, Inbox] = defaultdict(Inbox)
        self.encodings = 0

    def deliver(self, outputs: list[Output]) -> list[Output]:
        for out in outputs:
            if isinstance(out, Frame):
                msg = decode(out.data, Direction.SERVER)
                if isinstance(msg, m.Snapshot | m.Delta):
                    self.encodings += 1
                for member in out.to:
                    self.inbox[member].frames.append(msg)
            elif isinstance(out, Close):
                self.inbox[out.member].closed = out.code
        return outputs

    def connect(self, role: Role = Role.CUSTOMER, subject: str = "u") -> int:
        return self.room.connect(Grant(subject, "r1", role), self.now)

    def send(self, member: int, message: m.Message | bytes | str) -> list[Output]:
        data = encode(message) if isinstance(message, m.Message) else message
        return self.deliver(self.room.receive(member, data, self.now))

    def join(self, role: Role = Role.CUSTOMER, name: str = "Ann", since: int | None = None) -> int:
        member = self.connect(role, subject=name)
        self.send(member, m.Hello(1))
        self.send(member, m.Join(name, since))
        return member

    def tick(self, dt: float = 1 / 30) -> list[Output]:
        self.now += dt
        return self.deliver(self.room.tick(self.now))

    def sync(self, member: int) -> None:
        """Apply the member's state frames to its replica and ack the newest, as a client does."""
        inbox = self.inbox[member]
        for frame in inbox.frames:
            if isinstance(frame, m.Snapshot | m.Delta) and inbox.replica.apply(frame):
                self.send(member, m.Ack(frame.tick))
        inbox.frames = [f for f in inbox.frames if not isinstance(f, m.Snapshot | m.Delta)]
