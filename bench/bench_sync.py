#!/usr/bin/env python3
"""Sync load benchmark: N bots sending poses at 30 Hz into rooms of 10, against a real server.

The server runs as its own process (``run_server.py serve``, fresh random secret, a free
loopback port, restarted for every N). The bots are lean sans-I/O WebSocket clients
(``websockets.client.ClientProtocol`` driven from ``asyncio.Protocol`` callbacks, no task per
client) in this process. With two or more CPUs the server is pinned to one CPU and this
process to another, so each gets one core (both are single-threaded asyncio programs).

For each N it reports, over a measured window after a warm-up:

* server CPU time (utime + stime from /proc/<pid>/stat) per frame the clients received;
* pose-to-peer latency: client i's k-th pose carries k in its left hand's offset from the
  head, in millimetres (dx = k mod 1000 - 500, dy = -(k div 1000)), which the server passes
  through unchanged (the head stays where the bot arrived, so no walking rule corrects it);
  a peer that sees the hand in an applied snapshot/delta looks up when the pose was sent
  (one process, one monotonic clock). Two bots per room (the observers) read every peer's
  pose; the others apply and ack every frame but skip that per-peer work, so that one core
  carries enough bots to load the server's;
* payload bytes received per client per second, against a naive baseline for the same room
  states: a full msgpack snapshot of every avatar, float64 position and float64 quaternion,
  sent every tick to every member;
* poses coalesced (sent, but superseded before any peer saw them: the server keeps only the
  latest pose per tick), disconnects with their close codes, and error frames.

    .venv/bin/python bench/bench_sync.py [--clients 1,100,500,1000] [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import socket
import struct
import sys
import time
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import numpy as np
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol.codec import pack, unpack
from protocol.limits import PROTOCOL_VERSION, SUBPROTOCOL
from protocol.pose import SIZE_WITH_HANDS, AvatarPose, Part
from protocol.quantise import unpack_quat, yaw_quat
from rooms.roles import Role
from server.auth import TokenAuthority
from server.event_loop import run_loop

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# Pose identity: the left hand's offset from the head, in millimetres, within arm's reach.
KSPAN, KROWS = 1000, 700
MAX_POSES = KSPAN * KROWS
OBSERVERS_PER_ROOM = 2
# Head position, the head's rotation skipped, left hand position: after the flags byte.
_BENCH_FIELDS = struct.Struct("<hhh4xhhh")
QUATS = [list(yaw_quat(2 * math.pi * j / 72)) for j in range(72)]
BACKPRESSURE_BYTES = 64 * 1024  # skip a pose (as a browser would) while this much is unsent
TICK_HZ = 30  # the server's default tick rate (Settings.tick_hz)
DRIVER_SLOTS = 8  # poses are spread over 8 slots per pose period instead of one burst


# --- shared measurement state ---------------------------------------------------------------------


@dataclass(eq=False)
class RoomState:
    name: str
    clients: list[BenchClient] = field(default_factory=list)
    member_client: dict[int, int] = field(default_factory=dict)  # member id -> client index
    ents: dict[int, dict[str, Any]] = field(default_factory=dict)  # last seen fields per entity
    ent_owner: dict[int, int] = field(default_factory=dict)  # entity id -> client index
    tick: int = 0


@dataclass(eq=False)
class Run:
    clients: list[BenchClient] = field(default_factory=list)
    measuring: bool = False  # frames and bytes are counted only inside the window
    recording: bool = True  # latency samples are still taken while draining after the window
    driving: bool = False
    separate_acks: bool = False  # one ack frame per state frame instead of riding on poses
    shutting_down: bool = False
    window_start: float = math.inf
    window_end: float = math.inf
    frames_state: int = 0
    frames_reliable: int = 0
    frames_other: int = 0
    payload_bytes: int = 0
    wire_bytes: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    driver_late: array[float] = field(default_factory=lambda: array("d"))
    driver_resyncs: int = 0
    poses_skipped: int = 0
    stale_frames: int = 0
    undecodable: int = 0
    errors: Counter[int] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    disconnects: Counter[int] = field(default_factory=Counter)
    disconnect_examples: list[str] = field(default_factory=list)
    client_exceptions: list[str] = field(default_factory=list)


class BenchClient(asyncio.Protocol):
    """One bot: handshake, hello, join, then poses on demand and an ack for every applied frame."""

    def __init__(self, run: Run, idx: int, room: RoomState, seat: int, url: str, token: str):
        self.run = run
        self.idx = idx
        self.room = room
        # Two bots per room read every peer's pose out of the state frames (latency, loss,
        # garbling); the rest check each frame's tick and ack it, as a client must, but skip
        # the per-peer work. Two, so that every bot's poses have a reader other than itself:
        # the load generator then carries about twice as many bots on its one core.
        self.observer = seat < OBSERVERS_PER_ROOM
        self.head: tuple[int, int, int] | None = None  # where the server put us, mm
        self.pending_ack: int | None = None
        self.token = token
        self.proto = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol(SUBPROTOCOL)])
        self.transport: asyncio.Transport | None = None
        self.member: int | None = None
        self.tick = -1
        self.joined = False
        self.closed = False
        self.failure: str | None = None
        self.settled = asyncio.Event()  # set once joined, or once it failed
        self.close_code: int | None = None
        self.sent_at: array[float] = array("d")  # k -> monotonic send time
        self.seen: bytearray = bytearray()  # k -> 1 once any peer applied it
        self.last_k: dict[int, int] = {}  # sender index -> newest k this client has seen
        self.k_start = 0
        self.k_end = 0

    # --- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        request = self.proto.connect()
        request.headers["Authorization"] = f"Bearer {self.token}"
        self.proto.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        run = self.run
        if run.measuring:
            run.wire_bytes += len(data)
        try:
            self.proto.receive_data(data)
            for event in self.proto.events_received():
                if isinstance(event, Frame):
                    if event.opcode is Opcode.BINARY:
                        self._on_message(bytes(event.data), now)
                    elif event.opcode is Opcode.TEXT:
                        self._fail("text frame from server")
                elif isinstance(event, Response):
                    self._on_handshake()
        except Exception as exc:
            if len(run.client_exceptions) < 10:
                run.client_exceptions.append(f"client {self.idx}: {exc!r}")
            if self.transport is not None:
                self.transport.abort()
            return
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        rcvd = self.proto.close_rcvd
        code = rcvd.code if rcvd is not None else 1006
        reason = rcvd.reason if rcvd is not None else (repr(exc) if exc else "no close frame")
        self.close_code = code
        if not self.run.shutting_down:
            self.run.disconnects[code] += 1
            if len(self.run.disconnect_examples) < 5:
                self.run.disconnect_examples.append(f"client {self.idx}: {code} {reason}")
        self._fail(f"closed {code} {reason}")

    # --- protocol ---------------------------------------------------------------------------------

    def _on_handshake(self) -> None:
        proto = self.proto
        if proto.handshake_exc is not None or proto.state is not State.OPEN:
            self._fail(f"handshake failed: {proto.handshake_exc!r}")
            if self.transport is not None:
                self.transport.abort()
            return
        if proto.subprotocol != SUBPROTOCOL:
            self._fail(f"server chose subprotocol {proto.subprotocol!r}")
            return
        self._send({"t": "hello", "v": PROTOCOL_VERSION, "client": "bench_sync"})

    def _on_message(self, data: bytes, now: float) -> None:
        run = self.run
        msg = unpack(data, max_bytes=len(data) + 1)
        t = msg["t"]
        if t == "delta" or t == "snapshot":
            if run.measuring:
                run.frames_state += 1
                run.payload_bytes += len(data)
            self._on_state(msg, t == "snapshot", now)
            return
        if run.measuring:
            run.payload_bytes += len(data)
            if t in ("joined", "left", "chat"):
                run.frames_reliable += 1
            else:
                run.frames_other += 1
        if t == "welcome":
            self.member = msg["member"]
            self.room.member_client[msg["member"]] = self.idx
            self._send({"t": "join", "name": f"bot-{self.idx}"})
        elif t == "joined":
            if msg["member"] == self.member and not self.joined:
                self.joined = True
                self.settled.set()
        elif t == "error":
            run.errors[msg["code"]] += 1
            if len(run.error_examples) < 5:
                run.error_examples.append(f"client {self.idx}: {msg['code']} {msg['msg']}")

    def _on_state(self, msg: dict[str, Any], snapshot: bool, now: float) -> None:
        tick: int = msg["tick"]
        if snapshot:
            if tick <= self.tick:
                if self.run.measuring:
                    self.run.stale_frames += 1
                return
        elif not msg["base"] <= self.tick < tick:
            if self.run.measuring:
                self.run.stale_frames += 1
            return
        self.tick = tick
        if self.run.separate_acks:
            self._send({"t": "ack", "tick": tick})
        else:
            self.pending_ack = tick  # rides on the next pose, 0-33 ms later
        run, room, clients = self.run, self.room, self.run.clients
        if tick > room.tick:
            room.tick = tick
        if not self.observer and self.head is not None:
            return
        ents = room.ents
        if snapshot:
            ents.clear()
        else:
            for gone in msg["gone"]:
                ents.pop(gone, None)
                room.ent_owner.pop(gone, None)
        for e in msg["ents"]:
            i: int = e["i"]
            known = ents.get(i)
            if known is None or "k" in e:
                ents[i] = e
            else:
                known.update(e)
            x = e.get("x")
            if x is None:
                continue
            owner = room.ent_owner.get(i)
            if owner is None:
                member = ents[i].get("m")
                if member is None or member not in room.member_client:
                    continue
                owner = room.ent_owner[i] = room.member_client[member]
            # Only the few fields the bench reads, straight from the packed record: this runs
            # for every peer in every state frame at every bot, and the load generator has
            # one core to carry hundreds of bots.
            if owner == self.idx:
                if self.head is None:
                    self.head = AvatarPose.unpack(x).head.pos
                continue
            if len(x) != SIZE_WITH_HANDS:
                continue  # still as it arrived: no bench pose yet
            hx, hy, hz, lx, ly, lz = _BENCH_FIELDS.unpack_from(x, 1)
            k = (lx - hx + KSPAN // 2) + KSPAN * (hy - ly)
            if k <= self.last_k.get(owner, -1):
                continue  # seen already (a resent delta), not a new pose
            self.last_k[owner] = k
            sender = clients[owner]
            if not 0 <= k < len(sender.sent_at) or lz != hz:
                run.undecodable += 1
                continue
            sender.seen[k] = 1
            sent = sender.sent_at[k]
            if run.recording and run.window_start <= sent < run.window_end:
                run.latencies.append(now - sent)

    # --- sending ----------------------------------------------------------------------------------

    def _send(self, obj: dict[str, Any]) -> None:
        """Queue a frame; written by the ``_flush`` at the end of the current callback."""
        if self.proto.state is State.OPEN:
            self.proto.send_binary(pack(obj))

    def _flush(self) -> None:
        transport = self.transport
        chunks = self.proto.data_to_send()
        if transport is None or not chunks or transport.is_closing():
            return
        out = b"".join(chunks)
        if out:
            transport.write(out)
        if chunks[-1] == b"" and transport.can_write_eof():
            transport.write_eof()

    def send_pose(self) -> None:
        transport = self.transport
        if not self.joined or self.closed or transport is None or self.head is None:
            return
        if transport.get_write_buffer_size() > BACKPRESSURE_BYTES:
            if self.run.measuring:
                self.run.poses_skipped += 1
            return
        k = len(self.sent_at)
        if k >= MAX_POSES:
            return
        hx, hy, hz = self.head
        head = [hx / 1000, hy / 1000, hz / 1000]
        left = [(hx + k % KSPAN - KSPAN // 2) / 1000, (hy - k // KSPAN) / 1000, hz / 1000]
        right = [(hx + 300) / 1000, (hy - 400) / 1000, hz / 1000]
        msg: dict[str, Any] = {
            "t": "pose",
            "p": head,
            "q": QUATS[k % len(QUATS)],
            "hm": 1,
            "lh": [*left, 0.0, 0.0, 0.0, 1.0],
            "rh": [*right, 0.0, 0.0, 0.0, 1.0],
        }
        if self.pending_ack is not None:
            msg["ack"], self.pending_ack = self.pending_ack, None
        data = pack(msg)
        self.sent_at.append(time.monotonic())
        self.seen.append(0)
        self.proto.send_binary(data)
        self._flush()

    def close(self) -> None:
        if self.transport is None or self.closed:
            return
        if self.proto.state is State.OPEN:
            self.proto.send_close(1000, "bench done")
            self._flush()
        else:
            self.transport.abort()

    def _fail(self, why: str) -> None:
        if self.failure is None and not self.joined:
            self.failure = why
        self.settled.set()


# --- the server process ---------------------------------------------------------------------------


_LIVE_SERVERS: set[int] = set()


@atexit.register
def _kill_leftover_servers() -> None:
    for pid in list(_LIVE_SERVERS):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        log_path: Path,
        log_level: str,
        profile: Path | None,
        cpu: int | None,
        env: dict[str, str] | None = None,
        tree: Path = REPO,
    ):
        self.tree = tree
        self.port = free_port()
        self.env = env or {}
        self.secret = secrets.token_urlsafe(48)
        self.log_path = log_path
        self.log_level = log_level
        self.profile = profile
        self.cpu = cpu
        self.proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, limit_s: float = 30.0) -> None:
        env = dict(os.environ)
        env["WEALTHROOM_SECRET"] = self.secret
        env.pop("WEALTHROOM_SECRET_FILE", None)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        cmd = [sys.executable]
        if self.profile is not None:
            cmd += ["-m", "cProfile", "-o", str(self.profile)]
        cmd += [str(self.tree / "run_server.py"), "--log-level", self.log_level]
        cmd += ["serve", "--host", HOST, "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd,
                cwd=self.tree,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        _LIVE_SERVERS.add(self.proc.pid)
        if self.cpu is not None:
            os.sched_setaffinity(self.proc.pid, {self.cpu})
        assert self.proc.stdout is not None
        async with asyncio.timeout(limit_s):
            for _ in range(1000):
                line = await self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"server exited early; see {self.log_path}")
                if b"Wealthroom is serving on" in line:
                    break
        self._drain = asyncio.create_task(self._drain_stdout(self.proc.stdout))

    @staticmethod
    async def _drain_stdout(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):  # ends at EOF, when the server exits
            pass

    async def stop(self, limit_s: float = 15.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), limit_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.wait_for(proc.wait(), 5)
        _LIVE_SERVERS.discard(proc.pid)
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
        return proc.returncode

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return math.nan

    async def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters (``name{labels}`` -> value)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, self.port), 5)
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            raw = await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        out: dict[str, float] = {}
        for line in raw.partition(b"\r\n\r\n")[2].decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
        return out


def machine_jiffies() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies over all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return busy, steal, busy + steal + idle + iowait


# --- one load level -------------------------------------------------------------------------------


@dataclass
class Result:
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
    server_us_per_frame: float | None = None  # CPU per frame in or out, from the server's counters
    server_rss_start_mb: float | None = None  # after the warm-up, as the window opens
    server_rss_mb: float | None = None
    server_log_lines: int = 0
    server_log_examples: list[str] = field(default_factory=list)
    server_exit_code: int | None = None
    aborted: str | None = None


def _pct(values: array[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.frombuffer(values, dtype=np.float64), q)) * 1000


def naive_snapshot_size(room: RoomState) -> int:
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


async def sample_naive(rooms: list[RoomState], tick_hz: int, out: list[float], stop: float) -> None:
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


async def drive_poses(run: Run, clients: list[BenchClient], hz: float, hard_stop: float) -> None:
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
    clients: list[BenchClient], port: int, batch: int, each_s: float, budget_s: float
) -> Counter[str]:
    """Connect and join in batches of ``batch``; each client gets ``each_s``, all ``budget_s``."""
    loop = asyncio.get_running_loop()
    failures: Counter[str] = Counter()
    deadline = time.monotonic() + budget_s

    async def one(client: BenchClient) -> None:
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


async def close_all(clients: list[BenchClient], limit_s: float) -> None:
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


async def measure(n: int, args: argparse.Namespace, cpus: tuple[int, int] | None) -> Result:
    room_size: int = args.room_size
    rooms = [RoomState(f"bench-{r}") for r in range(math.ceil(n / room_size))]
    result = Result(clients=n, rooms=len(rooms))
    log_path = Path(args.log_dir) / f"server-{n}.log"
    profile = Path(f"{args.profile_server}.{n}.prof") if args.profile_server else None
    server = ServerProcess(
        log_path, args.server_log_level, profile, cpus[0] if cpus else None, tree=args.server_tree
    )
    run = Run(separate_acks=args.separate_acks)
    try:
        async with asyncio.timeout(
            args.setup_budget + args.warmup + args.seconds + args.drain + 90
        ):
            await server.start()
            await _measure(n, args, server, run, rooms, result)
    except TimeoutError:
        result.aborted = "timed out (per-N budget); server killed"
    except Exception as exc:
        result.aborted = f"{type(exc).__name__}: {exc}"
    finally:
        run.driving = False
        run.shutting_down = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(close_all(run.clients, 5.0), 10)
        result.server_exit_code = await server.stop()
    if log_path.exists():
        lines = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()]
        result.server_log_lines = len(lines)
        result.server_log_examples = lines[:5]
    return result


async def _measure(
    n: int,
    args: argparse.Namespace,
    server: ServerProcess,
    run: Run,
    rooms: list[RoomState],
    result: Result,
) -> None:
    tokens = TokenAuthority(server.secret.encode())
    for i in range(n):
        room = rooms[i // args.room_size]
        token = tokens.mint(room=room.name, role=Role.BOT, subject=f"bench-{i}", name=f"bot-{i}")
        url = f"ws://{HOST}:{server.port}/ws/{room.name}"
        client = BenchClient(run, i, room, i % args.room_size, url, token)
        room.clients.append(client)
        run.clients.append(client)

    t0 = time.monotonic()
    failures = await connect_all(run.clients, server.port, args.batch, 15.0, args.setup_budget)
    result.setup_s = time.monotonic() - t0
    result.connect_failures = dict(failures)
    joined = [c for c in run.clients if c.joined and not c.closed]
    result.connected = len(joined)
    if not joined:
        raise RuntimeError("no client could join")

    run.driving = True
    hard_stop = time.monotonic() + args.warmup + args.seconds + 30
    driver = asyncio.create_task(drive_poses(run, joined, args.hz, hard_stop))
    try:
        await asyncio.sleep(args.warmup)

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
        await sample_naive(rooms, TICK_HZ, naive, w0 + args.seconds)
        run.measuring = False
        run.window_end = w1 = time.monotonic()
        cpu1, lg1 = server.cpu_seconds(), time.process_time()
        j1 = machine_jiffies()
        run.driving = False
        for c in joined:
            c.k_end = len(c.sent_at)
        m1 = await server.metrics()
        result.server_rss_mb = round(server.rss_mb(), 1)
        await asyncio.sleep(args.drain)  # let in-window poses reach peers
        run.recording = False
    finally:
        run.driving = False
        await asyncio.gather(driver, return_exceptions=True)

    window = w1 - w0
    result.window_s = round(window, 3)
    result.alive_at_end = sum(1 for c in joined if not c.closed)
    result.server_cpu_s = round(cpu1 - cpu0, 3)
    result.server_cpu_pct = round(100 * (cpu1 - cpu0) / window, 1)
    result.loadgen_cpu_pct = round(100 * (lg1 - lg0) / window, 1)
    hz, busy, steal = os.sysconf("SC_CLK_TCK"), j1[0] - j0[0], j1[1] - j0[1]
    result.machine_busy_pct = round(100 * busy / hz / window, 1)
    result.machine_steal_pct = round(100 * steal / hz / window, 1)
    result.other_cpu_pct = round(
        result.machine_busy_pct - result.server_cpu_pct - result.loadgen_cpu_pct, 1
    )
    frames = run.frames_state + run.frames_reliable + run.frames_other
    result.frames_delivered = frames
    result.frames_state, result.frames_reliable = run.frames_state, run.frames_reliable
    result.frames_other = run.frames_other
    result.msgs_per_s = round(frames / window, 1)
    if frames:
        result.server_us_per_msg = round((cpu1 - cpu0) * 1e6 / frames, 2)
    per_client = max(1, result.alive_at_start) * window
    result.bytes_per_client_s = round(run.payload_bytes / per_client, 1)
    result.wire_bytes_per_client_s = round(run.wire_bytes / per_client, 1)
    result.naive_bytes_per_client_s = round(naive[0] / per_client, 1)
    if run.payload_bytes:
        result.naive_over_measured = round(naive[0] / run.payload_bytes, 2)

    result.latency_samples = len(run.latencies)
    for name, q in (("p50_ms", 50.0), ("p90_ms", 90.0), ("p99_ms", 99.0), ("max_ms", 100.0)):
        value = _pct(run.latencies, q)
        setattr(result, name, None if value is None else round(value, 2))
    sent = sum(c.k_end - c.k_start for c in joined)
    seen = sum(c.seen[c.k_start : c.k_end].count(1) for c in joined)
    result.poses_sent, result.poses_seen_by_a_peer = sent, seen
    has_peers = any(sum(1 for c in r.clients if c.joined) > 1 for r in rooms)
    if sent and has_peers:
        result.poses_coalesced_pct = round(100 * (sent - seen) / sent, 1)
    result.pose_hz_per_client = round(sent / max(1, result.alive_at_start) / window, 2)
    result.poses_skipped_backpressure = run.poses_skipped
    late = _pct(run.driver_late, 99.0)
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

    def delta(key: str) -> float | None:
        return m1[key] - m0[key] if key in m1 and key in m0 else None

    if (d := delta("wealthroom_frames_in_total")) is not None:
        result.server_frames_in_per_s = round(d / window, 1)
    if (d := delta('wealthroom_frames_out_total{kind="state"}')) is not None:
        result.server_state_frames_out_per_s = round(d / window, 1)
    if (d := delta("wealthroom_state_superseded_total")) is not None:
        result.server_state_superseded_per_s = round(d / window, 1)
    if (d := delta("wealthroom_tick_seconds_count")) is not None:
        result.server_ticks_per_room_s = round(d / window / (len(rooms) + 1), 2)  # +1: demo
    result.server_tick_overruns = delta("wealthroom_tick_overruns_total")
    if (d := delta("wealthroom_tick_seconds_sum")) is not None and cpu1 > cpu0:
        result.server_tick_cpu_share_pct = round(100 * d / (cpu1 - cpu0), 1)
    frames_in, frames_out = delta("wealthroom_frames_in_total"), 0.0
    for kind in ("state", "reliable"):
        frames_out += delta(f'wealthroom_frames_out_total{{kind="{kind}"}}') or 0.0
    if frames_in is not None and frames_in + frames_out > 0:
        result.server_us_per_frame = round((cpu1 - cpu0) * 1e6 / (frames_in + frames_out), 2)


# --- output ---------------------------------------------------------------------------------------


def _fmt(value: float | int | None, spec: str = ".1f", unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def table(results: list[Result]) -> str:
    head1 = (
        f"{'N':>5} {'joined':>6} {'srv CPU':>8} {'us/msg':>7} {'msgs/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>8} {'B/client/s':>10} {'naive B/cl/s':>12} {'naive/real':>10} "
        f"{'coalesced':>9} {'pose Hz':>7}"
    )
    lines = [head1, "-" * len(head1)]
    for r in results:
        lines.append(
            f"{r.clients:>5} {r.connected:>6} {_fmt(r.server_cpu_pct, '.1f', '%'):>8} "
            f"{_fmt(r.server_us_per_msg, '.2f'):>7} {_fmt(r.msgs_per_s, '.0f'):>8} "
            f"{_fmt(r.p50_ms):>7} {_fmt(r.p99_ms):>8} {_fmt(r.bytes_per_client_s, '.0f'):>10} "
            f"{_fmt(r.naive_bytes_per_client_s, '.0f'):>12} "
            f"{_fmt(r.naive_over_measured, '.2f', 'x'):>10} "
            f"{_fmt(r.poses_coalesced_pct, '.1f', '%'):>9} {_fmt(r.pose_hz_per_client):>7}"
        )
    head2 = (
        f"{'N':>5} {'loadgen CPU':>11} {'other CPU':>9} {'late p99':>8} {'stale':>6} "
        f"{'srv in/s':>9} {'ticks/room/s':>12} {'tick CPU':>8} {'us/frame':>8} {'disconnects':>11} "
        f"{'close codes':>12} {'errors':>10} {'setup s':>7}"
    )
    lines += ["", head2, "-" * len(head2)]
    for r in results:
        codes = ",".join(f"{k}x{v}" for k, v in r.close_codes.items()) or "-"
        errors = ",".join(f"{k}x{v}" for k, v in r.error_codes.items()) or "-"
        lines.append(
            f"{r.clients:>5} {_fmt(r.loadgen_cpu_pct, '.1f', '%'):>11} "
            f"{_fmt(r.other_cpu_pct, '.1f', '%'):>9} "
            f"{_fmt(r.driver_late_p99_ms, '.1f', 'ms'):>8} {_fmt(r.stale_pct, '.1f', '%'):>6} "
            f"{_fmt(r.server_frames_in_per_s, '.0f'):>9} {_fmt(r.server_ticks_per_room_s):>12} "
            f"{_fmt(r.server_tick_cpu_share_pct, '.1f', '%'):>8} "
            f"{_fmt(r.server_us_per_frame, '.1f'):>8} {r.disconnects:>11} "
            f"{codes:>12} {errors:>10} {_fmt(r.setup_s):>7}"
        )
    for r in results:
        if r.server_rss_start_mb is not None and r.server_rss_mb is not None:
            growth = 100 * (r.server_rss_mb / r.server_rss_start_mb - 1)
            lines.append(
                f"N={r.clients}: server memory (RSS) {r.server_rss_start_mb} MB at the start "
                f"of the window, {r.server_rss_mb} MB at its end ({growth:+.1f}%)"
            )
    for r in results:
        notes = []
        if r.aborted:
            notes.append(f"aborted: {r.aborted}")
        if r.connect_failures:
            notes.append(f"join failures {r.connect_failures}")
        if r.poses_skipped_backpressure:
            notes.append(f"{r.poses_skipped_backpressure} poses skipped (socket backpressure)")
        if (r.other_cpu_pct or 0) > 10 or (r.machine_steal_pct or 0) > 5:
            notes.append(
                f"other load on the machine: {r.other_cpu_pct}% CPU, steal "
                f"{r.machine_steal_pct}%; figures disturbed, rerun"
            )
        if r.undecodable_positions:
            notes.append(f"{r.undecodable_positions} positions not decodable")
        notes += r.examples[:3]
        if r.server_log_lines:
            notes.append(
                f"server log: {r.server_log_lines} lines, e.g. {r.server_log_examples[:1]}"
            )
        if notes:
            lines.append(f"N={r.clients}: " + "; ".join(notes))
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--clients", default="1,100,500,1000", help="comma-separated client counts")
    p.add_argument("--seconds", type=float, default=10.0, help="measured window per N")
    p.add_argument("--warmup", type=float, default=2.0, help="poses before the window")
    p.add_argument("--drain", type=float, default=2.0, help="wait for in-window poses to land")
    p.add_argument("--hz", type=float, default=30.0, help="pose rate per client")
    p.add_argument("--room-size", type=int, default=10)
    p.add_argument("--batch", type=int, default=50, help="concurrent joins during set-up")
    p.add_argument("--setup-budget", type=float, default=60.0, help="seconds to connect all")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument(
        "--separate-acks",
        action="store_true",
        help="send an ack frame for every state frame instead of the pose's ack field",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin server and bench to CPUs")
    p.add_argument(
        "--server-tree",
        type=Path,
        default=REPO,
        help="measure the server of another checkout (a git worktree of an older revision)",
    )
    p.add_argument("--server-log-level", default="WARNING")
    p.add_argument("--log-dir", default="/tmp", help="where server-<N>.log files go")
    p.add_argument(
        "--profile-server",
        metavar="PREFIX",
        help="run the server under cProfile, writing PREFIX.<N>.prof (distorts the CPU figures)",
    )
    args = p.parse_args(argv)
    args.client_counts = [int(x) for x in args.clients.split(",") if x.strip()]
    if not args.client_counts or min(args.client_counts) < 1 or args.room_size < 1:
        p.error("--clients needs positive counts and --room-size must be >= 1")
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    cpus: tuple[int, int] | None = None
    available = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(available) >= 2:
        cpus = (available[0], available[1])
        os.sched_setaffinity(0, {cpus[1]})
    sharing = (
        f"server: 1 process pinned to CPU {cpus[0]}; load generator: this process "
        f"(1 asyncio thread, up to {max(args.client_counts)} sans-I/O clients) "
        f"pinned to CPU {cpus[1]}"
        if cpus
        else "server and load generator unpinned (shared CPUs)"
    )
    print(f"machine: {machine()}")
    print(sharing)
    acks = "separate ack frames" if args.separate_acks else "acks ride on poses"
    print(
        f"rooms of {args.room_size}, poses at {args.hz:g} Hz, warm-up {args.warmup:g} s, "
        f"window {args.seconds:g} s, drain {args.drain:g} s; server restarted for every N; "
        f"{acks}\n",
        flush=True,
    )
    results: list[Result] = []
    for n in args.client_counts:
        print(f"N={n}: running ...", flush=True)
        r = await measure(n, args, cpus)
        results.append(r)
        status = f"aborted: {r.aborted}" if r.aborted else "done"
        print(
            f"N={n}: {status}; joined {r.connected}/{n} in {r.setup_s:.1f} s, server CPU "
            f"{r.server_cpu_pct:.0f}%, p50 {_fmt(r.p50_ms)} ms, p99 {_fmt(r.p99_ms)} ms, "
            f"disconnects {r.disconnects}",
            flush=True,
        )
    print()
    print(table(results))
    print(
        "\nus/msg: server CPU (utime+stime) per frame the clients received in the window. "
        "p50/p99: pose sent -> first applied state frame at a peer (one of the room's two "
        "observers) containing it. "
        "B/client/s: msgpack payload received. naive: full float64 snapshot of every avatar, "
        "every tick, to every member. coalesced: poses no peer ever saw (latest pose per tick "
        "wins). stale: state frames the client could not apply (delta base newer than its tick, "
        "so no ack). late p99: how late the load generator's pose slots ran (high: the latency "
        "includes client-side queueing). other CPU: busy time of processes other than the "
        "server and this one during the window (should be ~0). tick CPU: share of server CPU "
        "inside Room.tick. us/frame: server CPU per frame in or out (server counters)."
    )
    return {
        "benchmark": "bench/bench_sync.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_sharing": sharing,
        "acks": "separate" if args.separate_acks else "on poses",
        "argv": sys.argv[1:],
        "results": [asdict(r) for r in results],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    doc = run_loop(amain(args))  # the bots on uvloop too: one core carries hundreds of them
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
