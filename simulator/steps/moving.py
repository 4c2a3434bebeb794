"""Moving: look around, walk to a spot, sit, stand."""

from __future__ import annotations

import math
from collections.abc import Callable

from protocol import messages as m
from protocol.pose import AvatarPose
from simulator import scenario as sc
from simulator.bot import Bot
from simulator.steps.context import StepContext, StepFailed

PLACE_TOLERANCE_M = 0.6


async def look_around(ctx: StepContext, step: sc.LookAround) -> None:
    now = ctx.world.clock()
    for name in step.bots:
        ctx.bot(name).move(lambda mo, t: mo.look_around(t, step.seconds), now)
    await ctx.world.pass_time(step.seconds)


async def walk(ctx: StepContext, step: sc.Walk) -> None:
    target = spot(ctx, step.to)
    bots = [ctx.bot(b) for b in step.bots]
    for bot in bots:
        own = bot.own_entity()
        if own is not None and own.s:
            await ctx.world.send(bot, m.Stand())
            await ctx.wait(standing(bot), ctx.scenario.within_s)
            bot.reanchor()
    arrivals: list[float] = []
    for bot in bots:
        bot.move(lambda mo, t: arrivals.append(mo.walk_to(t, target)), ctx.world.clock())
    await ctx.wait(lambda: len(arrivals) == len(bots), ctx.scenario.within_s)
    last = max(arrivals, default=ctx.world.clock())
    await ctx.world.pass_time(max(0.0, last - ctx.world.clock()) + 0.3)
    for bot in bots:
        own = bot.own_entity()
        if own is None or own.x is None:
            continue
        x, _, z = AvatarPose.unpack(own.x).head.pos
        off = math.hypot(x / 1000 - target[0], z / 1000 - target[1])
        if off > PLACE_TOLERANCE_M:
            ctx.find(
                "expectation",
                f"{bot.name} walked to ({target[0]:.2f}, {target[1]:.2f}) but stands "
                f"{off:.2f} m away",
            )


def spot(ctx: StepContext, to: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(to, tuple):
        return to
    layout = ctx.world.layout
    spots = (*layout.spawn_points, *layout.seats, *layout.expert_spots)
    found = next((s for s in spots if s.id == to), None)
    if found is None:
        raise StepFailed(f"the {layout.name} layout has no spot {to!r}")
    return (found.pos[0], found.pos[2])


async def sit(ctx: StepContext, step: sc.Sit) -> None:
    bot = ctx.bot(step.bot)
    await ctx.world.send(bot, m.Sit(step.seat))
    cond = sc.Condition("seated", step.seat)
    if not await ctx.wait(lambda: bot.sees(cond), ctx.scenario.within_s):
        errors = [e.msg for _, e in bot.errors[-2:]]
        ctx.find(
            "expectation",
            f"{bot.name} is not {cond.describe()}: {'; '.join(errors) or bot.describe(cond)}",
        )
    bot.reanchor()


async def stand(ctx: StepContext, step: sc.Stand) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for bot in bots:
        await ctx.world.send(bot, m.Stand())
    if not await ctx.wait(lambda: all(not seat_of(b) for b in bots), ctx.scenario.within_s):
        ctx.find("expectation", "not everyone stood up")
    for bot in bots:
        bot.reanchor()


def standing(bot: Bot) -> Callable[[], bool]:
    return lambda: not seat_of(bot)


def seat_of(bot: Bot) -> str:
    own = bot.own_entity()
    return own.s or "" if own is not None else ""
