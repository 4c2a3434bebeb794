#!/usr/bin/env python3
"""Rooms of each layout per server process at a 30 Hz tick: how many before the tick falls behind.

For each layout, rooms with their typical members (private room 4, branch lobby 60, seminar
50, all bots sending poses) are added level by level to a server process of their own,
restarted per level; the bots' tokens name the layout, so the server opens every room as one.
A level keeps up while every room ticks at least 29 times a second over the window and the
server counts no tick overrun (``wealthroom_tick_overruns_total``: a tick started more than a
period late).

On a machine shared with other work the server is descheduled and falls behind at any load,
so each level also gives the server's CPU per room, scaled to the full 30 ticks a second, and
from it how many such rooms one core carries: CPU time is counted only while the server runs,
so this estimate holds where the wall-clock verdict does not (``other CPU`` says how much of
the machine went to neither the server nor the load generator).

The bots and the measuring are those of ``bench/bench_sync.py`` (:mod:`simulator.load_bot`,
:mod:`simulator.load_level`): with two or more CPUs the server is pinned to one and the load
generator to another. Where the load generator's own CPU reaches 100 %, the figure is the
generator's limit, not the server's: the table says so.

    .venv/bin/python bench/bench_layouts.py [--layouts private_room:4:10,25,50]
        [--seconds 4] [--hz 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from server.auth import TokenAuthority
from server.event_loop import run_loop
from simulator.load_level import LevelResult, LoadPlan, measure_level

TICK_HZ = 30
KEEPS_UP_HZ = 29.0
# layout: (typical members per room, rooms per level)
DEFAULT = "private_room:4:10,25,50,100;branch_lobby:60:1,2,4,6;seminar_room:50:1,2,4,6"


def keeps_up(r: LevelResult) -> bool:
    ticks = r.server_ticks_per_room_s or 0.0
    return r.aborted is None and ticks >= KEEPS_UP_HZ and not (r.server_tick_overruns or 0)


def _f(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def rooms_per_core(r: LevelResult, rooms: int) -> float | None:
    """Rooms like these one core carries at the full tick rate, from the CPU the server used."""
    ticks = r.server_ticks_per_room_s
    if not ticks or r.server_cpu_pct <= 0:
        return None
    per_room_pct = r.server_cpu_pct / rooms * TICK_HZ / min(ticks, TICK_HZ)
    return 100 / per_room_pct


def row(layout: str, rooms: int, r: LevelResult) -> str:
    verdict = "keeps up" if keeps_up(r) else "behind"
    if r.loadgen_cpu_pct >= 95:
        verdict += " (load generator saturated)"
    return (
        f"| {layout} | {rooms} | {r.connected}/{r.clients} | {_f(r.server_ticks_per_room_s, '.2f')}"
        f" | {_f(r.server_tick_overruns, '.0f')} | {verdict} | {r.server_cpu_pct:.0f} %"
        f" | {_f(rooms_per_core(r, rooms), '.0f')} | {_f(r.p50_ms)} / {_f(r.p99_ms)}"
        f" | {r.loadgen_cpu_pct:.0f} % | {_f(r.other_cpu_pct, '.0f')} % |"
    )


HEADER = (
    "| layout | rooms | joined | ticks/room/s | overruns | tick | server CPU | est. rooms/core "
    "| pose p50 / p99 ms | load gen CPU | other CPU |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument(
        "--layouts",
        default=DEFAULT,
        help="layout:members:rooms,rooms,... separated by ';' (default: %(default)s)",
    )
    p.add_argument("--seconds", type=float, default=4.0, help="measured window per level")
    p.add_argument("--warmup", type=float, default=1.5)
    p.add_argument("--hz", type=float, default=10.0, help="pose rate per member")
    p.add_argument("--no-pin", action="store_true", help="do not pin server and bench to CPUs")
    p.add_argument("--log-dir", default="/tmp", help="where server-<N>.log files go")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    args.plans = []
    for part in args.layouts.split(";"):
        layout, members, levels = part.strip().split(":")
        args.plans.append((layout, int(members), [int(x) for x in levels.split(",")]))
    return args


async def amain(args: argparse.Namespace) -> list[dict[str, Any]]:
    cpus: tuple[int, int] | None = None
    available = sorted(os.sched_getaffinity(0))
    if not args.no_pin and len(available) >= 2:
        cpus = (available[0], available[1])
        os.sched_setaffinity(0, {cpus[1]})
    out: list[dict[str, Any]] = []
    print(HEADER, flush=True)
    for layout, members, levels in args.plans:
        plan = LoadPlan(
            seconds=args.seconds,
            warmup=args.warmup,
            drain=1.0,
            hz=args.hz,
            room_size=members,
            layout=layout,
            log_dir=Path(args.log_dir),
        )
        for rooms in levels:
            result = await measure_level(rooms * members, plan, TokenAuthority, cpus)
            print(row(layout, rooms, result), flush=True)
            out.append({"layout": layout, "members": members, "rooms": rooms, **asdict(result)})
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run_loop(amain(args))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
