#!/usr/bin/env python3
"""How much machine per VR visitor, as a ratio against a peer framework (Colyseus) in one run.

A noisy shared VM moves absolute CPU figures from run to run; a ratio against a peer measured
in the same window, under the same load, on the same pinned CPUs, moves much less. For each
client count this runs, one after the other, with the order swapped every level:

* ours: ``run_server.py serve`` (:class:`simulator.server_process.ServerProcess`) loaded by
  :mod:`simulator.load_bot`'s bots from this process, as ``bench/bench_sync.py`` does: VR
  members sending head and both hands at 30 Hz in rooms of 10, acks riding on poses;
* Colyseus: a plain Colyseus 0.16 room (``bench/peers/colyseus/server.js``) whose state holds
  each member's head and hands as float32 schema fields (position and quaternion each, stored
  as received), loaded by ``bench/peers/colyseus/loadgen.js``: raw WebSockets speaking
  Colyseus's protocol, head and both hands at 30 Hz in rooms of 10 (see
  :mod:`bench.colyseus_peer`).

Each server is pinned to the first CPU and its load clients to the second. Per level and side
it prints server CPU (utime + stime of the server process from /proc/<pid>/stat over the
window, the node process for Colyseus), microseconds of server CPU per client-second, payload
bytes received per client per second, pose-to-peer p99 latency, the load generator's CPU (a
figure near 100% means the clients, not the server, set the pace) and the CPU that neither
used (other load on the machine), then the ratio ours/Colyseus.

    .venv/bin/python bench/bench_peer.py [--clients 100,200,300] [--seconds 12] [--json out.json]

The first run installs the peer's npm packages into bench/peers/colyseus/node_modules.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_sync import machine  # noqa: E402
from bench.colyseus_peer import PeerPlan, PeerResult, ensure_installed, measure_peer_level  # noqa: E402
from server.auth import TokenAuthority  # noqa: E402
from server.event_loop import run_loop  # noqa: E402
from simulator.load_bot import LoadRoom, LoadRun  # noqa: E402
from simulator.load_level import LevelResult, LoadPlan, drive_level  # noqa: E402
from simulator.server_process import ServerProcess  # noqa: E402

SATURATED_PCT = 95.0


class PatientServer(ServerProcess):
    """Our server, whose counters are optional: on a machine busy with other work a starved
    server may not answer /metrics in time, and that must not void the level's CPU figures."""

    async def metrics(self) -> dict[str, float]:
        try:
            return await super().metrics()
        except (TimeoutError, OSError):
            return {}


async def measure_ours(n: int, plan: LoadPlan, cpus: tuple[int, int] | None) -> LevelResult:
    """``simulator.load_level.measure_level`` with a :class:`PatientServer`."""
    rooms = [LoadRoom(f"bench-{r}") for r in range(math.ceil(n / plan.room_size))]
    result = LevelResult(clients=n, rooms=len(rooms))
    log_path = plan.log_dir / f"server-{n}.log"
    cpu = cpus[0] if cpus else None
    server = PatientServer(log_path, plan.server_log_level, None, cpu, tree=plan.server_tree)
    run = LoadRun(separate_acks=plan.separate_acks)
    try:
        await drive_level(n, plan, TokenAuthority, server, run, rooms, result, start=True)
    finally:
        result.server_exit_code = await server.stop()
    return result


