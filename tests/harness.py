"""Drive a pure Room in tests: members as inboxes, time as a number the test advances."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from avatars.expertise import default_expertise
from avatars.local_brain import LocalBrain
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.codes import CloseCode
from protocol.messages import Direction
from rooms.audit import AuditEvent
from rooms.dispatch import dispatch
from rooms.interest import InterestPolicy
from rooms.limits import RoomLimits
from rooms.members import Grant
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    InviteOutput,
    MediaOutput,
    Output,
    PageCancel,
    PageRequest,
    RevokeInvite,
)
from rooms.roles import Role
from rooms.room import Room
from rooms.voice import VoiceRules
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
        voice: VoiceRules | None = None,
    ) -> None:
        self.room = Room(
            "r1",
            load_layout(layout),
            tick_hz=tick_hz,
            limits=limits,
            interest=interest,
            voice=voice,
        )
        self.now = 1_000.0
        self.inbox: dict[int, Inbox] = defaultdict(Inbox)
        self.encodings = 0
        self.audit: list[AuditEvent] = []
        # What the shell would do: answer consults from the local brain at once (or hold
        # them in ``consults`` when ``answer_at_once`` is off), and keep the rest for the test.
        self.brain = LocalBrain(default_expertise().knowledge)
        self.answer_at_once = True
        self.consults: list[Consult] = []
        self.pages: list[PageRequest] = []
        self.cancelled: list[str] = []
        self.checks: list[CheckFactor] = []
        self.fetches: list[FetchPortfolio] = []
        self.invites: list[InviteOutput] = []

    def deliver(self, outputs: list[Output]) -> list[Output]:
        dispatch(outputs, self)
        return outputs

    def on_frame(self, out: Frame) -> None:
        msg = decode(out.data, Direction.SERVER)
        if isinstance(msg, m.Snapshot | m.Delta):
            self.encodings += 1
        for member in out.to:
            self.inbox[member].frames.append(msg)

    def on_close(self, out: Close) -> None:
        self.inbox[out.member].closed = out.code

    def on_audit(self, out: Audit) -> None:
        self.audit.append(out.event)

    def on_consult(self, out: Consult) -> None:
        if self.answer_at_once:
            self.answer(out)
        else:
            self.consults.append(out)

    def on_page_request(self, out: PageRequest) -> None:
        self.pages.append(out)

    def on_page_cancel(self, out: PageCancel) -> None:
        self.cancelled.append(out.id)

    def on_check_factor(self, out: CheckFactor) -> None:
        self.checks.append(out)

    def on_fetch_portfolio(self, out: FetchPortfolio) -> None:
        self.fetches.append(out)

    def on_invite(self, out: InviteOutput) -> None:
        """Kept for the test; a revocation is taken at once, as by a store that answers."""
        self.invites.append(out)
        if isinstance(out, RevokeInvite):
            self.deliver(self.room.invite_revoked(out, self.now))

    def on_media(self, out: MediaOutput) -> None:
        """Ignored: no peers, voice or recorder here; the tests (tests/rooms/test_media_core.py)
        read media outputs from what ``deliver`` returns."""

    def answer(self, consult: Consult) -> list[Output]:
        draft = self.brain.draft(consult.brief)
        return self.deliver(self.room.answered(consult.ticket, draft, self.now))

    def actions(self, name: str) -> list[AuditEvent]:
        return [e for e in self.audit if e.action == name]

    def connect(
        self,
        role: Role = Role.CUSTOMER,
        subject: str = "u",
        *,
        risk: int | None = None,
        language: str | None = None,
    ) -> int:
        grant = Grant(subject, "r1", role, risk=risk, language=language)
        return self.room.connect(grant, self.now)

    def send(self, member: int, message: m.Message | bytes | str) -> list[Output]:
        data = encode(message) if isinstance(message, m.Message) else message
        return self.deliver(self.room.receive(member, data, self.now))

    def join(
        self,
        role: Role = Role.CUSTOMER,
        name: str = "Ann",
        since: int | None = None,
        *,
        risk: int | None = None,
        language: str | None = None,
    ) -> int:
        member = self.connect(role, subject=name, risk=risk, language=language)
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
