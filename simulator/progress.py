"""A progress line on stderr while a scenario runs.

On a terminal one line is redrawn in place (``\\r``); in a log (CI, a pipe) each step gets its
own line, so nothing is lost to carriage returns.
"""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 24


class Progress:
    def __init__(self, title: str, mode: str, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.title = title
        self.mode = mode
        self._last = 0

    def step(self, index: int, total: int, label: str, elapsed: float) -> None:
        filled = round(WIDTH * index / max(1, total))
        bar = "#" * filled + "." * (WIDTH - filled)
        line = f"[{bar}] {index + 1}/{total} {elapsed:6.1f} s  {label}"
        self._write(line)

    def done(self, elapsed: float, ok: bool) -> None:
        verdict = "passed" if ok else "FAILED"
        self._write(f"[{'#' * WIDTH}] {self.title} ({self.mode}): {verdict} in {elapsed:.1f} s")
        if self.live:
            self.stream.write("\n")
        self.stream.flush()

    def _write(self, line: str) -> None:
        if self.live:
            pad = max(0, self._last - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._last = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
