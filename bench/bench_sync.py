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

This is the command line; the bots are :mod:`simulator.load_bot`, the measuring
:mod:`simulator.load_level` and the server :mod:`simulator.server_process`, which the
simulator's load mode shares.

    .venv/bin/python bench/bench_sync.py [--clients 1,100,500,1000] [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.auth import TokenAuthority
from server.event_loop import run_loop
from simulator.load_level import LevelResult, LoadPlan, measure_level
from simulator.server_process import REPO

# --- output ---------------------------------------------------------------------------------------


def _fmt(value: float | int | None, spec: str = ".1f", unit: str = "") -> str:
    return "-" if value is None else format(value, spec) + unit


def table(results: list[LevelResult]) -> str:
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
        if r.server_pose_batch is not None:
            lines.append(f"N={r.clients}: binary poses per judgement {r.server_pose_batch}")
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
    p.add_argument(
        "--map-poses",
        action="store_true",
        help="send the map form `pose` (floats) instead of binary pose frames (older servers)",
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


def plan_of(args: argparse.Namespace) -> LoadPlan:
    return LoadPlan(
        seconds=args.seconds,
        warmup=args.warmup,
        drain=args.drain,
        hz=args.hz,
        room_size=args.room_size,
        batch=args.batch,
        setup_budget=args.setup_budget,
        separate_acks=args.separate_acks,
        map_poses=args.map_poses,
        server_tree=args.server_tree,
        server_log_level=args.server_log_level,
        log_dir=Path(args.log_dir),
        profile_server=args.profile_server,
    )


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
        f"{acks}, {'map-form' if args.map_poses else 'binary'} poses\n",
        flush=True,
    )
    results: list[LevelResult] = []
    for n in args.client_counts:
        print(f"N={n}: running ...", flush=True)
        r = await measure_level(n, plan_of(args), TokenAuthority, cpus)
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
        "poses": "map" if args.map_poses else "binary",
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
