"""One load level: N bots in rooms against a server process, measured over a window.

For each level it measures, over a window after a warm-up:

* server CPU time (utime + stime from /proc/<pid>/stat) per frame the clients received;
* pose-to-peer latency (see :mod:`simulator.load_bot` for how a pose is recognised);
* payload bytes received per client per second, against a naive baseline for the same room
  states: a full msgpack snapshot of every avatar, float64 position and float64 quaternion,
  sent every tick to every member;
* poses coalesced (sent, but superseded before any peer saw them: the server keeps only the
  latest pose per tick), disconnects with their close codes, and error frames.

The bots sign their own room tokens with the server's secret through a
:data:`simulator.tokens.MinterFactory` handed in by the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from protocol.codec import pack
from protocol.pose import AvatarPose, Part
from protocol.quantise import unpack_quat
from rooms.roles import Role
from simulator.load_bot import LoadBot, LoadRoom, LoadRun
from simulator.server_process import HOST, REPO, ServerProcess
from simulator.tokens import MinterFactory

TICK_HZ = 30  # the server's default tick rate (Settings.tick_hz)
DRIVER_SLOTS = 8  # poses are spread over 8 slots per pose period instead of one burst


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """How a level is run: the knobs of ``bench/bench_sync.py`` and of load mode."""

    seconds: float = 10.0  # measured window
    warmup: float = 2.0  # poses before the window
    drain: float = 2.0  # wait for in-window poses to land
    hz: float = 30.0  # pose rate per client
    room_size: int = 10
    layout: str | None = None  # the rooms' layout (the tokens' claim); None: the server's default
    batch: int = 50  # concurrent joins during set-up
    setup_budget: float = 60.0  # seconds to connect all
    separate_acks: bool = False  # an ack frame per state frame instead of the pose's ack field
    map_poses: bool = False  # the map form `pose` instead of binary pose frames
    server_tree: Path = REPO  # the checkout whose server is measured
    server_log_level: str = "WARNING"
    log_dir: Path = Path("/tmp")  # where server-<N>.log files go
    profile_server: str | None = None  # run the server under cProfile, writing PREFIX.<N>.prof

    @property
    def budget_s(self) -> float:
        """The most one level may take before it is abandoned."""
        return self.setup_budget + self.warmup + self.seconds + self.drain + 90


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies over all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


@dataclass
class LevelResult:
    """The figures of one level (``bench/bench_sync.py --json`` writes these as they are)."""

    clients: int
    rooms: int
    connected: int = 0
    connect_failures: dict[str, int] = field(default_factory=dict)
    setup_s: float = 0.0
    window_s: float = 0.0
    alive_at_start: int = 0
    alive_at_end: int = 0
    server_cpu_s: float = 0.0
    server_cpu_pct: float = 0.0
    server_us_per_msg: float | None = None
    frames_delivered: int = 0
    frames_state: int = 0
    frames_reliable: int = 0
    frames_other: int = 0
    msgs_per_s: float = 0.0
    latency_samples: int = 0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    bytes_per_client_s: float = 0.0
    wire_bytes_per_client_s: float = 0.0
    naive_bytes_per_client_s: float = 0.0
    naive_over_measured: float | None = None
    poses_sent: int = 0
    poses_seen_by_a_peer: int = 0
    poses_coalesced_pct: float | None = None
    pose_hz_per_client: float = 0.0
    poses_skipped_backpressure: int = 0
    driver_late_p99_ms: float | None = None
    driver_resyncs: int = 0
    stale_frames: int = 0
    stale_pct: float | None = None
    undecodable_positions: int = 0
    disconnects: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    error_codes: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    loadgen_cpu_pct: float = 0.0
    machine_busy_pct: float | None = None  # all CPUs, 100% = one CPU busy
    machine_steal_pct: float | None = None  # time the hypervisor gave our vCPUs to others
    other_cpu_pct: float | None = None  # busy time neither the server nor this process used
    server_frames_in_per_s: float | None = None
    server_state_frames_out_per_s: float | None = None
    server_state_superseded_per_s: float | None = None
    server_ticks_per_room_s: float | None = None
    server_tick_overruns: float | None = None
    server_tick_cpu_share_pct: float | None = None
    server_pose_batch: float | None = None  # binary poses per judgement (rooms/pose_desk.py)
    server_us_per_frame: float | None = None  # CPU per frame in or out, from the server's counters
    server_rss_start_mb: float | None = None  # after the warm-up, as the window opens
    server_rss_mb: float | None = None
    server_log_lines: int = 0
    server_log_examples: list[str] = field(default_factory=list)
    server_exit_code: int | None = None
    aborted: str | None = None


def percentile_ms(values: array[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.frombuffer(values, dtype=np.float64), q)) * 1000


def naive_snapshot_size(room: LoadRoom) -> int:
    """A full snapshot with float64 positions (metres) and float64 quaternions."""
    ents = []
    for e in room.ents.values():
        x = e.get("x")
        pose = AvatarPose.unpack(x) if x else AvatarPose(Part((0, 0, 0), 0))
        ents.append(
            {
                "i": e["i"],
                "k": e.get("k", "avatar"),
                "m": e.get("m", 0),
                "n": e.get("n", ""),
                "r": e.get("r", ""),
                "s": e.get("s", ""),
                "a": e.get("a", {}),
                **{
                    name: {"p": [c / 1000 for c in part.pos], "q": list(unpack_quat(part.rot))}
                    for name, part in (("head", pose.head), ("lh", pose.left), ("rh", pose.right))
                    if part is not None
                },
            }
        )
    return len(pack({"t": "snapshot", "tick": room.tick, "ents": ents}))


async def sample_naive(rooms: list[LoadRoom], tick_hz: int, out: list[float], stop: float) -> None:
    """Integrate naive bytes over the window: snapshot size x tick rate x live members."""
    last = time.monotonic()
    for _ in range(100_000):
        now = time.monotonic()
        if now >= stop:
            break
        await asyncio.sleep(min(0.5, stop - now))
        now = time.monotonic()
        dt, last = now - last, now
        for room in rooms:
            live = sum(1 for c in room.clients if c.joined and not c.closed)
            if live and room.ents:
                out[0] += naive_snapshot_size(room) * tick_hz * dt * live


async def drive_poses(run: LoadRun, clients: list[LoadBot], hz: float, hard_stop: float) -> None:
    interval = 1.0 / (hz * DRIVER_SLOTS)
    groups = [clients[s::DRIVER_SLOTS] for s in range(DRIVER_SLOTS)]
    next_at = time.monotonic()
    for step in range(int((hard_stop - next_at) / interval) + DRIVER_SLOTS):
        now = time.monotonic()
        if not run.driving or now >= hard_stop:
            break
        if run.measuring:
            run.driver_late.append(now - next_at)
        for client in groups[step % DRIVER_SLOTS]:
            client.send_pose()
        next_at += interval
        now = time.monotonic()
        if now - next_at > 1.0 / hz:  # a whole pose period behind: stop trying to catch up
            run.driver_resyncs += 1
            next_at = now
        await asyncio.sleep(max(0.0, next_at - now))


async def connect_all(
    clients: list[LoadBot], port: int, batch: int, each_s: float, budget_s: float
) -> Counter[str]:
    """Connect and join in batches of ``batch``; each client gets ``each_s``, all ``budget_s``."""
    loop = asyncio.get_running_loop()
    failures: Counter[str] = Counter()
    deadline = time.monotonic() + budget_s

    async def one(client: LoadBot) -> None:
        try:
            async with asyncio.timeout(each_s):
                await loop.create_connection(lambda: client, HOST, port)
                await client.settled.wait()
        except TimeoutError:
            client.failure = client.failure or "timeout"
            if client.transport is not None:
                client.transport.abort()
        except OSError as exc:
            client.failure = f"connect: {type(exc).__name__}"
        if client.failure is not None:
            failures[client.failure[:80]] += 1

    for start in range(0, len(clients), batch):
        chunk = clients[start : start + batch]
        if time.monotonic() > deadline:
            failures["set-up budget exhausted"] += len(chunk)
            for c in chunk:
                c.failure = "not attempted"
            continue
        await asyncio.gather(*(one(c) for c in chunk))
    return failures


async def close_all(clients: list[LoadBot], limit_s: float) -> None:
    for c in clients:
        c.close()
    deadline = time.monotonic() + limit_s
    for _ in range(int(limit_s / 0.05) + 1):
        if all(c.closed or c.transport is None for c in clients) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    for c in clients:
        if not c.closed and c.transport is not None:
            c.transport.abort()
    await asyncio.sleep(0)


async def drive_level(
    n: int,
    plan: LoadPlan,
    minter: MinterFactory,
    server: ServerProcess,
    run: LoadRun,
    rooms: list[LoadRoom],
    result: LevelResult,
    *,
    start: bool,
) -> None:
    """:func:`measure_on` within the plan's budget (starting ``server`` first if ``start``):
    a failure or the budget running out is written in ``result.aborted``, never raised, and the
    clients are closed whatever happened."""
    try:
        async with asyncio.timeout(plan.budget_s):
            if start:
                await server.start()
            await measure_on(n, plan, minter, server, run, rooms, result)
    except TimeoutError:
        result.aborted = f"timed out (budget {plan.budget_s:g} s)"
    except Exception as exc:
        result.aborted = f"{type(exc).__name__}: {exc}"
    finally:
        run.driving = False
        run.shutting_down = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(close_all(run.clients, 5.0), 10)


async def measure_level(
    n: int, plan: LoadPlan, minter: MinterFactory, cpus: tuple[int, int] | None
) -> LevelResult:
    """N bots against a server process of their own, started for this level and stopped after;
    with ``cpus`` the server is pinned to the first (this process should run on the second)."""
    rooms = [LoadRoom(f"bench-{r}") for r in range(math.ceil(n / plan.room_size))]
    result = LevelResult(clients=n, rooms=len(rooms))
    log_path = plan.log_dir / f"server-{n}.log"
    profile = Path(f"{plan.profile_server}.{n}.prof") if plan.profile_server else None
    server = ServerProcess(
        log_path, plan.server_log_level, profile, cpus[0] if cpus else None, tree=plan.server_tree
    )
    run = LoadRun(separate_acks=plan.separate_acks, binary_poses=not plan.map_poses)
    try:
        await drive_level(n, plan, minter, server, run, rooms, result, start=True)
    finally:
        result.server_exit_code = await server.stop()
    if log_path.exists():
        lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
        result.server_log_lines = len(lines)
        result.server_log_examples = lines[:5]
    return result


async def measure_on(
    n: int,
    plan: LoadPlan,
    minter: MinterFactory,
    server: ServerProcess,
    run: LoadRun,
    rooms: list[LoadRoom],
    result: LevelResult,
) -> None:
    """Join N bots to ``rooms`` on a started server, drive poses and fill in ``result``."""
    tokens = minter(server.secret.encode())
    for i in range(n):
        room = rooms[i // plan.room_size]
        token = tokens.mint(
            room=room.name,
            role=Role.BOT,
            subject=f"bench-{i}",
            name=f"bot-{i}",
            layout=plan.layout,
        )
        url = f"ws://{HOST}:{server.port}/ws/{room.name}"
        client = LoadBot(run, i, room, i % plan.room_size, url, token)
        room.clients.append(client)
        run.clients.append(client)

    t0 = time.monotonic()
    failures = await connect_all(run.clients, server.port, plan.batch, 15.0, plan.setup_budget)
    result.setup_s = time.monotonic() - t0
    result.connect_failures = dict(failures)
    joined = [c for c in run.clients if c.joined and not c.closed]
    result.connected = len(joined)
    if not joined:
        raise RuntimeError("no client could join")

    run.driving = True
    hard_stop = time.monotonic() + plan.warmup + plan.seconds + 30
    driver = asyncio.create_task(drive_poses(run, joined, plan.hz, hard_stop))
    try:
        await asyncio.sleep(plan.warmup)

        m0 = await server.metrics()
        result.server_rss_start_mb = round(server.rss_mb(), 1)
        for c in joined:
            c.k_start = len(c.sent_at)
        result.alive_at_start = sum(1 for c in joined if not c.closed)
        j0 = machine_jiffies()
        lg0, cpu0 = time.process_time(), server.cpu_seconds()
        run.window_start = w0 = time.monotonic()
        run.measuring = True
        naive = [0.0]
        await sample_naive(rooms, TICK_HZ, naive, w0 + plan.seconds)
        run.measuring = False
        run.window_end = w1 = time.monotonic()
        cpu1, lg1 = server.cpu_seconds(), time.process_time()
        j1 = machine_jiffies()
        run.driving = False
        for c in joined:
            c.k_end = len(c.sent_at)
        m1 = await server.metrics()
        result.server_rss_mb = round(server.rss_mb(), 1)
        await asyncio.sleep(plan.drain)  # let in-window poses reach peers
        run.recording = False
    finally:
        run.driving = False
        await asyncio.gather(driver, return_exceptions=True)

    window = w1 - w0
    cpu_s = cpu1 - cpu0
    result.window_s = round(window, 3)
    result.alive_at_end = sum(1 for c in joined if not c.closed)
    _machine_figures(result, window, cpu_s, lg1 - lg0, (j1[0] - j0[0], j1[1] - j0[1]))
    _traffic_figures(result, run, window, cpu_s, naive[0])
    _pose_figures(result, run, joined, rooms, window)
    _server_figures(result, m0, m1, window, cpu_s, len(rooms))


def _machine_figures(
    result: LevelResult, window: float, cpu_s: float, loadgen_s: float, jiffies: tuple[int, int]
) -> None:
    """Where the machine's time went in the window: the server, the bots, the rest."""
    result.server_cpu_s = round(cpu_s, 3)
    result.server_cpu_pct = round(100 * cpu_s / window, 1)
    result.loadgen_cpu_pct = round(100 * loadgen_s / window, 1)
    hz, (busy, steal) = os.sysconf("SC_CLK_TCK"), jiffies
    result.machine_busy_pct = round(100 * busy / hz / window, 1)
    result.machine_steal_pct = round(100 * steal / hz / window, 1)
    result.other_cpu_pct = round(
        result.machine_busy_pct - result.server_cpu_pct - result.loadgen_cpu_pct, 1
    )


