"""Small PNG charts for the simulator's report, drawn with numpy and written with zlib.

No plotting library is installed (the project does not depend on matplotlib or Pillow), and a
histogram and a few lines need little: a canvas, rectangles, lines, a 5x7 bitmap font, and the
PNG container (signature, IHDR, one IDAT, IEND).
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

RGB = tuple[int, int, int]
WHITE: RGB = (255, 255, 255)
INK: RGB = (40, 44, 52)
GRID: RGB = (226, 229, 234)
BLUE: RGB = (52, 101, 164)
ORANGE: RGB = (214, 122, 36)
RED: RGB = (190, 50, 50)
GREEN: RGB = (60, 140, 80)

# 5x7 glyphs, one int per row, high bit on the left. Lower case is drawn as upper case.
_FONT: dict[str, tuple[int, ...]] = {
    "0": (14, 17, 19, 21, 25, 17, 14),
    "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31),
    "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2),
    "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14),
    "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14),
    "9": (14, 17, 17, 15, 1, 2, 12),
    "A": (14, 17, 17, 31, 17, 17, 17),
    "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14),
    "D": (28, 18, 17, 17, 17, 18, 28),
    "E": (31, 16, 16, 30, 16, 16, 31),
    "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15),
    "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14),
    "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17),
    "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17),
    "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14),
    "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13),
    "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30),
    "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14),
    "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10),
    "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 17, 10, 4, 4, 4),
    "Z": (31, 1, 2, 4, 8, 16, 31),
    " ": (0, 0, 0, 0, 0, 0, 0),
    ".": (0, 0, 0, 0, 0, 12, 12),
    ",": (0, 0, 0, 0, 12, 4, 8),
    ":": (0, 12, 12, 0, 12, 12, 0),
    "-": (0, 0, 0, 31, 0, 0, 0),
    "+": (0, 4, 4, 31, 4, 4, 0),
    "/": (0, 1, 2, 4, 8, 16, 0),
    "%": (24, 25, 2, 4, 8, 19, 3),
    "(": (2, 4, 8, 8, 8, 4, 2),
    ")": (8, 4, 2, 2, 2, 4, 8),
    "=": (0, 0, 31, 0, 31, 0, 0),
    "<": (2, 4, 8, 16, 8, 4, 2),
    ">": (8, 4, 2, 1, 2, 4, 8),
    "_": (0, 0, 0, 0, 0, 0, 31),
    "'": (4, 4, 8, 0, 0, 0, 0),
    "?": (14, 17, 1, 2, 4, 0, 4),
    "!": (4, 4, 4, 4, 4, 0, 4),
    "#": (10, 10, 31, 10, 31, 10, 10),
    "[": (14, 8, 8, 8, 8, 8, 14),
    "]": (14, 2, 2, 2, 2, 2, 14),
    "*": (0, 4, 21, 14, 21, 4, 0),
}


class Canvas:
    def __init__(self, width: int, height: int, background: RGB = WHITE) -> None:
        self.width, self.height = width, height
        self.px: npt.NDArray[np.uint8] = np.empty((height, width, 3), dtype=np.uint8)
        self.px[:, :] = background

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: RGB) -> None:
        xa, xb = sorted((round(x0), round(x1)))
        ya, yb = sorted((round(y0), round(y1)))
        xa, ya = max(0, xa), max(0, ya)
        xb, yb = min(self.width, xb), min(self.height, yb)
        if xa < xb and ya < yb:
            self.px[ya:yb, xa:xb] = colour

    def line(self, x0: float, y0: float, x1: float, y1: float, colour: RGB, width: int = 1) -> None:
        steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        xs = np.rint(np.linspace(x0, x1, steps)).astype(int)
        ys = np.rint(np.linspace(y0, y1, steps)).astype(int)
        half = width // 2
        for dx in range(-half, width - half):
            for dy in range(-half, width - half):
                x, y = xs + dx, ys + dy
                keep = (x >= 0) & (x < self.width) & (y >= 0) & (y < self.height)
                self.px[y[keep], x[keep]] = colour

    def text(self, x: float, y: float, s: str, colour: RGB = INK, scale: int = 1) -> None:
        glyphs = _render(s, scale)
        self._blit(glyphs, int(x), int(y), colour)

    def text_up(self, x: float, y: float, s: str, colour: RGB = INK, scale: int = 1) -> None:
        """Text reading bottom to top (a y axis label), its bottom-left at (x, y)."""
        glyphs = np.rot90(_render(s, scale))
        self._blit(glyphs, int(x), int(y) - glyphs.shape[0], colour)

    def _blit(self, mask: npt.NDArray[np.bool_], x: int, y: int, colour: RGB) -> None:
        h, w = mask.shape
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + w), min(self.height, y + h)
        if x0 >= x1 or y0 >= y1:
            return
        sub = mask[y0 - y : y1 - y, x0 - x : x1 - x]
        self.px[y0:y1, x0:x1][sub] = colour

    def png(self) -> bytes:
        return encode_png(self.px)

    def save(self, path: str | Path) -> Path:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(self.png())
        return out


def text_width(s: str, scale: int = 1) -> int:
    return len(s) * 6 * scale


def _render(s: str, scale: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros((7, max(1, len(s) * 6)), dtype=bool)
    for i, ch in enumerate(s.upper()):
        rows = _FONT.get(ch, _FONT["?"])
        for r, bits in enumerate(rows):
            for c in range(5):
                if bits & (16 >> c):
                    mask[r, i * 6 + c] = True
    return np.kron(mask, np.ones((scale, scale), dtype=bool)).astype(bool)


def encode_png(rgb: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (height x width x 3)."""
    height, width, _ = rgb.shape
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), rgb.reshape(height, -1)], axis=1)
    raw = zlib.compress(rows.tobytes(), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


# --- charts ----------------------------------------------------------------------------------


class _Axes:
    """A plot area with data ranges, ticks and labels."""

    def __init__(
        self,
        canvas: Canvas,
        title: str,
        xlabel: str,
        ylabel: str,
        xr: tuple[float, float],
        yr: tuple[float, float],
    ) -> None:
        self.c = canvas
        self.left, self.right = 70, canvas.width - 20
        self.top, self.bottom = 40, canvas.height - 50
        self.xr, self.yr = xr, yr
        canvas.text(self.left, 14, title, INK, 2)
        for v in _ticks(*yr):
            y = self.y(v)
            canvas.line(self.left, y, self.right, y, GRID)
            label = _fmt(v)
            canvas.text(self.left - 8 - text_width(label), y - 3, label)
        for v in _ticks(*xr):
            x = self.x(v)
            canvas.line(x, self.bottom, x, self.bottom + 4, INK)
            label = _fmt(v)
            canvas.text(x - text_width(label) / 2, self.bottom + 8, label)
        canvas.line(self.left, self.bottom, self.right, self.bottom, INK)
        canvas.line(self.left, self.top, self.left, self.bottom, INK)
        canvas.text((self.left + self.right - text_width(xlabel)) / 2, canvas.height - 20, xlabel)
        canvas.text_up(12, (self.top + self.bottom + text_width(ylabel)) / 2, ylabel)

    def x(self, v: float) -> float:
        lo, hi = self.xr
        return self.left + (v - lo) / (hi - lo or 1) * (self.right - self.left)

    def y(self, v: float) -> float:
        lo, hi = self.yr
        return self.bottom - (v - lo) / (hi - lo or 1) * (self.bottom - self.top)


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((k * mag for k in (1, 2, 2.5, 5, 10) if k * mag >= raw), default=mag * 10)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}" if abs(v) >= 1 or v == 0 else f"{v:.2g}"


