"""A headless visitor: what it has seen, what it sends, whatever carries its frames.

A bot is the same object over a real WebSocket (:class:`simulator.sockets.SocketLink`) and over
an in-process link to a pure room (:class:`simulator.inprocess_world.VirtualLink`): both expose
the observable surface of :class:`simulator.client.RoomClient` (``replica``, ``reliable``,
``direct``, ``errors``, ``send``) and call ``listener`` with every message after their own
bookkeeping. The bot keeps what must outlive a connection: the reliable ledger, every message
by sequence number, its errors and closes, its motion and what it sent when.

A thin-client bot also has a WebRTC peer (:class:`simulator.media.RtcMedia`, set up by the
runner after each arrival): once its data channel is open, its poses go there instead of the
WebSocket, and what the peer received is kept, connection by connection, in ``media_sessions``.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from avatars.pose import quantise_pose
from protocol import messages as m
from protocol.pose import AvatarPose
from protocol.pose_frame import PoseFrame
from protocol.quantise import mm_to_pos, unpack_quat
from scenes.replica import Replica
from scenes.scene import state_digest
from simulator.motion import Motion, yaw_of
from simulator.scenario import VR_HZ, BotSpec, Condition
from simulator.verdict import Ledger, MediaSession, View

if TYPE_CHECKING:
    from simulator.media import RtcMedia

DESKTOP_HZ = 20.0  # a desktop client sends its pose while the user drags the view or walks
SENT_MEMORY = 512  # poses remembered for latency: ~6 s at 90 Hz
AMBIGUOUS = -1.0


class Link(Protocol):
    """One connection, to a room or to the advisor console."""

    replica: Replica
    welcome: m.Welcome | None
    reliable: list[Any]
    direct: list[Any]
    errors: list[m.Error]
    bytes_in: int
    bytes_out: int
    close_code: int | None
    close_reason: str | None
    listener: Callable[[Any], None] | None

    @property
    def closed(self) -> bool: ...

    async def send(self, message: m.Message) -> None: ...


class Hub(Protocol):
    """What a bot asks of the world it lives in."""

    def clock(self) -> float: ...

    def bot_of_member(self, member: int) -> Bot | None: ...

    def latency(self, seconds: float) -> None: ...

    def changed(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Close:
    at: float
    code: int | None
    reason: str
    expected: bool


class Bot:
    def __init__(self, spec: BotSpec, hub: Hub, rng: random.Random, *, subject: str) -> None:
        self.spec = spec
        self.name: str = spec.name
        self.hub = hub
        self.rng = rng
        self.subject = subject
        self.hz = (spec.hz or rng.uniform(*VR_HZ)) if spec.vr else DESKTOP_HZ
        self.link: Link | None = None
        self.console: Link | None = None
        self.ledger = Ledger()
        self.history: list[Any] = []  # every sequenced message kept, catch-ups included
        self.messages: dict[int, Any] = {}  # seq -> message, for agreement between bots
        self.errors: list[tuple[float, m.Error]] = []
        self.closes: list[Close] = []
        self.motion: Motion | None = None
        self._then: list[Callable[[Motion, float], object]] = []  # once the body is anchored
        self.holding = False
        self.connections = 0
        self.poses_sent = 0
        self.bytes_out = 0  # bytes sent on connections that have closed
        self.bytes_in_done = 0  # bytes received on connections that have closed
        self.max_speed = 0.0  # metres per second between consecutive poses sent
        self.media: RtcMedia | None = None  # a thin bot's peer on its current connection
        self.media_sessions: list[MediaSession] = []  # what each peer received, when it ended
        self.look = outfit(rng)
        self.join_error: str | None = None
        self.lose: set[int] = set()  # fault injection: drop the n-th reliable message received
        self._reliable_count = 0
        self._own_joined = False
        self._closing_expected = False
        self._acked = -1
        self._last_packed: bytes | None = None
        self._last_head: tuple[float, float, float] | None = None
        self._sent: OrderedDict[bytes, float] = OrderedDict()
        self._seen_x: dict[int, bytes] = {}

    # --- connections -----------------------------------------------------------------------

    def attach(self, link: Link, *, since: int | None, new_visit: bool) -> None:
        """Take over a fresh connection (already welcomed, perhaps already joined)."""
        if new_visit:
            self.ledger.begin_visit()
        self.ledger.begin_connection(since)
        self.connections += 1
        self.link = link
        self.motion = None  # anchored again where the room puts us
        self._own_joined = False
        self._closing_expected = False
        self._acked = -1
        self._seen_x.clear()
        self._last_packed = None
        self._last_head = None
        for msg in list(link.reliable):
            self._on_reliable(msg)
        for error in list(link.errors):
            self.errors.append((self.hub.clock(), error))
        link.listener = self.on_message
        self.hub.changed()

    def expect_close(self) -> None:
        self._closing_expected = True

    def detach(self) -> None:
        """The connection is over (we left, dropped it, or the room closed it)."""
        link = self.link
        if link is None:
            return
        self.bytes_in_done += link.bytes_in
        self.bytes_out += link.bytes_out
        self.closes.append(
            Close(
                self.hub.clock(), link.close_code, link.close_reason or "", self._closing_expected
            )
        )
        link.listener = None
        self.link = None
        self.motion = None
        self._then.clear()
        self._own_joined = False

    @property
    def joined(self) -> bool:
        return self.link is not None and not self.link.closed and self._own_joined

    @property
    def member(self) -> int | None:
        link = self.link
        return link.welcome.member if link is not None and link.welcome is not None else None

    @property
    def replica(self) -> Replica | None:
        return self.link.replica if self.link is not None else None

    @property
    def bytes_in(self) -> int:
        return self.bytes_in_done + (self.link.bytes_in if self.link is not None else 0)

    # --- receiving -------------------------------------------------------------------------

    def on_message(self, msg: Any) -> None:
        if isinstance(msg, m.Snapshot | m.Delta):
            self._on_state(msg)
        elif type(msg).RELIABLE:
            self._on_reliable(msg)
        elif isinstance(msg, m.Error):
            self.errors.append((self.hub.clock(), msg))
        self.hub.changed()

    def _on_reliable(self, msg: Any) -> None:
        self._reliable_count += 1
        if self._reliable_count in self.lose:
            return  # the fault under test: as if this bot never got it
        own = isinstance(msg, m.Joined) and msg.member == self.member
        self.ledger.record(msg.TYPE, msg.seq, own_join=own)
        self.history.append(msg)
        self.messages.setdefault(msg.seq, msg)
        if own:
            self._own_joined = True

    def _on_state(self, msg: m.Snapshot | m.Delta) -> None:
        link = self.link
        if link is None or link.replica.tick != msg.tick:
            return  # not applied (stale): nothing new was shown
        now = self.hub.clock()
        me = self.member
        for ent in msg.ents:
            if ent.x is None or self._seen_x.get(ent.i) == ent.x:
                continue
            self._seen_x[ent.i] = ent.x
            owner = ent.m if ent.m is not None else _owner(link.replica, ent.i)
            if owner is None or owner == me:
                continue
            sender = self.hub.bot_of_member(owner)
            sent = sender.sent_at(ent.x) if sender is not None else None
            if sent is not None:
                self.hub.latency(now - sent)

    def sent_at(self, packed: bytes) -> float | None:
        sent = self._sent.get(packed)
        return None if sent is None or sent == AMBIGUOUS else sent

    # --- sending ---------------------------------------------------------------------------

    def next_pose(self, now: float) -> bytes | None:
        """The binary pose frame to send at ``now``, or None (not in the room, or a desktop at
        rest). The bot quantises as a browser does and sends the packed record.

        A thin bot whose data channel is open sends the pose there itself (with its ``n``
        counter) and returns None: nothing for the WebSocket.
        """
        link = self.link
        if link is None or link.closed or not self._own_joined or self.spec.role == "observer":
            return None
        if self.motion is None:
            ent = self.own_entity()
            if ent is None or ent.x is None:
                return None
            head = AvatarPose.unpack(ent.x).head
            self.motion = Motion(
                mm_to_pos(head.pos),
                yaw_of(unpack_quat(head.rot)),
                vr=self.spec.vr,
                seated=bool(ent.s),
                rng=random.Random(self.rng.random()),
                now=now,
            )
            if self.holding:
                self.motion.hold(now)
            for do in self._then:
                do(self.motion, now)
            self._then.clear()
        vr = self.spec.vr
        if not vr and not self.motion.busy(now):
            return None
        s = self.motion.pose_at(now)
        ack: int | None = None
        if vr and link.replica.tick > self._acked:
            ack = self._acked = link.replica.tick  # acks ride on poses, as a headset does
        msg = m.Pose(s.p, s.q, 1 if vr else None, s.lh, s.rh, ack)
        packed = quantise_pose(msg).pack()
        if not vr and packed == self._last_packed:
            return None
        if packed != self._last_packed:
            # A pose that comes back later (a look around swings out and back through the
            # same angles) cannot tell a peer which sending it saw: no latency sample for it.
            self._sent[packed] = AMBIGUOUS if packed in self._sent else now
            self._sent.move_to_end(packed)
            if len(self._sent) > SENT_MEMORY:
                self._sent.popitem(last=False)
        self._last_packed = packed
        if self._last_head is not None:
            t0, x0, z0 = self._last_head
            if now > t0:
                speed = ((s.p[0] - x0) ** 2 + (s.p[2] - z0) ** 2) ** 0.5 / (now - t0)
                self.max_speed = max(self.max_speed, speed)
        self._last_head = (now, s.p[0], s.p[2])
        self.poses_sent += 1
        media = self.media
        frame = PoseFrame(packed, ack=ack)
        if media is not None and not media.client.closed and media.send_pose(frame):
            return None
        return frame.encode()

    def move(self, do: Callable[[Motion, float], object], now: float) -> None:
        """Apply ``do`` to the body now, or as soon as the room has placed it."""
        if self.motion is not None:
            do(self.motion, now)
        else:
            self._then.append(do)

    def reanchor(self) -> None:
        """The room moved us (a seat, standing up): start the body again from there."""
        self.motion = None
        self._last_head = None

    def hold(self, now: float, still: bool) -> None:
        self.holding = still
        if self.motion is not None:
            if still:
                self.motion.hold(now)
            else:
                self.motion.release(now)

    # --- what the bot sees -----------------------------------------------------------------

    def own_entity(self) -> m.Ent | None:
        replica, me = self.replica, self.member
        if replica is None or me is None:
            return None
        return replica.by_member(me)

    def pages(self) -> list[m.PageInfo]:
        console = self.console
        if console is None:
            return []
        lists = [d for d in console.direct if isinstance(d, m.Pages)]
        return list(lists[-1].pages) if lists else []

    def accepted(self) -> m.Accepted | None:
        console = self.console
        if console is None:
            return None
        return next((d for d in console.direct if isinstance(d, m.Accepted)), None)

    def sees(self, cond: Condition) -> bool:
        kind, value = cond.kind, cond.value
        ents = list(self.replica.entities.values()) if self.replica is not None else []
        if kind == "expert":
            return any(e.k == "expert" and e.sp == value and e.e != "leaving" for e in ents)
        if kind == "no_expert":
            return not any(e.k == "expert" and value in ("any", e.sp) for e in ents)
        if kind == "member":
            return any(e.k == "avatar" and e.n == value for e in ents)
        if kind == "gone":
            return not any(e.k == "avatar" and e.n == value for e in ents)
        if kind == "handoff":
            return any(isinstance(x, m.Handoff) and x.st == value for x in self.history)
        if kind == "answer":
            return any(isinstance(x, m.Answer) and x.sp == value for x in self.history)
        if kind == "screen":
            shown = any(isinstance(x, m.Presented) and x.title == value for x in self.history)
            return shown and any(e.k == "screen" and e.c for e in ents)
        if kind == "chat":
            return any(isinstance(x, m.ChatPosted) and x.text == value for x in self.history)
        if kind == "page":
            return any(value in ("any", p.sp) for p in self.pages())
        if kind == "seated":
            own = self.own_entity()
            return own is not None and own.s == value
        raise AssertionError(kind)

    def describe(self, cond: Condition) -> str:
        """What the bot does see, for a failed wait."""
        kind = cond.kind
        ents = list(self.replica.entities.values()) if self.replica is not None else []
        if not self.joined and kind != "page":
            return f"{self.name} is not in the room"
        if kind in ("expert", "no_expert"):
            experts = [f"{e.sp} ({e.n}, {e.e})" for e in ents if e.k == "expert"]
            return f"{self.name} sees experts: {', '.join(experts) or 'none'}"
        if kind in ("member", "gone"):
            people = sorted(e.n or "?" for e in ents if e.k == "avatar")
            return f"{self.name} sees: {', '.join(people) or 'nobody'}"
        if kind == "handoff":
            states = [x.st for x in self.history if isinstance(x, m.Handoff)]
            return f"{self.name} saw hand-off states: {', '.join(states) or 'none'}"
        if kind == "answer":
            sps = [x.sp or "concierge" for x in self.history if isinstance(x, m.Answer)]
            return f"{self.name} got answers from: {', '.join(sps) or 'nobody'}"
        if kind == "screen":
            titles = [x.title for x in self.history if isinstance(x, m.Presented)]
            return f"{self.name} saw charts: {', '.join(titles) or 'none'}"
        if kind == "chat":
            lines = sum(isinstance(x, m.ChatPosted) for x in self.history)
            return f"{self.name} got {lines} chat lines"
        if kind == "page":
            pages = [p.sp or "any" for p in self.pages()]
            return f"{self.name}'s console lists pages: {', '.join(pages) or 'none'}"
        own = self.own_entity()
        return f"{self.name} is in seat {own.s if own and own.s else 'none'}"

    def view(self) -> View:
        replica = self.replica or Replica()
        ents = replica.entities
        return View(
            replica.digest(),
            {i: state_digest([e]) for i, e in ents.items()},
            self.ledger.last_seq,
            {i: f"{e.k} {e.n!r}" for i, e in ents.items()},
        )


_TOPS = ("#1f2a44", "#2f3b52", "#5a2a2a", "#2e4a3a", "#3a3a3a", "#6b5b3e", "#24476b", "#7a6f8f")
_SKINS = ("#e0b48f", "#c68e6a", "#8d5a3c", "#f1d2b6")
_HAIR = ("short", "bob", "long", "bun", "curly", "ponytail", "none")
_HAIR_COLOURS = ("#2b211c", "#5a4330", "#161413", "#9a948c")


def outfit(rng: random.Random) -> m.Look:
    """Business clothes at random: snapshots tell the bots apart."""
    return m.Look(
        skin=rng.choice(_SKINS),
        hair=rng.choice(_HAIR),
        hair_color=rng.choice(_HAIR_COLOURS),
        top=rng.choice(_TOPS),
        bottom=rng.choice(_TOPS),
    )


def _owner(replica: Replica, eid: int) -> int | None:
    ent = replica.entities.get(eid)
    return ent.m if ent is not None else None