def _traffic_figures(
    result: LevelResult, run: LoadRun, window: float, cpu_s: float, naive: float
) -> None:
    """Frames and bytes the bots received in the window, against the naive baseline."""
    frames = run.frames_state + run.frames_reliable + run.frames_other
    result.frames_delivered = frames
    result.frames_state, result.frames_reliable = run.frames_state, run.frames_reliable
    result.frames_other = run.frames_other
    result.msgs_per_s = round(frames / window, 1)
    if frames:
        result.server_us_per_msg = round(cpu_s * 1e6 / frames, 2)
    per_client = max(1, result.alive_at_start) * window
    result.bytes_per_client_s = round(run.payload_bytes / per_client, 1)
    result.wire_bytes_per_client_s = round(run.wire_bytes / per_client, 1)
    result.naive_bytes_per_client_s = round(naive / per_client, 1)
    if run.payload_bytes:
        result.naive_over_measured = round(naive / run.payload_bytes, 2)


def _pose_figures(
    result: LevelResult,
    run: LoadRun,
    joined: list[LoadBot],
    rooms: list[LoadRoom],
    window: float,
) -> None:
    """Pose-to-peer latency, poses sent and seen, and everything that went wrong."""
    result.latency_samples = len(run.latencies)
    for name, q in (("p50_ms", 50.0), ("p90_ms", 90.0), ("p99_ms", 99.0), ("max_ms", 100.0)):
        value = percentile_ms(run.latencies, q)
        setattr(result, name, None if value is None else round(value, 2))
    sent = sum(c.k_end - c.k_start for c in joined)
    seen = sum(c.seen[c.k_start : c.k_end].count(1) for c in joined)
    result.poses_sent, result.poses_seen_by_a_peer = sent, seen
    has_peers = any(sum(1 for c in r.clients if c.joined) > 1 for r in rooms)
    if sent and has_peers:
        result.poses_coalesced_pct = round(100 * (sent - seen) / sent, 1)
    result.pose_hz_per_client = round(sent / max(1, result.alive_at_start) / window, 2)
    result.poses_skipped_backpressure = run.poses_skipped
    late = percentile_ms(run.driver_late, 99.0)
    result.driver_late_p99_ms = None if late is None else round(late, 2)
    result.driver_resyncs = run.driver_resyncs
    result.stale_frames = run.stale_frames
    if run.frames_state:
        result.stale_pct = round(100 * run.stale_frames / run.frames_state, 1)
    result.undecodable_positions = run.undecodable
    result.disconnects = sum(run.disconnects.values())
    result.close_codes = {str(k): v for k, v in sorted(run.disconnects.items())}
    result.error_codes = {str(k): v for k, v in sorted(run.errors.items())}
    result.examples = run.disconnect_examples + run.error_examples + run.client_exceptions