@dataclass(frozen=True, slots=True)
class Row:
    """One side's figures at one level, in the units of the table."""

    side: str
    joined: int
    cpu_pct: float | None
    us_per_client_s: float | None
    bytes_per_client_s: float | None
    frames_per_client_s: float | None
    p99_ms: float | None
    loadgen_cpu_pct: float | None
    other_cpu_pct: float | None
    note: str

    @staticmethod
    def of_ours(r: LevelResult) -> Row:
        per = _per_client_s(r.server_cpu_s, r.alive_at_start, r.window_s)
        note = r.aborted or (
            f"pose Hz {r.pose_hz_per_client:g}, coalesced {r.poses_coalesced_pct}%, "
            f"disconnects {r.disconnects}, RSS {r.server_rss_mb} MB"
        )
        return Row(
            "ours",
            r.connected,
            r.server_cpu_pct if not r.aborted else None,
            per,
            r.bytes_per_client_s if not r.aborted else None,
            round(r.msgs_per_s / r.alive_at_start, 1) if r.alive_at_start else None,
            r.p99_ms,
            r.loadgen_cpu_pct if not r.aborted else None,
            r.other_cpu_pct,
            note,
        )

    @staticmethod
    def of_peer(r: PeerResult) -> Row:
        per = _per_client_s(r.server_cpu_s, r.alive_at_start, r.window_s)
        c = r.client
        note = r.aborted or (
            f"pose Hz {c.get('pose_hz_per_client')}, coalesced "
            f"{c.get('poses_coalesced_pct')}%, disconnects {c.get('disconnects')}, "
            f"RSS {r.server_rss_mb} MB"
        )
        return Row(
            "Colyseus",
            r.connected,
            r.server_cpu_pct if not r.aborted else None,
            per,
            r.bytes_per_client_s if not r.aborted else None,
            round(c["msgs_per_s"] / r.alive_at_start, 1) if r.alive_at_start else None,
            r.p99_ms,
            r.loadgen_cpu_pct if not r.aborted else None,
            r.other_cpu_pct,
            note,
        )


def _per_client_s(cpu_s: float, clients: int, window_s: float) -> float | None:
    if clients <= 0 or window_s <= 0:
        return None
    return round(cpu_s * 1e6 / (clients * window_s), 0)


