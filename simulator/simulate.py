"""Run a scenario: in this process, against a server at a URL, or against a server of its own.

Without a URL the simulator starts ``run_server.py serve`` as a separate process (a
:class:`simulator.server_process.ServerProcess`: fresh secret, free loopback port), nothing
written to disk, and its CPU read from ``/proc`` for the report. Either way the bots' tokens
name the scenario's layout, so the room is opened as one: scenarios of every layout run
against one server, each in a room of its own.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from scenes.layout import load_layout
from simulator.progress import Progress
from simulator.runner import Runner, RunResult
from simulator.scenario import Scenario
from simulator.server_process import ServerProcess
from simulator.sockets import SocketWorld, http_base
from simulator.tokens import MinterFactory, TokenMinter
from simulator.virtual import VirtualWorld


async def run_in_process(
    scenario: Scenario,
    *,
    seed: int | None = None,
    progress: Progress | None = None,
    snapshot_bots: Sequence[str] = (),
    lose: dict[str, set[int]] | None = None,
) -> RunResult:
    seed = scenario.seed if seed is None else seed
    world = VirtualWorld(scenario, load_layout(scenario.layout), random.Random(seed))
    runner = Runner(
        scenario, world, seed=seed, progress=progress, snapshot_bots=snapshot_bots, lose=lose
    )
    return await runner.run()


async def run_over_sockets(
    scenario: Scenario,
    *,
    url: str,
    tokens: TokenMinter,
    cpu: Callable[[], float] | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    snapshot_bots: Sequence[str] = (),
    lose: dict[str, set[int]] | None = None,
) -> RunResult:
    """Against the server at ``url``; ``tokens`` must sign with the server's key."""
    seed = scenario.seed if seed is None else seed
    base = http_base(url)
    # A room of its own for every run: a server keeps an empty room open for a while, and a
    # second run must not find the first one's history in it.
    room = f"{scenario.room}-{secrets.token_hex(3)}"
    world = SocketWorld(
        scenario,
        load_layout(scenario.layout),
        random.Random(seed),
        base_url=base,
        tokens=tokens,
        room=room,
        cpu=cpu,
    )
    runner = Runner(
        scenario, world, seed=seed, progress=progress, snapshot_bots=snapshot_bots, lose=lose
    )
    return await runner.run()


async def run_with_own_server(
    scenario: Scenario,
    *,
    log_path: Path,
    minter: MinterFactory,
    seed: int | None = None,
    progress: Progress | None = None,
    snapshot_bots: Sequence[str] = (),
) -> RunResult:
    env = {
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_TOTP_PATH": "",
        "WEALTHROOM_FACTOR_PATH": "",
        "WEALTHROOM_APPOINTMENTS_PATH": "",
        "WEALTHROOM_DEMO_ROOM": "",
    }
    server = ServerProcess(log_path, "WARNING", None, None, env=env)
    await server.start()
    try:
        return await run_over_sockets(
            scenario,
            url=f"http://127.0.0.1:{server.port}",
            tokens=minter(server.secret.encode()),
            cpu=server.cpu_seconds,
            seed=seed,
            progress=progress,
            snapshot_bots=snapshot_bots,
        )
    finally:
        await server.stop()