def _server_figures(
    result: LevelResult,
    m0: dict[str, float],
    m1: dict[str, float],
    window: float,
    cpu_s: float,
    rooms: int,
) -> None:
    """The server's own counters over the window, from its metrics before and after."""

    def delta(key: str) -> float | None:
        return m1[key] - m0[key] if key in m1 and key in m0 else None

    if (d := delta("wealthroom_frames_in_total")) is not None:
        result.server_frames_in_per_s = round(d / window, 1)
    if (d := delta('wealthroom_frames_out_total{kind="state"}')) is not None:
        result.server_state_frames_out_per_s = round(d / window, 1)
    if (d := delta("wealthroom_state_superseded_total")) is not None:
        result.server_state_superseded_per_s = round(d / window, 1)
    if (d := delta("wealthroom_tick_seconds_count")) is not None:
        result.server_ticks_per_room_s = round(d / window / (rooms + 1), 2)  # +1: demo
    result.server_tick_overruns = delta("wealthroom_tick_overruns_total")
    if (d := delta("wealthroom_tick_seconds_sum")) is not None and cpu_s > 0:
        result.server_tick_cpu_share_pct = round(100 * d / cpu_s, 1)
    if (batch := m1.get("wealthroom_pose_batch")) is not None:
        result.server_pose_batch = round(batch, 1)
    frames_in, frames_out = delta("wealthroom_frames_in_total"), 0.0
    for kind in ("state", "reliable"):
        frames_out += delta(f'wealthroom_frames_out_total{{kind="{kind}"}}') or 0.0
    if frames_in is not None and frames_in + frames_out > 0:
        result.server_us_per_frame = round(cpu_s * 1e6 / (frames_in + frames_out), 2)
