"""The network and the clock: delay, stall, idle."""

from __future__ import annotations

from simulator import scenario as sc
from simulator.steps.context import StepContext


async def delay(ctx: StepContext, step: sc.Delay) -> None:
    for name in step.bots:
        ctx.world.set_delay(ctx.bot(name), step.ms, step.jitter_ms)


async def stall(ctx: StepContext, step: sc.Stall) -> None:
    for name in step.bots:
        ctx.world.stall(ctx.bot(name), step.seconds)
    await ctx.world.pass_time(step.seconds)


async def idle(ctx: StepContext, step: sc.Idle) -> None:
    await ctx.world.pass_time(step.seconds)
