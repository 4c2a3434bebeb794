"""Audit events: what a room reports for compliance, and the hash-chained log that keeps them.

The room (pure) emits :class:`AuditEvent` outputs; the shell appends them to an
:class:`AuditLog`. Each entry carries the SHA-256 of the entry before it, so removing,
reordering or editing any entry breaks the chain from there on, and :func:`verify` names the
first broken entry. Events hold who, where, what and the outcome, never secrets or message
bodies: a chat line is recorded by its sequence number and the SHA-256 of its text, which proves
a transcript without the log holding it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

GENESIS = "0" * 64
Detail = Mapping[str, str | int | bool]


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
    """Append-only. Implementations: :class:`MemoryAuditLog`, ``server.audit_file.FileAuditLog``."""

    def append(self, event: AuditEvent) -> dict[str, Any]: ...


def entry_for(event: AuditEvent, index: int, prev: str) -> dict[str, Any]:
    """The chained record for ``event``: its fields, its place, the hash before it, its hash."""
    entry: dict[str, Any] = {
        "n": index,
        "at": datetime.fromtimestamp(event.at, UTC).isoformat(timespec="milliseconds"),
        "room": event.room,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "outcome": event.outcome,
        "detail": dict(event.detail),
        "prev": prev,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def entry_hash(entry: Mapping[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int  # entries checked and found sound
    first_broken: int | None = None  # 0-based index of the first bad entry
    reason: str = ""


def verify(entries: Iterable[Mapping[str, Any] | None]) -> Verdict:
    """Check a chain; ``None`` stands for a line that could not be parsed."""
    prev = GENESIS
    count = 0
    for index, entry in enumerate(entries):
        if entry is None:
            return Verdict(False, count, index, "not a JSON object")
        if entry.get("n") != index:
            return Verdict(False, count, index, f"numbered {entry.get('n')!r}, expected {index}")
        if entry.get("prev") != prev:
            return Verdict(False, count, index, "does not follow the entry before it")
        if entry.get("hash") != entry_hash(entry):
            return Verdict(False, count, index, "content does not match its hash")
        prev = str(entry["hash"])
        count += 1
    return Verdict(True, count)


class MemoryAuditLog:
    """The embedded default's log, and the tests': the same chain, kept in memory."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, event: AuditEvent) -> dict[str, Any]:
        prev = self.entries[-1]["hash"] if self.entries else GENESIS
        entry = entry_for(event, len(self.entries), prev)
        self.entries.append(entry)
        return entry


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
