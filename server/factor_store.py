"""Where each customer's step-up record lives: failures in a row, a lock-out, the last TOTP step
accepted (``rooms/stepup_policy.py``). Shared by every room on a node, and kept across a
restart: otherwise a customer with tokens for N rooms gets N times the guesses, and a restart
lifts every lock-out and makes spent codes good again.

A :class:`FactorStore` applies one judgement atomically: two checks of the same customer's
codes (two rooms, two nodes) never both see the record from before the other. The embedded
default is :class:`FileFactorStore` (a JSON file under ``var/``, one process);
``server/cluster/redis_factors.py`` is the one for several nodes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from rooms.stepup_policy import FactorRecord, Judged
from server.private_dir import private_dir

Change = Callable[[FactorRecord], tuple[FactorRecord, Judged]]


class FactorStore(Protocol):
    async def update(self, subject: str, now: float, change: Change) -> Judged:
        """Apply ``change`` to ``subject``'s record (a fresh one if none or expired) as one
        atomic step; keep what it returns until its ``keep_until``; return its verdict."""
        ...


def record_to_json(record: FactorRecord) -> dict[str, Any]:
    """Only what differs from a fresh record; no infinities (JSON has none)."""
    fresh = FactorRecord()
    out: dict[str, Any] = {}
    for name in ("failures", "last_failure", "locked_until", "last_step", "spent_until"):
        value = getattr(record, name)
        if value != getattr(fresh, name):
            out[name] = value
    return out


def record_from_json(data: dict[str, Any]) -> FactorRecord:
    def when(name: str) -> float:
        value = data.get(name)
        return -math.inf if value is None else float(value)

    return FactorRecord(
        failures=int(data.get("failures", 0)),
        last_failure=when("last_failure"),
        locked_until=when("locked_until"),
        last_step=int(data.get("last_step", -1)),
        spent_until=when("spent_until"),
    )


class FileFactorStore:
    """Records in a JSON file (mode 0600, in an owner-only directory), ``{subject: record}``,
    rewritten whole and atomically on every change; in memory if no path. Checks arrive at a
    human's pace, so a small synchronous write is cheaper than anything cleverer. One process
    only: several nodes share :class:`~server.cluster.redis_factors.RedisFactorStore`."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._records: dict[str, FactorRecord] = {}
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            self._records = {str(k): record_from_json(v) for k, v in saved.items()}

    async def update(self, subject: str, now: float, change: Change) -> Judged:
        # No await between reading and writing: on one event loop this is atomic.
        record = self._records.get(subject)
        if record is None or record.keep_until <= now:
            record = FactorRecord()
        new, verdict = change(record)
        self._records[subject] = new
        self._records = {s: r for s, r in self._records.items() if r.keep_until > now}
        self._save()
        return verdict

    def _save(self) -> None:
        if self._path is None:
            return
        private_dir(self._path.parent)
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({s: record_to_json(r) for s, r in self._records.items()}, fh)
            fh.flush()
            os.fsync(fh.fileno())  # a lock-out must not vanish with a power cut
        tmp.replace(self._path)
