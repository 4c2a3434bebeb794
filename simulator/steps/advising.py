"""Advisors: open a console, accept a page (and join the room it names), present a screen."""

from __future__ import annotations

from protocol import messages as m
from simulator import scenario as sc
from simulator.bot import Bot
from simulator.steps.context import StepContext, StepFailed
from simulator.steps.presence import joined
from simulator.steps.talking import names


async def console(ctx: StepContext, step: sc.Console) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    for bot in bots:
        ctx.world.begin_console(bot)
    if not await ctx.wait(lambda: all(console_up(b) for b in bots), ctx.scenario.within_s):
        raise StepFailed(
            f"{bots[0].name}'s console did not open: {bots[0].join_error or 'no answer'}"
        )


async def accept_page(ctx: StepContext, step: sc.AcceptPage) -> None:
    bot, world = ctx.bot(step.bot), ctx.world
    start = world.clock()
    if not await ctx.wait(lambda: bool(bot.pages()), step.within_s):
        raise StepFailed(f"no page reached {bot.name}'s console within {step.within_s:g} s")
    pages = bot.pages()
    page = next((p for p in pages if step.skill in (None, p.sp)), pages[0])
    if step.skill is not None and page.sp != step.skill:
        ctx.find(
            "expectation",
            f"expected a page for {step.skill}; {bot.name}'s console lists "
            f"{names([p.sp or 'any' for p in pages])}",
        )
    ctx.time("page -> console", world.clock() - start)
    errors = len(bot.errors)
    await world.send_console(bot, m.Accept(page.id))
    if not await ctx.wait(
        lambda: bot.accepted() is not None or len(bot.errors) > errors, step.within_s
    ):
        raise StepFailed(f"{bot.name}'s accept of page {page.id} got no answer")
    accepted = bot.accepted()
    if accepted is None:
        raise StepFailed(f"{bot.name} could not take page {page.id}: {bot.errors[-1][1].msg}")
    world.begin_join(bot, since=None, new_visit=True, ticket=world.ticket(accepted))
    await joined(ctx, [bot], step.within_s)
    ctx.time("accept -> advisor in the room", world.clock() - start)


async def present(ctx: StepContext, step: sc.Present) -> None:
    bot = ctx.bot(step.bot)
    await ctx.world.send(
        bot, m.Present(step.title, list(step.labels), list(step.values), step.screen)
    )
    cond = sc.Condition("screen", step.title)
    everyone = [b for b in ctx.bots.values() if b.joined]
    if not await ctx.wait(lambda: all(b.sees(cond) for b in everyone), ctx.scenario.within_s):
        late = [b for b in everyone if not b.sees(cond)]
        ctx.find(
            "expectation",
            f"{late[0].name} does not see {cond.describe()}: {late[0].describe(cond)}",
        )


def console_up(bot: Bot) -> bool:
    return bot.console is not None and any(isinstance(d, m.Pages) for d in bot.console.direct)
