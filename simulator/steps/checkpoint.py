"""Checkpoints: every bot's view against the server's (or each other's) until they agree."""

from __future__ import annotations

from simulator import scenario as sc
from simulator.steps.context import CheckpointRecord, Snapshot, StepContext
from simulator.verdict import compare_views

QUIET_POLLS = 3  # a checkpoint wants the views equal this many ticks running


async def checkpoint(ctx: StepContext, step: sc.Checkpoint) -> None:
    world = ctx.world
    start = world.clock()
    present = [b for b in ctx.bots.values() if b.joined]
    for b in ctx.bots.values():
        b.hold(start, True)
    quiet = 0
    problems: list[str] = ["not compared yet"]
    server = None
    try:
        while True:
            server = await world.server_view()
            views = {b.name: b.view() for b in present if b.joined}
            problems = compare_views(server, views)
            if server is not None:
                behind = [world.bot_of_member(mid) for mid in server.unacked]
                problems += [
                    f"{b.name} has not acknowledged the latest state"
                    for b in behind
                    if b is not None and b.joined
                ]
            gone = [b.name for b in present if not b.joined]
            if gone:
                problems.append(f"{', '.join(gone)} lost the connection")
            quiet = 0 if problems else quiet + 1
            if quiet >= QUIET_POLLS or world.clock() - start > step.within_s:
                break
            await world.pass_time(1 / world.tick_hz)
    finally:
        now = world.clock()
        for b in ctx.bots.values():
            b.hold(now, False)
    converged = not problems
    digest = server.digest if server is not None else (present[0].view().digest if present else "-")
    record = CheckpointRecord(
        step.name,
        step.index,
        start - world.started_at,
        converged,
        world.clock() - start,
        len(present),
        digest,
        "the server" if server is not None else "each other",
        problems,
    )
    ctx.checkpoints.append(record)
    if not converged:
        shown = "; ".join(problems[:4]) + (
            f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""
        )
        ctx.find(
            "sync", f"checkpoint {step.name!r}: not in sync after {step.within_s:g} s: {shown}"
        )
    for name in ctx.snapshot_bots:
        bot = ctx.bot(name)
        if bot.replica is not None and bot.member is not None and bot.joined:
            ents = list(bot.replica.entities.values())
            ctx.snapshots.append(Snapshot(step.name, step.index, name, bot.member, ents))
