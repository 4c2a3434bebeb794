"""Talking: chat, ask the experts, wait for something to be seen, dismiss an expert."""

from __future__ import annotations

from collections.abc import Sequence

from protocol import messages as m
from simulator import scenario as sc
from simulator.steps.context import StepContext

CHAT_GAP_S = 0.25  # between repeated chat lines: well inside the chat rate limit


async def chat(ctx: StepContext, step: sc.Chat) -> None:
    bot = ctx.bot(step.bot)
    texts = (
        [step.text] if step.repeat == 1 else [f"{step.text} ({i + 1})" for i in range(step.repeat)]
    )
    for i, text in enumerate(texts):
        if i:
            await ctx.world.pass_time(CHAT_GAP_S)
        await ctx.world.send(bot, m.Chat(text))
    last = sc.Condition("chat", texts[-1])
    if not await ctx.wait(lambda: bot.sees(last) or not bot.joined, ctx.scenario.within_s):
        ctx.find(
            "expectation",
            f"{bot.name}'s chat line did not come back within {ctx.scenario.within_s:g} s",
        )


async def ask(ctx: StepContext, step: sc.Ask) -> None:
    bot, world = ctx.bot(step.bot), ctx.world
    me = bot.member
    start = world.clock()
    await world.send(bot, m.Ask(step.text, step.lang, step.gender))

    def asked() -> m.Asked | None:
        return next(
            (
                x
                for x in bot.history
                if isinstance(x, m.Asked) and x.by == me and x.text == step.text
            ),
            None,
        )

    def answers() -> list[m.Answer]:
        a = asked()
        if a is None:
            return []
        return [x for x in bot.history if isinstance(x, m.Answer) and x.q == a.seq]

    def answered() -> bool:
        a = asked()
        return a is not None and len(answers()) >= max(1, len(a.sp))

    if not await ctx.wait(answered, step.within_s):
        a = asked()
        got = (
            "the question never came back"
            if a is None
            else f"{len(answers())} of {max(1, len(a.sp))} answers"
        )
        errors = "; ".join(f"{e.code} {e.msg}" for t, e in bot.errors if t >= start)
        ctx.find(
            "expectation",
            f"{bot.name} asked {step.text!r}: {got} within {step.within_s:g} s"
            + (f" (errors: {errors})" if errors else ""),
        )
        return
    ctx.time("ask -> answer", world.clock() - start)
    question = asked()
    assert question is not None
    routed = tuple(question.sp)
    exp = step.expect
    if exp.routed is not None and sorted(exp.routed) != sorted(routed):
        ctx.find(
            "expectation",
            f"{step.text!r} was routed to {names(routed)}; expected {names(exp.routed)}",
        )
    if exp.experts is not None:
        wanted = [sc.Condition("expert", sp) for sp in exp.experts]
        await ctx.wait(
            lambda: all(bot.sees(c) for c in wanted),
            max(0.5, step.within_s - (world.clock() - start)),
        )
        missing = [c.value for c in wanted if not bot.sees(c)]
        if missing:
            came = [
                f"{x.sp} ({x.name})"
                for x in bot.history
                if isinstance(x, m.ExpertCame) and x.st == "arrived"
            ]
            ctx.find(
                "expectation",
                f"expected {with_article(missing)} expert for {step.text!r}; the question was "
                f"routed to {names(routed)} and these experts came: "
                f"{', '.join(came) or 'none'}",
            )
        else:
            ctx.time("ask -> expert visible", world.clock() - start)
    if exp.handoff is not None:
        handed = any(a.handoff for a in answers())
        if handed != exp.handoff:
            why = next((a.why for a in answers() if a.why), None)
            ctx.find(
                "expectation",
                f"expected {'a' if exp.handoff else 'no'} hand-off to an advisor for "
                f"{step.text!r}; "
                + (
                    f"the answer handed over ({why})"
                    if handed
                    else "the experts answered it themselves"
                ),
            )


async def wait_for(ctx: StepContext, step: sc.WaitFor) -> None:
    bots = [ctx.bot(b) for b in step.bots]
    cond = step.until
    start = ctx.world.clock()
    if await ctx.wait(lambda: all(b.sees(cond) for b in bots), step.within_s):
        ctx.time(f"until {cond.kind}", ctx.world.clock() - start)
        return
    for b in bots:
        if not b.sees(cond):
            ctx.find(
                "expectation",
                f"expected {b.name} to see {cond.describe()} within {step.within_s:g} s; "
                f"{b.describe(cond)}",
            )


async def dismiss(ctx: StepContext, step: sc.Dismiss) -> None:
    bot = ctx.bot(step.bot)
    expert = 0
    if step.specialty is not None:
        replica = bot.replica
        ents = list(replica.entities.values()) if replica is not None else []
        found = next((e for e in ents if e.k == "expert" and e.sp == step.specialty), None)
        if found is None:
            ctx.find("expectation", f"{bot.name} sees no {step.specialty} expert to dismiss")
            return
        expert = found.i
    await ctx.world.send(bot, m.Dismiss(expert))
    cond = sc.Condition("no_expert", step.specialty or "any")
    if not await ctx.wait(lambda: bot.sees(cond), ctx.scenario.within_s):
        ctx.find("expectation", f"{cond.describe()} after dismissing; {bot.describe(cond)}")


def names(items: Sequence[str]) -> str:
    """Specialties as a phrase for a finding."""
    return ", ".join(items) if items else "nothing (no specialty)"


def with_article(items: Sequence[str]) -> str:
    text = names(items)
    return ("an " if text[0] in "aeiou" else "a ") + text