def _fmt(value: float | int | None, spec: str = ".1f", unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


HEAD = (
    f"{'N':>4} {'server':<14} {'joined':>6} {'srv CPU':>8} {'us/client-s':>11} "
    f"{'B/s/client':>10} {'frames/s':>8} {'p99 ms':>7} {'client CPU':>10} {'other CPU':>9}"
)


def table(levels: list[tuple[int, Row, Row]]) -> str:
    lines = [HEAD, "-" * len(HEAD)]
    for n, ours, peer in levels:
        for row in (ours, peer):
            sat = " (sat.)" if (row.cpu_pct or 0) >= SATURATED_PCT else ""
            lines.append(
                f"{n:>4} {row.side:<14} {row.joined:>6} {_fmt(row.cpu_pct, '.1f', '%'):>8} "
                f"{_fmt(row.us_per_client_s, ',.0f'):>11} "
                f"{_fmt(row.bytes_per_client_s, ',.0f'):>10} "
                f"{_fmt(row.frames_per_client_s):>8} {_fmt(row.p99_ms):>7} "
                f"{_fmt(row.loadgen_cpu_pct, '.1f', '%'):>10} "
                f"{_fmt(row.other_cpu_pct, '.1f', '%'):>9}{sat}"
            )
        lines.append(
            f"{n:>4} {'ours/Colyseus':<14} {'':>6} {_ratio(ours.cpu_pct, peer.cpu_pct):>8} "
            f"{_ratio(ours.us_per_client_s, peer.us_per_client_s):>11} "
            f"{_ratio(ours.bytes_per_client_s, peer.bytes_per_client_s):>10} {'':>8} "
            f"{_ratio(ours.p99_ms, peer.p99_ms):>7}"
        )
    lines.append("")
    for n, ours, peer in levels:
        lines.append(f"N={n}: ours: {ours.note}; Colyseus: {peer.note}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--clients", default="100,200,300", help="comma-separated client counts")
    p.add_argument("--seconds", type=float, default=12.0, help="measured window per level")
    p.add_argument("--warmup", type=float, default=2.0, help="poses before the window")
    p.add_argument("--drain", type=float, default=1.0, help="wait for in-window poses to land")
    p.add_argument("--hz", type=float, default=30.0, help="pose rate per client")
    p.add_argument("--room-size", type=int, default=10)
    p.add_argument(
        "--colyseus-patch-hz",
        type=float,
        default=20.0,
        help="the Colyseus room's patch rate (its default: 20; ours ticks at 30)",
    )
    p.add_argument("--no-pin", action="store_true", help="do not pin servers and clients")
    p.add_argument(
        "--server-tree",
        type=Path,
        default=REPO,
        help="our server from another checkout (a git worktree of an older revision)",
    )
    p.add_argument("--log-dir", default="/tmp", help="where the servers' log files go")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    args.client_counts = [int(x) for x in args.clients.split(",") if x.strip()]
    if not args.client_counts or min(args.client_counts) < 1 or args.room_size < 1:
        p.error("--clients needs positive counts and --room-size must be >= 1")
    return args


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    ensure_installed()
    cpus: tuple[int, int] | None = None
    available = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(available) >= 2:
        cpus = (available[0], available[1])
        os.sched_setaffinity(0, {cpus[1]})  # this process runs our bots
    sharing = (
        f"servers pinned to CPU {cpus[0]}, load clients to CPU {cpus[1]}"
        if cpus
        else "servers and load clients unpinned (shared CPUs)"
    )
    log_dir = Path(args.log_dir)
    ours_plan = LoadPlan(
        seconds=args.seconds,
        warmup=args.warmup,
        drain=args.drain,
        hz=args.hz,
        room_size=args.room_size,
        log_dir=log_dir,
        server_tree=args.server_tree,
    )
    peer_plan = PeerPlan(
        seconds=args.seconds,
        warmup=args.warmup,
        drain=args.drain,
        hz=args.hz,
        room_size=args.room_size,
        patch_hz=args.colyseus_patch_hz,
        log_dir=log_dir,
    )
    print(f"machine: {machine()}, Node {_node_version()}")
    print(sharing)
    print(
        f"rooms of {args.room_size}, head + both hands at {args.hz:g} Hz, warm-up "
        f"{args.warmup:g} s, window {args.seconds:g} s; a fresh server per side and level; "
        f"ours ticks at 30 Hz, Colyseus patches at {args.colyseus_patch_hz:g} Hz\n",
        flush=True,
    )
    levels: list[tuple[int, Row, Row]] = []
    raw: list[dict[str, Any]] = []
    for i, n in enumerate(args.client_counts):
        ours: LevelResult | None = None
        peer: PeerResult | None = None
        for side in ("ours", "peer") if i % 2 == 0 else ("peer", "ours"):
            print(f"N={n}: {'ours' if side == 'ours' else 'Colyseus'} ...", flush=True)
            if side == "ours":
                ours = await measure_ours(n, ours_plan, cpus)
            else:
                peer = await measure_peer_level(n, peer_plan, cpus)
        assert ours is not None
        assert peer is not None
        levels.append((n, Row.of_ours(ours), Row.of_peer(peer)))
        raw.append({"clients": n, "ours": asdict(ours), "colyseus": asdict(peer)})
        print(table(levels[-1:]) + "\n", flush=True)
    print()
    print(table(levels))
    print(
        "\nsrv CPU: utime+stime of the server process over the window (100% = one core). "
        "us/client-s: that CPU per connected client per second. B/s/client: WebSocket payload "
        "bytes each client received per second. frames/s: state frames each client received "
        "per second (ours: one a tick at 30 Hz when something moved; Colyseus: one a patch); "
        "well under that rate, the server (or its share of the CPU) did not keep up. p99: "
        "pose sent -> first state frame at a peer showing it (two observers per room). "
        "client CPU: the load generator, on the other CPU. other CPU: busy time of everything "
        "else on the machine during the window."
    )
    return {
        "benchmark": "bench/bench_peer.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_sharing": sharing,
        "argv": sys.argv[1:],
        "levels": raw,
    }


def _node_version() -> str:
    done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "?"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    doc = run_loop(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
