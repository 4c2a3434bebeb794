"""Arriving and leaving: join, leave, churn (walk-ins), reconnect, drop."""

from __future__ import annotations

import random
from collections.abc import Callable

from protocol import messages as m
from simulator import scenario as sc
from simulator.bot import Bot
from simulator.motion import Motion, wander_target
from simulator.steps.context import StepContext, StepFailed
from simulator.steps.thin_media import media_close, media_end, media_up


async def join(ctx: StepContext, step: sc.Join) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for i, bot in enumerate(bots):
        if i and step.stagger_s:
            await ctx.world.pass_time(step.stagger_s)
        ctx.world.begin_join(bot, since=None, new_visit=True)
    await joined(ctx, bots, ctx.scenario.within_s + step.stagger_s * len(bots))
    if step.seat is not None:
        cond = sc.Condition("seated", step.seat)
        if not await ctx.wait(lambda: all(b.sees(cond) for b in bots), ctx.scenario.within_s):
            for b in bots:
                if not b.sees(cond):
                    ctx.find(
                        "expectation",
                        f"expected {b.name} {cond.describe()}; {b.describe(cond)}",
                    )


async def joined(ctx: StepContext, bots: list[Bot], timeout: float) -> None:
    start = ctx.world.clock()
    done = await ctx.wait(lambda: all(b.joined or b.join_error for b in bots), timeout)
    took = ctx.world.clock() - start
    failed = [b for b in bots if not b.joined]
    if failed:
        b = failed[0]
        why = b.join_error or ("no answer" if not done else "refused")
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise StepFailed(f"{b.name} did not get into the room within {timeout:g} s: {why}{more}")
    ctx.time("join", took)
    await media_up(ctx, [b for b in bots if b.spec.thin])


async def leave(ctx: StepContext, step: sc.Leave) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for i, bot in enumerate(bots):
        if i and step.stagger_s:
            await ctx.world.pass_time(step.stagger_s)
        bot.expect_close()
        media_end(ctx, bot)
        await ctx.world.send(bot, m.Leave())
    if not await ctx.wait(lambda: all(b.link is None for b in bots), ctx.scenario.within_s):
        stuck = [b.name for b in bots if b.link is not None]
        ctx.find("connection", f"{', '.join(stuck)} still connected after leaving")
    await media_close(ctx)


async def churn(ctx: StepContext, step: sc.Churn) -> None:
    """Walk-ins: each arrives at a random moment, wanders a little, and goes."""
    world, rng = ctx.world, ctx.rng
    lo, hi = step.stay_s
    plan: list[tuple[float, int, Bot]] = []
    for bot in (ctx.bot(b) for b in step.bots):
        arrive = rng.uniform(0, max(0.0, step.seconds - lo))
        plan.append((arrive, 1, bot))
        plan.append((min(step.seconds, arrive + rng.uniform(lo, hi)), 0, bot))
    plan.sort(key=lambda p: (p[0], p[1]))
    t0 = world.clock()
    arrived: list[Bot] = []
    for at, arriving, bot in plan:
        wait = t0 + at - world.clock()
        if wait > 0:
            await world.pass_time(wait)
        if arriving:
            world.begin_join(bot, since=None, new_visit=True)
            arrived.append(bot)
            if step.wander:
                bot.move(wander(ctx, bot), world.clock())
        elif bot.joined:
            bot.expect_close()
            await world.send(bot, m.Leave())
        else:
            # Still on the way in when it is time to go: it leaves as soon as it is in.
            if await ctx.wait(in_or_refused(bot), ctx.scenario.within_s):
                bot.expect_close()
                await world.send(bot, m.Leave())
    never = [b.name for b in arrived if b.join_error]
    if never:
        raise StepFailed(f"{never[0]} could not get in: {ctx.bot(never[0]).join_error}")
    if not await ctx.wait(lambda: all(b.link is None for b in arrived), ctx.scenario.within_s):
        stuck = [b.name for b in arrived if b.link is not None]
        ctx.find("connection", f"{len(stuck)} walk-ins still connected: {', '.join(stuck[:5])}")


def wander(ctx: StepContext, bot: Bot) -> Callable[[Motion, float], object]:
    layout, rng = ctx.world.layout, random.Random(ctx.rng.random())

    def go(motion: Motion, now: float) -> None:
        if motion.seated:
            return
        x, _, z = motion.where(now)
        motion.walk_to(now, wander_target(layout, (x, z), rng))

    return go


async def reconnect(ctx: StepContext, step: sc.Reconnect) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for bot in bots:
        since = bot.ledger.last_seq if step.since else None
        ctx.world.begin_join(bot, since=since, new_visit=False)
    await joined(ctx, bots, step.within_s)


async def drop(ctx: StepContext, step: sc.Drop) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for bot in bots:
        media_end(ctx, bot)
        ctx.world.cut(bot)
    if not await ctx.wait(lambda: all(b.link is None for b in bots), ctx.scenario.within_s):
        raise StepFailed(f"{bots[0].name}'s connection would not drop")
    await media_close(ctx)


def in_or_refused(bot: Bot) -> Callable[[], bool]:
    return lambda: bot.joined or bool(bot.join_error)
