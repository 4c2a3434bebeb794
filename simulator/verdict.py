"""What the simulator judges: reliable delivery, converged scenes, expectations. Pure.

* Every bot keeps a :class:`Ledger` of the sequenced (reliable) messages it received, connection
  by connection. From its first arrival in a visit, the sequence numbers must run on without a
  gap, a repeat or a step back, across reconnects (``join.since`` replays exactly the gap).
  Screens showing something when a member arrives come as a catch-up before its own ``joined``
  (their sequence numbers are older); those are allowed, once each, and kept apart.
* Two bots that received the same sequence number received the same message.
* At a checkpoint every bot's replica hashes like the server's scene (or, without a server
  view, like every other bot's), and every bot has seen the newest sequence number.
* Every thin-client bot received the view the server draws for it (enough pictures, the first
  one soon, no long freeze), and heard the other thin bots that speak while both were
  connected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

KINDS = ("reliable", "sync", "expectation", "error", "motion", "connection", "step", "media")

# What a thin client's view (640x360 at 15 fps, drawn by the server's software renderer) must
# do for the media check to hold:
# - at least MIN_VIEW_FRAMES pictures over the bot's visit: one second's worth, so that even a
#   short scenario shows the picture flows rather than a single keyframe getting through;
# - the first picture within FIRST_FRAME_LIMIT_S of asking for media: ICE, DTLS and the first
#   keyframe take one or two seconds on a loaded two-core machine; the server itself gives up
#   on a peer that has not connected after 15 s, so 10 s still tells "slow" from "never";
# - no freeze over MAX_FREEZE_S: a frame is due every 67 ms; the renderer skips frames rather
#   than fall behind, so a few hundred milliseconds without a picture happen under load, while
#   a second of frozen picture is what a person wearing the headset notices as broken.
MIN_VIEW_FRAMES = 15
FIRST_FRAME_LIMIT_S = 10.0
MAX_FREEZE_S = 1.0
STUTTER_S = 0.5  # gaps counted (not judged) as freezes in the report, as RtcMedia counts them
# Two thin bots connected together this long must have heard each other's microphones: a new
# source takes one renegotiation (an offer and its answer) to reach the others.
HEARING_OVERLAP_S = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # one of KINDS
    message: str
    step: int | None = None  # 1-based step index, when a step is to blame
    # A limit on how fast (a freeze, a slow first picture): a QA run fails on it, as a person
    # would notice it; a machine busy with other work can miss it while nothing is wrong.
    timing: bool = False

    def __str__(self) -> str:
        where = f"step {self.step}: " if self.step is not None else ""
        return f"[{self.kind}] {where}{self.message}"


class Arrival(NamedTuple):
    seq: int
    type: str
    visit: int
    connection: int
    catchup: bool


@dataclass(slots=True)
class Ledger:
    """One bot's sequenced messages in arrival order, tagged with visit and connection."""

    arrivals: list[Arrival] = field(default_factory=list)
    visit: int = 0
    connection: int = 0
    _since: int | None = None
    _own_joined: bool = False

    def begin_visit(self) -> None:
        """A fresh arrival (not a resume): what happened while away is not owed to us."""
        self.visit += 1

    def begin_connection(self, since: int | None) -> None:
        self.connection += 1
        self._since = since
        self._own_joined = False

    def record(self, msg_type: str, seq: int, *, own_join: bool = False) -> Arrival:
        since = self._since
        early = not self._own_joined
        # Catch-up: a screen's current content, sent ahead of our own "joined" with the seq it
        # was put up under; older than anything the stream owes us.
        catchup = early and msg_type == "presented" and (since is None or seq <= since)
        if own_join:
            self._own_joined = True
        arrival = Arrival(seq, msg_type, self.visit, self.connection, catchup)
        self.arrivals.append(arrival)
        return arrival

    @property
    def last_seq(self) -> int | None:
        """Newest sequence number of the stream: what ``join.since`` resumes from."""
        stream = [a.seq for a in self.arrivals if not a.catchup]
        return stream[-1] if stream else None

    @property
    def received(self) -> int:
        return sum(1 for a in self.arrivals if not a.catchup)


