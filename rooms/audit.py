"""Audit events: what a room reports for compliance, and the keyed chain that keeps them.

The room (pure) emits :class:`AuditEvent` outputs; the shell appends them to an
:class:`AuditLog`. Each entry carries the MAC of the entry before it and its own MAC, an
HMAC-SHA256 under the audit key (never the token key): removing, reordering or editing any entry
breaks the chain from there on, and without the key nobody can write a chain that verifies, so
an edited log re-hashed with plain SHA-256 is caught too.

A chain alone cannot tell a whole log from one cut short at the end, or from one begun again
after its store lost it. So the shell also writes *checkpoints* somewhere else: the entry count,
the MAC of the last entry and the time, signed with the same key. :func:`verify` holds the
chain to every checkpoint: fewer entries than one vouches for is a truncation, a different entry
where one points is a rewrite, and a checkpoint that does not carry the key's signature is a
forgery.

Events hold who, where, what and the outcome, never secrets or message bodies: a chat line is
recorded by its sequence number and the SHA-256 of its text, which proves a transcript without
the log holding it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

GENESIS = "0" * 64
Detail = Mapping[str, str | int | bool]
# Domain separation: an entry's MAC can never pass for a checkpoint's signature, or back.
_CHECKPOINT_TAG = b"wealthroom-audit-checkpoint\n"

Problem = Literal[
    "",
    "unreadable",  # a line or stream entry that is not a JSON object
    "order",  # numbered or linked out of place: an entry removed, inserted or moved
    "edited",  # content does not match its MAC
    "rehashed",  # the MAC is a plain SHA-256: rewritten by someone without the key
    "forged-checkpoint",  # a checkpoint without the key's signature
    "truncated",  # fewer entries than a checkpoint vouches for
    "rewritten",  # the entry a checkpoint points at is another one
    "lost",  # the chain was begun again after its store lost it (Redis)
    "no-checkpoints",  # entries, but nothing outside them to hold them to
]


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: float  # Unix seconds
    room: str
    actor: str  # the token's subject, or "server"
    role: str
    action: str  # e.g. member.join, member.leave, member.remove, permission.denied, chat.post
    outcome: str  # ok, denied, closed, ...
    detail: Detail = field(default_factory=dict)


class AuditLog(Protocol):
    """Append-only. Implementations: :class:`MemoryAuditLog`, ``server.audit_file.FileAuditLog``,
    ``server.cluster.redis_audit.BufferedAuditLog``."""

    def append(self, event: AuditEvent) -> dict[str, Any]: ...


def iso_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")


def record_for(event: AuditEvent) -> dict[str, Any]:
    """The event's fields as an entry holds them, before it has a place in a chain."""
    return {
        "at": iso_time(event.at),
        "room": event.room,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "outcome": event.outcome,
        "detail": dict(event.detail),
    }


def entry_for(event: AuditEvent, index: int, prev: str, key: bytes) -> dict[str, Any]:
    """The chained record for ``event``: its place, its fields, the MAC before it, its MAC."""
    entry: dict[str, Any] = {"n": index, **record_for(event), "prev": prev}
    entry["mac"] = entry_mac(entry, key)
    return entry


def _canonical(body: Mapping[str, Any], without: str) -> bytes:
    fields = {k: v for k, v in body.items() if k != without}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_mac(entry: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _canonical(entry, "mac"), hashlib.sha256).hexdigest()


def checkpoint_for(
    count: int,
    head: str,
    at: float,
    key: bytes,
    *,
    room: str | None = None,
    born: str | None = None,
) -> dict[str, Any]:
    """A signed statement that the chain (of ``room``, where there is one per room; ``born``:
    where its store says it began) held ``count`` entries, the last with MAC ``head``, at
    time ``at``."""
    cp: dict[str, Any] = {"n": count, "head": head, "at": iso_time(at)}
    if room is not None:
        cp["room"] = room
    if born is not None:
        cp["born"] = born
    cp["sig"] = _checkpoint_sig(cp, key)
    return cp


