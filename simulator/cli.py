"""``run_server.py simulate``: run a QA scenario, or the load ramp.

    simulate --scenario private_visit [--in-process] [--url ws://...] [--report [DIR]]
             [--snapshot BOT] [--seed N]
    simulate --load [--url ws://127.0.0.1:PORT] [--max-clients N] [--report [DIR]]

Exit status: 0 when the verdict holds (every checkpoint in sync, every reliable message
exactly once and in order at every bot, every expectation met), 1 when it does not, 2 for a
scenario or usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator import load as load_mode
from simulator.plot import ORANGE, RED, lines
from simulator.progress import Progress
from simulator.report import summary, to_json, write_report
from simulator.runner import RunResult
from simulator.scenario import available, load_scenario
from simulator.simulate import run_in_process, run_over_sockets, run_with_own_server
from simulator.tokens import MinterFactory


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="run a QA scenario with headless bots, or find how many VR clients a server holds",
        description=__doc__.split("\n")[0] if __doc__ else None,
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--scenario", help=f"a name ({', '.join(available())}) or a path to a scenario JSON file"
    )
    what.add_argument("--load", action="store_true", help="ramp VR clients until p99 > 50 ms")
    p.add_argument(
        "--in-process", action="store_true", help="drive the room in this process, virtual clock"
    )
    p.add_argument(
        "--url",
        help="a running server (ws://HOST:PORT or http://HOST:PORT); tokens are signed with this "
        "checkout's key. Without it a server process is started for the run",
    )
    p.add_argument(
        "--report",
        nargs="?",
        const="",
        metavar="DIR",
        help="write report.json, report.md and PNGs here (alone: var/simulator/SCENARIO)",
    )
    p.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="BOT",
        help="draw the room from this bot's eyes at every checkpoint (repeatable)",
    )
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    p.add_argument("--max-clients", type=int, default=1000, help="load: stop the ramp here")
    p.add_argument("--levels", help="load: comma-separated client counts instead of the ramp")
    p.add_argument("--seconds", type=float, default=5.0, help="load: measured window per level")


def main(
    args: argparse.Namespace, *, minter: MinterFactory, local_secret: Callable[[], bytes]
) -> int:
    """``minter`` signs tokens for a secret; ``local_secret`` is this checkout's signing key,
    read only when ``--url`` names a server that uses it."""
    # One line per probe request would bury the progress line.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Thin bots' WebRTC peers: every ICE check and DTLS step would be a line of their own.
    for name in ("aioice", "aiortc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.load:
        return asyncio.run(_load(args, minter, local_secret))
    return asyncio.run(_scenario(args, minter, local_secret))


async def _scenario(
    args: argparse.Namespace, minter: MinterFactory, local_secret: Callable[[], bytes]
) -> int:
    scenario = load_scenario(args.scenario)
    if args.in_process and args.url:
        print("error: --in-process and --url do not go together", file=sys.stderr)
        return 2
    mode = "in-process" if args.in_process else "sockets"
    progress = None if args.quiet else Progress(scenario.title, mode)
    report = _report_dir(args.report, scenario.name)
    if args.snapshot and report is None:
        report = _report_dir("", scenario.name)
        print(f"snapshots go to {report}/ (give --report to choose)", file=sys.stderr)
    result: RunResult
    if args.in_process:
        result = await run_in_process(
            scenario, seed=args.seed, progress=progress, snapshot_bots=args.snapshot
        )
    elif args.url:
        tokens = minter(local_secret())
        result = await run_over_sockets(
            scenario,
            url=args.url,
            tokens=tokens,
            seed=args.seed,
            progress=progress,
            snapshot_bots=args.snapshot,
        )
    else:
        log_dir = report if report is not None else Path(tempfile.gettempdir())
        log_dir.mkdir(parents=True, exist_ok=True)
        result = await run_with_own_server(
            scenario,
            log_path=log_dir / f"server-{scenario.name}.log",
            minter=minter,
            seed=args.seed,
            progress=progress,
            snapshot_bots=args.snapshot,
        )
    if report is not None:
        doc, _ = write_report(result, report)
        print(summary(doc))
        print(f"report: {report / 'report.md'} (and report.json, charts)")
    else:
        print(summary(to_json(result)))
    return 0 if result.ok else 1


def _report_dir(given: str | None, name: str) -> Path | None:
    """``--report DIR``; ``--report`` alone: under ``var/``, which git ignores."""
    if given is None:
        return None
    return Path(given) if given else Path("var") / "simulator" / name


async def _load(
    args: argparse.Namespace, minter: MinterFactory, local_secret: Callable[[], bytes]
) -> int:
    levels = None
    if args.levels:
        levels = tuple(int(x) for x in args.levels.split(",") if x.strip())
    secret = local_secret().decode() if args.url else None
    report = _report_dir(args.report, "load")
    log_dir = report if report is not None else Path(tempfile.gettempdir())
    log_dir.mkdir(parents=True, exist_ok=True)
    result = await load_mode.ramp(
        url=args.url,
        secret=secret,
        minter=minter,
        max_clients=args.max_clients,
        levels=levels,
        seconds=args.seconds,
        log_dir=log_dir,
        say=lambda line: print(line, flush=True),
    )
    print(result.summary())
    if report is not None:
        doc = result.to_json()
        (report / "load.json").write_text(json.dumps(doc, indent=2) + "\n")
        ordered = sorted(result.levels, key=lambda lv: lv.clients)
        points = [(lv.clients, lv.p99_ms) for lv in ordered if lv.p99_ms is not None]
        if points:
            lines(
                [("pose-to-peer p99", [p[0] for p in points], [p[1] for p in points], ORANGE)],
                report / "load.png",
                title="Load ramp: p99 by VR clients",
                xlabel="VR clients (rooms of 10, 30 Hz)",
                ylabel="ms",
                hline=(f"target {result.target_p99_ms:g} ms", result.target_p99_ms, RED),
            )
        print(f"report: {report / 'load.json'}")
    return 0 if result.sustained > 0 else 1