def check_ledger(bot: str, ledger: Ledger) -> list[Finding]:
    """Exactly once and in order, visit by visit, from the first arrival of each."""
    findings: list[Finding] = []
    visits: dict[int, list[Arrival]] = {}
    for a in ledger.arrivals:
        visits.setdefault(a.visit, []).append(a)
    for arrivals in visits.values():
        findings += _check_visit(bot, arrivals)
    return findings


def _check_visit(bot: str, arrivals: list[Arrival]) -> list[Finding]:
    out: list[Finding] = []
    seen: set[int] = set()
    expected: int | None = None
    shown: dict[tuple[int, int], int] = {}
    for a in arrivals:
        if a.catchup:
            key = (a.connection, a.seq)
            shown[key] = shown.get(key, 0) + 1
            if shown[key] == 2:
                out.append(
                    Finding("reliable", f"{bot}: the screen catch-up seq {a.seq} came twice")
                )
            continue
        if expected is None:
            expected = a.seq + 1
        elif a.seq == expected:
            expected += 1
        elif a.seq in seen:
            out.append(
                Finding(
                    "reliable",
                    f"{bot}: seq {a.seq} ({a.type}) arrived twice (connection {a.connection})",
                )
            )
            continue
        elif a.seq < expected:
            out.append(
                Finding(
                    "reliable",
                    f"{bot}: seq {a.seq} ({a.type}) arrived out of order, after {expected - 1}",
                )
            )
            continue
        else:
            missing = _span(expected, a.seq - 1)
            out.append(
                Finding(
                    "reliable",
                    f"{bot}: missed seq {missing} (got {expected - 1}, then {a.seq} {a.type} "
                    f"on connection {a.connection})",
                )
            )
            expected = a.seq + 1
        seen.add(a.seq)
    return out