def _checkpoint_sig(cp: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, _CHECKPOINT_TAG + _canonical(cp, "sig"), hashlib.sha256).hexdigest()


def checkpoint_sound(cp: Mapping[str, Any] | None, key: bytes, *, room: str | None = None) -> bool:
    if cp is None or not isinstance(cp.get("n"), int) or not isinstance(cp.get("head"), str):
        return False
    if cp.get("room") != room:
        return False  # a sound checkpoint of another room's chain says nothing of this one
    return hmac.compare_digest(str(cp.get("sig", "")), _checkpoint_sig(cp, key))


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int  # entries checked and found sound
    first_broken: int | None = None  # 0-based index of the first bad entry
    reason: str = ""
    problem: Problem = ""
    checkpoints: int = 0  # sound checkpoints the chain was held to
    covered: int = 0  # entries the latest checkpoint vouches for


def verify(
    entries: Iterable[Mapping[str, Any] | None],
    key: bytes,
    checkpoints: Iterable[Mapping[str, Any] | None] | None = None,
    *,
    room: str | None = None,
) -> Verdict:
    """Check a chain under ``key``; ``None`` stands for a line that could not be parsed.

    With ``checkpoints`` (a list, maybe empty), the chain is also held to each of them, and a
    chain with entries but no checkpoint fails: nothing then rules out a cut at its end.
    """
    wanted: dict[int, list[Mapping[str, Any]]] = {}
    sound = 0
    for i, cp in enumerate(checkpoints or ()):
        if not checkpoint_sound(cp, key, room=room):
            return Verdict(
                False,
                0,
                None,
                f"checkpoint {i} is not signed with the audit key: forged or altered",
                "forged-checkpoint",
            )
        assert cp is not None
        wanted.setdefault(int(cp["n"]), []).append(cp)
        sound += 1
    covered = max(wanted, default=0)

    def broken(index: int, count: int, reason: str, problem: Problem) -> Verdict:
        return Verdict(False, count, index, reason, problem, sound, covered)

    prev = GENESIS
    count = 0
    for index, entry in enumerate(entries):
        if entry is None:
            return broken(index, count, "not a JSON object", "unreadable")
        if entry.get("n") != index:
            return broken(index, count, f"numbered {entry.get('n')!r}, expected {index}", "order")
        if entry.get("prev") != prev:
            return broken(index, count, "does not follow the entry before it", "order")
        mac = str(entry.get("mac", ""))
        if not hmac.compare_digest(mac, entry_mac(entry, key)):
            if mac == hashlib.sha256(_canonical(entry, "mac")).hexdigest():
                return broken(index, count, "re-hashed without the audit key", "rehashed")
            return broken(index, count, "content does not match its MAC", "edited")
        prev = mac
        count += 1
        for cp in wanted.get(count, ()):
            if cp["head"] != mac:
                return broken(
                    index,
                    count - 1,
                    f"not the entry the checkpoint of {cp.get('at')} vouches for:"
                    " the chain was cut here and written again",
                    "rewritten",
                )
    if covered > count:
        at = wanted[covered][0].get("at")
        return broken(
            count,
            count,
            f"the checkpoint of {at} vouches for {covered} entries, only {count} are here:"
            " the log was truncated or its last entries deleted",
            "truncated",
        )
    if checkpoints is not None and count and not sound:
        reason = "no checkpoints: a cut at the end cannot be ruled out"
        return Verdict(False, count, None, reason, "no-checkpoints")
    return Verdict(True, count, None, "", "", sound, covered)


class MemoryAuditLog:
    """The embedded default's log when no file is configured, and the tests': the same chain,
    kept in memory (so a key that lives as long as the process is enough)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self.entries: list[dict[str, Any]] = []

    def append(self, event: AuditEvent) -> dict[str, Any]:
        prev = self.entries[-1]["mac"] if self.entries else GENESIS
        entry = entry_for(event, len(self.entries), prev, self._key)
        self.entries.append(entry)
        return entry


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
