"""The audit log on disk: one JSON entry per line, chained by MACs under the audit key, and
its checkpoints in a second file beside it.

Appends are flushed at once so that a crash loses nothing the room reported; the chain picks
up where the file ends when the server starts again.

``<log>.checkpoints`` holds a signed checkpoint (entry count, last MAC, time) written when the
log is opened, after every ``checkpoint_every`` entries and when it is closed. The chain cannot
show that its last entries were cut off; the checkpoints can, as long as they are kept apart
from the log (ship them elsewhere to make that so: whoever can cut both files can cut both the
same way). A crash between checkpoints leaves at most ``checkpoint_every - 1`` entries that no
checkpoint vouches for yet; ``audit verify`` says how many.

A log whose end is damaged (a crash in mid-write, a full disk) does not stop the server: the
damaged bytes go to ``<log>.damaged-<offset>``, the file is cut back to its last whole entry, and
the next entry (``audit.recovered``) names the quarantine file and its size, so the repair is on
the record. The log and ``/healthz`` say so too.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rooms.audit import (
    GENESIS,
    AuditEvent,
    AuditLog,
    Detail,
    Verdict,
    checkpoint_for,
    entry_for,
    verify,
)
from server.errors import ConfigError
from server.private_dir import private_dir

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 64
# How far back from the end a whole entry is looked for. A damaged end is a few bytes to a
# block or two; more than this is not a crash's doing, and is left for a person to look at.
MAX_DAMAGE_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Recovery:
    quarantine: Path
    size: int  # bytes moved out of the log
    offset: int  # where in the log they began


def checkpoints_path(path: Path) -> Path:
    return path.with_name(path.name + ".checkpoints")


class FileAuditLog:
    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        checkpoint_every: int = CHECKPOINT_EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._key = key
        self._every = checkpoint_every
        self._clock = clock
        private_dir(path.parent)
        self.recovery = _quarantine_damaged_tail(path)
        retired = _retire_unkeyed(path)
        self._next, self._prev = _tail(path)
        self._file = _open_append(path)  # owner-only: the log names people and rooms
        self._checkpoints = _open_append(checkpoints_path(path))
        self._since = 0
        if self.recovery is not None:
            r = self.recovery
            log.error(
                "audit log %s ended in %d damaged bytes (a crash or a full disk?); moved them to"
                " %s and carried on from the last whole entry",
                path,
                r.size,
                r.quarantine,
            )
            detail: Detail = {"file": r.quarantine.name, "bytes": r.size, "offset": r.offset}
            self.append(
                AuditEvent(clock(), "", "server", "", "audit.recovered", "quarantined", detail)
            )
        if retired is not None:
            log.warning("audit log %s was chained without a key; moved it to %s", path, retired)
            detail = {"file": retired.name, "bytes": retired.stat().st_size}
            self.append(AuditEvent(clock(), "", "server", "", "audit.rotated", "unkeyed", detail))
        # Anchors the head as found, so that a cut made while the server was down shows.
        self.checkpoint()

    def append(self, event: AuditEvent) -> dict[str, Any]:
        entry = entry_for(event, self._next, self._prev, self._key)
        self._file.write(_line(entry))
        self._file.flush()
        self._next, self._prev = self._next + 1, entry["mac"]
        self._since += 1
        if self._since >= self._every:
            self.checkpoint()
        return entry

    def checkpoint(self) -> None:
        cp = checkpoint_for(self._next, self._prev, self._clock(), self._key)
        self._checkpoints.write(_line(cp))
        self._checkpoints.flush()
        self._since = 0

    def close(self) -> None:
        if self._since:
            self.checkpoint()
        self._file.close()
        self._checkpoints.close()


def audit_health(audit: AuditLog) -> dict[str, Any]:
    """What ``/healthz`` adds about the audit log: nothing while there is nothing to say."""
    recovery = audit.recovery if isinstance(audit, FileAuditLog) else None
    if recovery is None:
        return {}
    return {
        "audit": {
            "status": "recovered",
            "quarantine": str(recovery.quarantine),
            "bytes": recovery.size,
        }
    }


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _open_append(path: Path) -> IO[str]:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8")


def _whole_entry(line: bytes) -> bool:
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    # "hash": an entry from before the chain had a key, whole but retired on open.
    return isinstance(entry, dict) and isinstance(entry.get("n"), int) and _chained(entry)


def _chained(entry: dict[str, Any]) -> bool:
    return "mac" in entry or "hash" in entry


def _good_end(path: Path) -> int:
    """The offset just past the last newline-ended line that holds an entry."""
    size = path.stat().st_size
    start = max(0, size - MAX_DAMAGE_BYTES)
    with path.open("rb") as fh:
        fh.seek(start)
        block = fh.read()
    end = block.rfind(b"\n")
    while end >= 0:
        begin = block.rfind(b"\n", 0, end) + 1
        if begin == 0 and start > 0:
            break  # this line began before the block: longer than any entry
        if _whole_entry(block[begin:end]):
            return start + end + 1
        end = begin - 1
    if start > 0:
        raise ConfigError(
            f"audit log {path} has no whole entry in its last {MAX_DAMAGE_BYTES} bytes;"
            f" run `run_server.py audit verify {path}`"
        )
    return 0


def _quarantine_damaged_tail(path: Path) -> Recovery | None:
    if not path.exists():
        return None
    size = path.stat().st_size
    good = _good_end(path) if size else 0
    if good == size:
        return None
    with path.open("rb") as fh:
        fh.seek(good)
        damaged = fh.read()
    quarantine = path.with_name(f"{path.name}.damaged-{good}")
    suffix = 0
    while quarantine.exists():
        suffix += 1
        quarantine = path.with_name(f"{path.name}.damaged-{good}-{suffix}")
    # The damaged bytes are safely elsewhere before the log is cut: never lost, only moved.
    fd = os.open(quarantine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(damaged)
        out.flush()
        os.fsync(out.fileno())
    with path.open("r+b") as fh:
        fh.truncate(good)
        fh.flush()
        os.fsync(fh.fileno())
    return Recovery(quarantine, len(damaged), good)


def _retire_unkeyed(path: Path) -> Path | None:
    """A log from before the chain had a key cannot be continued under one: moved aside whole
    (it still verifies as it was written, by the release that wrote it)."""
    last = _last_entry(path)
    if last is None or "mac" in last:
        return None
    retired = path.with_name(f"{path.name}.unkeyed")
    suffix = 0
    while retired.exists():
        suffix += 1
        retired = path.with_name(f"{path.name}.unkeyed-{suffix}")
    path.rename(retired)
    side = checkpoints_path(path)
    if side.exists():
        side.rename(checkpoints_path(retired))
    return retired


def _tail(path: Path) -> tuple[int, str]:
    """Index and MAC to continue from: the last entry's (the damaged end, if the file had one,
    is already in quarantine)."""
    last = _last_entry(path)
    if last is None:
        return 0, GENESIS
    return int(last["n"]) + 1, str(last["mac"])


def _last_entry(path: Path) -> dict[str, Any] | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        block = b""
        while end > 0 and block.count(b"\n") < 2:
            step = min(4096, end)
            end -= step
            fh.seek(end)
            block = fh.read(step) + block
    entry: dict[str, Any] = json.loads(block.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    return entry


def read_entries(path: Path) -> Iterator[dict[str, Any] | None]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                yield None
                continue
            yield entry if isinstance(entry, dict) else None


def verify_file(path: Path, key: bytes) -> Verdict:
    """The log's chain under ``key``, held to its checkpoints (a missing checkpoint file is
    reported as such, since the log is never written without one)."""
    side = checkpoints_path(path)
    checkpoints = list(read_entries(side)) if side.exists() else []
    return verify(read_entries(path), key, checkpoints)


_PROBLEMS = {
    "unreadable": "unreadable",
    "order": "out of order",
    "edited": "edited",
    "rehashed": "re-hashed",
    "forged-checkpoint": "forged checkpoint",
    "truncated": "truncated",
    "rewritten": "rewritten",
    "lost": "lost",
    "no-checkpoints": "no checkpoints",
}


def describe(verdict: Verdict, where: str, *, lines: bool) -> str:
    """One line for a person: the verdict on the chain at ``where``, naming the problem."""
    if verdict.ok:
        text = f"{where}: {verdict.entries} entries, chain intact"
        if not verdict.checkpoints:
            return text + "; no checkpoint yet"
        newer = verdict.entries - verdict.covered
        text += f"; {verdict.checkpoints} checkpoints vouch for {verdict.covered}"
        return text + (f", the last {newer} are newer" if newer else "")
    problem = _PROBLEMS.get(verdict.problem, verdict.problem)
    if verdict.first_broken is None:
        return f"{where}: broken ({problem}): {verdict.reason}"
    at = f"entry {verdict.first_broken}"
    if lines:
        at += f" (line {verdict.first_broken + 1})"
    return (
        f"{where}: {at} is broken ({problem}): {verdict.reason};"
        f" the {verdict.entries} entries before it are intact"
    )