def _span(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def check_agreement(received: Mapping[str, Mapping[int, Any]]) -> list[Finding]:
    """Every bot that received a sequence number received the same message under it."""
    first: dict[int, tuple[str, Any]] = {}
    out: list[Finding] = []
    for bot, messages in received.items():
        for seq, msg in messages.items():
            if seq not in first:
                first[seq] = (bot, msg)
            elif first[seq][1] != msg:
                other = first[seq][0]
                out.append(
                    Finding("reliable", f"seq {seq} differs between {other} and {bot}: {msg!r}")
                )
    return out


@dataclass(frozen=True, slots=True)
class View:
    """A scene as one party holds it: digest, per-entity hashes, newest reliable seq."""

    digest: str
    entities: Mapping[int, str]
    seq: int | None
    names: Mapping[int, str] = field(default_factory=dict)  # entity id -> what it is, for text
    unacked: tuple[int, ...] = ()  # server side: members whose ack is older than the scene


def compare_views(server: View | None, bots: Mapping[str, View]) -> list[str]:
    """Why the views are not in agreement yet; empty when they are."""
    problems: list[str] = []
    if not bots:
        return problems
    reference = server
    ref_name = "the server"
    if reference is None:
        ref_name, reference = next(iter(bots.items()))
    newest = reference.seq if server is not None else max((v.seq or 0) for v in bots.values())
    for name, view in bots.items():
        if view.digest != reference.digest:
            problems.append(
                f"{name}'s scene differs from {ref_name}'s: {entity_diff(reference, view)}"
            )
        if newest is not None and (view.seq or 0) < newest:
            problems.append(f"{name} has seen up to seq {view.seq}; the room is at {newest}")
    return problems


def entity_diff(reference: View, view: View, limit: int = 4) -> str:
    parts: list[str] = []
    names = {**view.names, **reference.names}
    for eid in sorted(set(reference.entities) | set(view.entities)):
        a, b = reference.entities.get(eid), view.entities.get(eid)
        what = names.get(eid, f"entity {eid}")
        if a == b:
            continue
        if b is None:
            parts.append(f"{what} missing")
        elif a is None:
            parts.append(f"{what} should not be there")
        else:
            parts.append(f"{what} differs")
    if not parts:
        return "digest differs"
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


@dataclass(slots=True)
class Verdict:
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def faults(self) -> list[Finding]:
        """The findings that are not about speed: what must hold however busy the machine."""
        return [f for f in self.findings if not f.timing]

    def add(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return counts


@dataclass(frozen=True, slots=True)
class MediaSession:
    """What one thin bot's WebRTC peer received over one connection (times in run seconds)."""

    connection: int
    member: int | None
    opened_at: float
    ended_at: float
    view_frames: int
    first_frame_s: float | None  # from asking for media to the first picture of the view
    longest_freeze_s: float  # between pictures, or from the last picture to the end
    freezes: int  # gaps over STUTTER_S
    view_sizes: tuple[tuple[int, int], ...] = ()
    audio_frames: Mapping[str, int] = field(default_factory=dict)  # source id -> frames
    loud_frames: Mapping[str, int] = field(default_factory=dict)
    poses_on_channel: int = 0
    speaks: bool = False

    @property
    def connected_at(self) -> float | None:
        """When its first picture arrived: the peer was up."""
        return None if self.first_frame_s is None else self.opened_at + self.first_frame_s


def check_media(bot: str, sessions: Sequence[MediaSession]) -> list[Finding]:
    """The thin bot's view arrived, soon enough, often enough and without a long freeze."""
    out: list[Finding] = []
    if not sessions:
        return out
    total = sum(s.view_frames for s in sessions)
    if total < MIN_VIEW_FRAMES:
        out.append(
            Finding(
                "media",
                f"{bot} received {total} pictures of its view; expected at least {MIN_VIEW_FRAMES}",
            )
        )
    for s in sessions:
        lasted = s.ended_at - s.opened_at
        where = f"on connection {s.connection}" if len(sessions) > 1 else ""
        if s.first_frame_s is None:
            if lasted >= FIRST_FRAME_LIMIT_S:
                out.append(
                    Finding("media", _join(f"{bot} never saw its view", where, f"({lasted:.1f} s)"))
                )
            continue
        if s.first_frame_s > FIRST_FRAME_LIMIT_S:
            out.append(
                Finding(
                    "media",
                    _join(
                        f"{bot}'s first picture came {s.first_frame_s:.1f} s after asking",
                        where,
                        f"(limit {FIRST_FRAME_LIMIT_S:g} s)",
                    ),
                    timing=True,
                )
            )
        if s.longest_freeze_s > MAX_FREEZE_S:
            out.append(
                Finding(
                    "media",
                    _join(
                        f"{bot}'s view froze for {s.longest_freeze_s:.2f} s",
                        where,
                        f"(limit {MAX_FREEZE_S:g} s)",
                    ),
                    timing=True,
                )
            )
    return out


def check_hearing(sessions: Mapping[str, Sequence[MediaSession]]) -> list[Finding]:
    """A thin bot heard every speaking thin bot it shared the room with for long enough."""
    out: list[Finding] = []
    for listener, mine in sessions.items():
        for speaker, theirs in sessions.items():
            if speaker == listener:
                continue
            for a in mine:
                for b in theirs:
                    if not b.speaks or b.member is None:
                        continue
                    if a.connected_at is None or b.connected_at is None:
                        continue
                    both = min(a.ended_at, b.ended_at) - max(a.connected_at, b.connected_at)
                    if both >= HEARING_OVERLAP_S and not a.audio_frames.get(f"m{b.member}.a"):
                        out.append(
                            Finding(
                                "media",
                                f"{listener} never heard {speaker}'s microphone in "
                                f"{both:.1f} s connected together",
                            )
                        )
    return out


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
