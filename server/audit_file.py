"""The audit log on disk: one JSON entry per line, each holding the hash of the line before.

Appends are flushed at once so that a crash loses nothing the room reported; the chain picks
up where the file ends when the server starts again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from rooms.audit import GENESIS, AuditEvent, Verdict, entry_for, verify
from server.errors import ConfigError


class FileAuditLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._next, self._prev = _tail(path)
        # Owner-only: the log names people and rooms.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file: IO[str] = os.fdopen(fd, "a", encoding="utf-8")

    def append(self, event: AuditEvent) -> dict[str, Any]:
        entry = entry_for(event, self._next, self._prev)
        self._file.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()
        self._next, self._prev = self._next + 1, entry["hash"]
        return entry

    def close(self) -> None:
        self._file.close()


def _tail(path: Path) -> tuple[int, str]:
    """Index and hash to continue from: the last line's, read from the end of the file."""
    if not path.exists() or path.stat().st_size == 0:
        return 0, GENESIS
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        block = b""
        while end > 0 and block.count(b"\n") < 2:
            step = min(4096, end)
            end -= step
            fh.seek(end)
            block = fh.read(step) + block
    last = block.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    try:
        entry = json.loads(last)
        return int(entry["n"]) + 1, str(entry["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"audit log {path} ends in a damaged entry; run `run_server.py audit verify {path}`"
        ) from exc


def read_entries(path: Path) -> Iterator[dict[str, Any] | None]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except ValueError:
                yield None
                continue
            yield entry if isinstance(entry, dict) else None


def verify_file(path: Path) -> Verdict:
    return verify(read_entries(path))