def histogram(
    values: Sequence[float],
    path: str | Path,
    *,
    title: str,
    xlabel: str,
    marks: Sequence[tuple[str, float, RGB]] = (),
    bins: int = 40,
    size: tuple[int, int] = (800, 420),
) -> Path:
    """Counts of ``values`` in ``bins`` bins, with vertical marks (p50, p99, a target)."""
    c = Canvas(*size)
    data = np.asarray(values, dtype=float)
    hi = float(np.percentile(data, 99.5)) if len(data) else 1.0
    hi = max([hi, *(v for _, v, _ in marks), 1e-9]) * 1.05
    counts, edges = np.histogram(np.clip(data, 0, hi), bins=bins, range=(0, hi))
    ax = _Axes(c, title, xlabel, "samples", (0.0, hi), (0.0, float(max(1, counts.max()) * 1.1)))
    for count, a, b in zip(counts, edges[:-1], edges[1:], strict=True):
        if count:
            c.rect(ax.x(a) + 1, ax.y(float(count)), ax.x(b), ax.bottom, BLUE)
    for i, (label, v, colour) in enumerate(marks):
        x = ax.x(v)
        c.line(x, ax.top, x, ax.bottom, colour, 2)
        c.text(x + 4, ax.top + 4 + 12 * i, f"{label} {v:.1f}", colour)
    return c.save(path)


def lines(
    series: Sequence[tuple[str, Sequence[float], Sequence[float], RGB]],
    path: str | Path,
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    hline: tuple[str, float, RGB] | None = None,
    size: tuple[int, int] = (800, 420),
) -> Path:
    """One or more (label, xs, ys, colour) lines on shared axes, with a legend."""
    c = Canvas(*size)
    xs_all = [x for _, xs, _, _ in series for x in xs] or [0.0, 1.0]
    ys_all = [y for _, _, ys, _ in series for y in ys] or [0.0, 1.0]
    y_hi = max([*ys_all, hline[1] if hline else 0.0, 1e-9]) * 1.1
    ax = _Axes(
        c, title, xlabel, ylabel, (min(xs_all), max(max(xs_all), min(xs_all) + 1e-9)), (0.0, y_hi)
    )
    if hline is not None:
        y = ax.y(hline[1])
        c.line(ax.left, y, ax.right, y, hline[2], 1)
        c.text(ax.right - text_width(hline[0]) - 4, y - 11, hline[0], hline[2])
    for i, (label, xs, ys, colour) in enumerate(series):
        pts = [(ax.x(x), ax.y(y)) for x, y in zip(xs, ys, strict=True)]
        for (xa, ya), (xb, yb) in itertools.pairwise(pts):
            c.line(xa, ya, xb, yb, colour, 2)
        if len(pts) == 1:
            c.rect(pts[0][0] - 2, pts[0][1] - 2, pts[0][0] + 3, pts[0][1] + 3, colour)
        c.rect(ax.left + 10, ax.top + 6 + 14 * i, ax.left + 24, ax.top + 12 + 14 * i, colour)
        c.text(ax.left + 30, ax.top + 5 + 14 * i, label)
    return c.save(path)
