"""The Colyseus peer of ``bench/bench_peer.py``: a plain Colyseus 0.16 room and its load clients.

Both are Node programs in ``bench/peers/colyseus/`` (``server.js``, ``loadgen.js``), with their
npm packages pinned in that folder's package-lock.json and installed there with ``npm ci`` the
first time (again when the lock file changes). The server and the load generator are processes
of their own, each pinned, threads and all, to one CPU; the server's CPU time is read from
``/proc/<pid>/stat`` of the node process when the load generator opens and closes its window.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.load_level import machine_jiffies
from simulator.server_process import HOST

PEER_DIR = Path(__file__).resolve().parent / "peers" / "colyseus"


class PeerError(Exception):
    """The Colyseus peer could not be installed, started or measured."""


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_installed(peer_dir: Path = PEER_DIR) -> None:
    """``npm ci`` into ``peer_dir/node_modules`` unless it matches package-lock.json already."""
    if not node_available():
        raise PeerError("the Colyseus peer needs Node.js and npm on PATH")
    lock = (peer_dir / "package-lock.json").read_bytes()
    want = hashlib.sha256(lock).hexdigest()
    stamp = peer_dir / "node_modules" / ".installed"
    if stamp.exists() and stamp.read_text().strip() == want:
        return
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=peer_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise PeerError(f"npm ci failed in {peer_dir}: {done.stderr.strip()[-2000:]}")
    stamp.write_text(want + "\n")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the whole process (every thread), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float | None:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def pinned(cpu: int | None) -> Callable[[], None] | None:
    """A preexec hook pinning the child before exec, so every thread node starts inherits it."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


@dataclass(frozen=True, slots=True)
class PeerPlan:
    seconds: float = 12.0
    warmup: float = 2.0
    drain: float = 1.0
    hz: float = 30.0
    room_size: int = 10
    patch_hz: float = 20.0  # Colyseus's default patch rate (patchRate 50 ms)
    batch: int = 50
    log_dir: Path = Path("/tmp")


@dataclass
class PeerResult:
    """One level's figures for the Colyseus side (the loadgen's own figures under ``client``)."""

    clients: int
    connected: int = 0
    window_s: float = 0.0
    alive_at_start: int = 0
    server_cpu_s: float = 0.0
    server_cpu_pct: float = 0.0
    loadgen_cpu_pct: float = 0.0
    machine_busy_pct: float | None = None
    machine_steal_pct: float | None = None
    other_cpu_pct: float | None = None
    server_rss_mb: float | None = None
    bytes_per_client_s: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    setup_s: float = 0.0
    client: dict[str, Any] = field(default_factory=dict)
    server_log: list[str] = field(default_factory=list)
    aborted: str | None = None


async def _start_server(
    plan: PeerPlan, cpu: int | None, log_path: Path
) -> tuple[asyncio.subprocess.Process, int]:
    env = dict(os.environ, NODE_ENV="production")
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            "node",
            "server.js",
            "--host",
            HOST,
            "--port",
            "0",
            "--patch-hz",
            str(plan.patch_hz),
            "--room-size",
            str(plan.room_size),
            cwd=PEER_DIR,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            preexec_fn=pinned(cpu),
        )
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        for _ in range(100):
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise PeerError(f"the Colyseus server exited early; see {log_path}")
            if line.startswith("listening "):
                return proc, int(line.split()[1])
    raise PeerError("the Colyseus server never said it was listening")


async def _stop(proc: asyncio.subprocess.Process | None) -> None:
    if proc is None or proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def measure_peer_level(n: int, plan: PeerPlan, cpus: tuple[int, int] | None) -> PeerResult:
    """N load clients against a Colyseus server of their own, started for this level."""
    result = PeerResult(clients=n)
    log_path = plan.log_dir / f"colyseus-{n}.log"
    server: asyncio.subprocess.Process | None = None
    loadgen: asyncio.subprocess.Process | None = None
    budget = 60 + plan.warmup + plan.seconds + plan.drain + 60
    try:
        async with asyncio.timeout(budget):
            server, port = await _start_server(plan, cpus[0] if cpus else None, log_path)
            loadgen = await asyncio.create_subprocess_exec(
                "node",
                "loadgen.js",
                *("--host", HOST, "--port", str(port), "--clients", str(n)),
                *("--room-size", str(plan.room_size), "--hz", str(plan.hz)),
                *("--warmup", str(plan.warmup), "--seconds", str(plan.seconds)),
                *("--drain", str(plan.drain), "--batch", str(plan.batch)),
                cwd=PEER_DIR,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=pinned(cpus[1] if cpus else None),
            )
            await _follow(loadgen, server.pid, result)
    except TimeoutError:
        result.aborted = "timed out (per-level budget)"
    except (PeerError, OSError, ValueError) as exc:
        result.aborted = f"{type(exc).__name__}: {exc}"
    finally:
        if loadgen is not None and loadgen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                loadgen.kill()
            await loadgen.wait()
        await _stop(server)
    if log_path.exists():
        result.server_log = [
            ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()
        ][:5]
    return result


async def _follow(loadgen: asyncio.subprocess.Process, server_pid: int, r: PeerResult) -> None:
    """Read the load generator's events, sampling CPU times as its window opens and closes."""
    assert loadgen.stdout is not None
    assert loadgen.stderr is not None
    hz = os.sysconf("SC_CLK_TCK")
    start: tuple[float, float, tuple[int, int, int]] | None = None
    spent: tuple[float, float, int, int] | None = None  # server s, loadgen s, busy, steal
    for _ in range(100):
        line = await loadgen.stdout.readline()
        if not line:
            err = (await loadgen.stderr.read()).decode(errors="replace").strip()
            raise PeerError(f"the load generator stopped early: {err[-1500:]}")
        event = json.loads(line)
        kind = event["event"]
        if kind == "window_start":
            start = (cpu_seconds(server_pid), cpu_seconds(loadgen.pid), machine_jiffies())
        elif kind == "window_end" and start is not None:
            s1, l1, j1 = cpu_seconds(server_pid), cpu_seconds(loadgen.pid), machine_jiffies()
            s0, l0, j0 = start
            r.server_rss_mb = rss_mb(server_pid)
            r.server_cpu_s = round(s1 - s0, 3)
            spent = (s1 - s0, l1 - l0, j1[0] - j0[0], j1[1] - j0[1])
        elif kind == "joined":
            r.connected, r.setup_s = event["connected"], round(event["setup_s"], 2)
        elif kind == "result":
            if spent is None:
                raise PeerError("the load generator reported a result without a window")
            r.client = event
            window = event["window_s"]
            r.window_s, r.alive_at_start = window, event["alive_at_start"]
            srv, lg, busy, steal = spent
            r.server_cpu_pct = round(100 * srv / window, 1)
            r.loadgen_cpu_pct = round(100 * lg / window, 1)
            r.machine_busy_pct = round(100 * busy / hz / window, 1)
            r.machine_steal_pct = round(100 * steal / hz / window, 1)
            r.other_cpu_pct = round(r.machine_busy_pct - r.server_cpu_pct - r.loadgen_cpu_pct, 1)
            r.bytes_per_client_s = event["bytes_per_client_s"]
            r.p50_ms, r.p99_ms = event["p50_ms"], event["p99_ms"]
            return
        elif kind == "error":
            raise PeerError(f"load generator: {event['error'][:1500]}")
    raise PeerError("the load generator never reported a result")
