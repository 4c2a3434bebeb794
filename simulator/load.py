"""Load mode: how many VR members one server process sustains.

VR clients join rooms of 10 and send head and both hands at 30 Hz. The count ramps up until
the pose-to-peer p99 passes the target (50 ms) or anything is lost (a client that could not
join, a disconnect, an error frame, a position that came back garbled); the ramp then narrows
the gap between the last level that held and the first that did not.

The measuring is the sync benchmark's (``bench/bench_sync.py``), shared with it: the sans-I/O
bots of :mod:`simulator.load_bot`, the pose-to-peer latency of :mod:`simulator.load_level` (the
pose number rides in the left hand's offset from the head) and, when the simulator starts the
server itself, one :class:`simulator.server_process.ServerProcess` per level pinned to its own
CPU. Against ``--url`` the same bots run against that server (on this machine: the bots connect
to 127.0.0.1 and sign tokens with this checkout's key), which is not restarted between levels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from simulator.load_bot import LoadRoom, LoadRun
from simulator.load_level import LevelResult, LoadPlan, drive_level, measure_level
from simulator.server_process import ServerProcess
from simulator.tokens import MinterFactory

TARGET_P99_MS = 50.0
ROOM_SIZE = 10
POSE_HZ = 30.0
RETRIES = 2  # a level that breaks on latency alone is measured up to this many more times
OTHER_CPU_PCT = 10.0  # busy time of other processes in a window that disturbs the figures
STEAL_PCT = 5.0
DEFAULT_LEVELS = (10, 20, 50, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 800, 1000)


@dataclass(slots=True)
class Level:
    clients: int
    held: bool
    why: str
    p50_ms: float | None
    p99_ms: float | None
    server_cpu_pct: float | None
    pose_hz: float
    result: dict[str, Any]


@dataclass(slots=True)
class LoadResult:
    target_p99_ms: float
    room_size: int
    pose_hz: float
    server: str
    levels: list[Level] = field(default_factory=list)
    sustained: int = 0
    broke_at: Level | None = None
    lower_bound: bool = False  # the machine or the load generator, not the server, gave out

    def summary(self) -> str:
        held = next((lv for lv in self.levels if lv.clients == self.sustained and lv.held), None)
        if held is None:
            line = f"no level held (target p99 < {self.target_p99_ms:g} ms, nothing lost)"
        else:
            line = (
                f"sustained: {self.sustained} VR clients per server process (rooms of "
                f"{self.room_size}, head and hands at {self.pose_hz:g} Hz): pose-to-peer p99 "
                f"{held.p99_ms} ms, nothing lost"
            )
        if self.broke_at is not None:
            line += f"; {self.broke_at.clients} broke it: {self.broke_at.why}"
        if self.lower_bound:
            line += (
                " (a lower bound: the load generator or other work on the machine gave out "
                "before the server did)"
            )
        return line

    def to_json(self) -> dict[str, Any]:
        return {
            "target_p99_ms": self.target_p99_ms,
            "room_size": self.room_size,
            "pose_hz": self.pose_hz,
            "server": self.server,
            "sustained": self.sustained,
            "lower_bound": self.lower_bound,
            "broke_at": None if self.broke_at is None else self.broke_at.clients,
            "levels": [asdict(lv) for lv in self.levels],
        }


def disturbed(r: LevelResult, hz: float) -> str:
    """Why a window says little about the server, or "" when it is clean."""
    if r.pose_hz_per_client < 0.9 * hz:
        return f"the load generator fell behind ({r.pose_hz_per_client:.1f} poses/s per client)"
    if (r.other_cpu_pct or 0) > OTHER_CPU_PCT or (r.machine_steal_pct or 0) > STEAL_PCT:
        return f"other work on the machine ({r.other_cpu_pct}% CPU, steal {r.machine_steal_pct}%)"
    return ""


def judge(r: LevelResult, target_ms: float, hz: float) -> tuple[bool, str]:
    """Whether a level held: p99 under the target and nothing lost."""
    if r.aborted:
        return False, f"aborted: {r.aborted}"
    if r.connected < r.clients:
        return False, f"only {r.connected} of {r.clients} joined ({r.connect_failures})"
    if r.disconnects:
        return False, f"{r.disconnects} disconnects (close codes {r.close_codes})"
    if r.error_codes:
        return False, f"error frames {r.error_codes}"
    if r.undecodable_positions:
        return False, f"{r.undecodable_positions} positions came back garbled"
    if r.alive_at_end < r.alive_at_start:
        return False, f"{r.alive_at_start - r.alive_at_end} clients lost during the window"
    if r.p99_ms is None:
        return (r.clients <= 1), "no latency samples"
    if r.p99_ms >= target_ms:
        return False, f"p99 {r.p99_ms} ms"
    return True, f"p99 {r.p99_ms} ms"


class RunningServer(ServerProcess):
    """A server somebody else started: measured from outside, never started or stopped."""

    def __init__(self, port: int, secret: str, log_path: Path) -> None:
        super().__init__(log_path, "WARNING", None, None)
        self.port = port
        self.secret = secret

    async def start(self, limit_s: float = 30.0) -> None:
        return None

    async def stop(self, limit_s: float = 15.0) -> int | None:
        return None

    def cpu_seconds(self) -> float:
        return math.nan  # another process we know nothing of

    def rss_mb(self) -> float:
        return math.nan


def _plan(seconds: float, warmup: float, drain: float, log_dir: Path) -> LoadPlan:
    return LoadPlan(
        seconds=seconds,
        warmup=warmup,
        drain=drain,
        hz=POSE_HZ,
        room_size=ROOM_SIZE,
        log_dir=log_dir,
    )


async def _level_on(
    server: RunningServer, n: int, plan: LoadPlan, minter: MinterFactory, prefix: str
) -> LevelResult:
    rooms = [LoadRoom(f"{prefix}-{r}") for r in range(math.ceil(n / ROOM_SIZE))]
    result = LevelResult(clients=n, rooms=len(rooms))
    run = LoadRun()
    await drive_level(n, plan, minter, server, run, rooms, result, start=False)
    return result


async def ramp(  # noqa: PLR0913 - keyword-only options of simulate --load, with defaults
    *,
    url: str | None,
    secret: str | None,
    minter: MinterFactory,
    max_clients: int = 1000,
    levels: tuple[int, ...] | None = None,
    seconds: float = 5.0,
    warmup: float = 2.0,
    drain: float = 1.5,
    refine: int = 2,
    target_ms: float = TARGET_P99_MS,
    log_dir: Path = Path("/tmp"),
    say: Callable[[str], None] = print,
) -> LoadResult:
    plan = sorted({n for n in (levels or DEFAULT_LEVELS) if n <= max_clients})
    running, cpus, where = _server(url, secret, log_dir)
    out = LoadResult(target_ms, ROOM_SIZE, POSE_HZ, where)
    say(
        f"load: VR clients in rooms of {ROOM_SIZE}, poses at {POSE_HZ:g} Hz, "
        f"target p99 < {target_ms:g} ms; {where}"
    )

    async def measure(n: int, attempt: int) -> LevelResult:
        plan = _plan(seconds, warmup, drain, log_dir)
        if running is not None:
            return await _level_on(running, n, plan, minter, f"load{n}-{attempt}-{os.getpid()}")
        return await measure_level(n, plan, minter, cpus)

    async def level(n: int) -> Level:
        r = await measure(n, 1)
        held, why = judge(r, target_ms, POSE_HZ)
        for attempt in range(2, 2 + RETRIES):
            if held or r.p99_ms is None or not why.startswith("p99"):
                break
            # A latency tail can be one noisy window on a shared machine; a loss cannot.
            noise = disturbed(r, POSE_HZ)
            say(f"  {n:>5} clients: {why}{f' ({noise})' if noise else ''}; measuring again")
            r = await measure(n, attempt)
            held, why = judge(r, target_ms, POSE_HZ)
        noise = disturbed(r, POSE_HZ)
        if not held and noise and why.startswith("p99"):
            why += f", but {noise}: not the server's limit"
            out.lower_bound = True
        cpu = None if math.isnan(r.server_cpu_pct) else r.server_cpu_pct
        lv = Level(n, held, why, r.p50_ms, r.p99_ms, cpu, r.pose_hz_per_client, asdict(r))
        out.levels.append(lv)
        cpu_text = "-" if cpu is None else f"{cpu:.0f}%"
        say(
            f"  {n:>5} clients: {'held' if held else 'BROKE'}  p50 {_ms(r.p50_ms)}  "
            f"p99 {_ms(r.p99_ms)}  server CPU {cpu_text}  "
            f"pose rate {r.pose_hz_per_client:.1f} Hz  ({why})"
        )
        if held and r.pose_hz_per_client < 0.9 * POSE_HZ:
            out.lower_bound = True  # more clients would not load the server any harder
        return lv

    good, bad = await _search(plan, refine, level, out)
    out.sustained = good or 0
    out.broke_at = bad
    return out


def _server(
    url: str | None, secret: str | None, log_dir: Path
) -> tuple[RunningServer | None, tuple[int, int] | None, str]:
    """The server already running at ``url``, or none (a fresh one per level, on its own CPU
    when there are two: the CPUs of server and bots); and the line that says which."""
    if url is not None:
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
            raise ValueError(
                "load mode against --url needs a server on this machine: ws://127.0.0.1:PORT"
            )
        if secret is None:
            raise ValueError("load mode against --url needs the server's signing key")
        running = RunningServer(parts.port, secret, log_dir / "load-server.log")
        return running, None, f"the server at {url} (not restarted between levels)"
    cpus: tuple[int, int] | None = None
    available = sorted(os.sched_getaffinity(0))
    if len(available) >= 2:
        cpus = (available[0], available[1])
        os.sched_setaffinity(0, {cpus[1]})
    where = "a fresh server process per level" + (
        f", pinned to CPU {cpus[0]}; the bots on CPU {cpus[1]}" if cpus else ""
    )
    return None, cpus, where


async def _search(
    plan: list[int], refine: int, level: Callable[[int], Awaitable[Level]], out: LoadResult
) -> tuple[int | None, Level | None]:
    """Up the plan until a level breaks, then ``refine`` halvings of the gap: the last level
    that held and the first that broke."""
    good: int | None = None
    bad: Level | None = None
    for n in plan:
        lv = await level(n)
        if not lv.held:
            bad = lv
            break
        good = n
        if out.lower_bound:
            break
    for _ in range(refine):
        if good is None or bad is None or bad.clients - good <= ROOM_SIZE:
            break
        mid = (good + bad.clients) // 2 // ROOM_SIZE * ROOM_SIZE
        if mid <= good:
            break
        lv = await level(mid)
        if lv.held:
            good = mid
        else:
            bad = lv
    return good, bad


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} ms"
