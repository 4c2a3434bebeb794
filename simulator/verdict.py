"""What the simulator judges: reliable delivery, converged scenes, expectations. Pure.

* Every bot keeps a :class:`Ledger` of the sequenced (reliable) messages it received, connection
  by connection. From its first arrival in a visit, the sequence numbers must run on without a
  gap, a repeat or a step back, across reconnects (``join.since`` replays exactly the gap).
  Screens showing something when a member arrives come as a catch-up before its own ``joined``
  (their sequence numbers are older); those are allowed, once each, and kept apart.
* Two bots that received the same sequence number received the same message.
* At a checkpoint every bot's replica hashes like the server's scene (or, without a server
  view, like every other bot's), and every bot has seen the newest sequence number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

KINDS = ("reliable", "sync", "expectation", "error", "motion", "connection", "step")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # one of KINDS
    message: str
    step: int | None = None  # 1-based step index, when a step is to blame

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

    def add(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return counts
