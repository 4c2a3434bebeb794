"""Carries a scenario out in a world and judges it.

Steps run one after another. A step that cannot go on (a bot that never got in, a console that
never opened) stops the script, and the steps after it are reported as skipped; an expectation
that is not met (the wrong expert came) is recorded and the script goes on. Whatever happened,
the reliable ledgers, the errors the server sent and the bots' motion are judged at the end.

Thin-client bots (sockets only) open a WebRTC peer after each arrival and wait for the first
picture of their view before the step goes on; what each peer received is kept when the bot
leaves or drops, or at the end, and judged with the rest (:func:`simulator.verdict.check_media`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from protocol.codes import CloseCode, ErrorCode
from simulator import scenario as sc
from simulator.motion import ALLOWED_SPEED_M_S
from simulator.progress import Progress
from simulator.steps.context import CheckpointRecord, Snapshot, StepContext, StepFailed
from simulator.steps.registry import handler_for
from simulator.steps.thin_media import media_close, media_end
from simulator.verdict import (
    Finding,
    Verdict,
    check_agreement,
    check_hearing,
    check_ledger,
    check_media,
)
from simulator.world import World

EXPECTED_CLOSES = frozenset({int(CloseCode.NORMAL), 1006})


@dataclass(slots=True)
class StepRecord:
    index: int
    kind: str
    label: str
    started: float
    took: float = 0.0
    status: str = "ok"  # ok, failed (an expectation), aborted (the script stopped), skipped
    detail: str = ""


@dataclass(slots=True)
class RunResult:
    scenario: sc.Scenario
    mode: str
    seed: int
    verdict: Verdict
    steps: list[StepRecord]
    checkpoints: list[CheckpointRecord]
    world: World
    duration: float
    timings: dict[str, list[float]]
    snapshots: list[Snapshot]

    @property
    def ok(self) -> bool:
        return self.verdict.ok


class Runner:
    def __init__(
        self,
        scenario: sc.Scenario,
        world: World,
        *,
        seed: int | None = None,
        progress: Progress | None = None,
        snapshot_bots: Sequence[str] = (),
        lose: dict[str, set[int]] | None = None,
    ) -> None:
        if world.mode != "sockets":
            sc.refuse_thin_in_process(scenario)
        self.s = scenario
        self.world = world
        self.seed = scenario.seed if seed is None else seed
        rng = random.Random(self.seed)
        self.progress = progress
        self.records: list[StepRecord] = []
        self.run_id = uuid.UUID(int=rng.getrandbits(128)).hex[:8]
        self.ctx = StepContext(scenario, world, rng, tuple(snapshot_bots))
        for spec in scenario.bots:
            bot = world.add_bot(spec, self.run_id)
            bot.lose = set((lose or {}).get(spec.name, set()))
        unknown = [b for b in self.ctx.snapshot_bots if b not in world.bots]
        if unknown:
            raise sc.ScenarioError(f"--snapshot: no bot called {unknown[0]!r} in {scenario.name}")

    async def run(self) -> RunResult:
        world, ctx = self.world, self.ctx
        await world.start()
        started = world.clock()
        aborted = False
        try:
            for i, step in enumerate(self.s.steps):
                kind = sc.step_kind(step)
                record = StepRecord(step.index, kind, step.label, world.clock() - started)
                self.records.append(record)
                if self.progress is not None:
                    self.progress.step(i, len(self.s.steps), step.label, world.clock() - started)
                if aborted:
                    record.status = "skipped"
                    continue
                ctx.step = step
                before = len(ctx.verdict.findings)
                try:
                    await handler_for(step)(ctx, step)
                except StepFailed as exc:
                    record.status, record.detail = "aborted", str(exc)
                    ctx.find("step", str(exc))
                    aborted = True
                else:
                    new = ctx.verdict.findings[before:]
                    if new:
                        record.status = "failed"
                        record.detail = "; ".join(f.message for f in new)
                record.took = world.clock() - started - record.started
            ctx.step = None
            for bot in ctx.bots.values():
                media_end(ctx, bot)
            self._judge()
        finally:
            duration = world.clock() - started
            if self.progress is not None:
                self.progress.done(duration, ctx.verdict.ok)
            for bot in ctx.bots.values():
                media_end(ctx, bot)
            # Connections first: a peer closed under a live member could draw an error frame.
            await world.stop()
            await media_close(ctx)
        return RunResult(
            self.s,
            world.mode,
            self.seed,
            ctx.verdict,
            self.records,
            ctx.checkpoints,
            world,
            duration,
            ctx.timings,
            ctx.snapshots,
        )

    def _judge(self) -> None:
        for bot in self.ctx.bots.values():
            self.ctx.verdict.add(check_ledger(bot.name, bot.ledger))
        self.ctx.verdict.add(check_agreement({b.name: b.messages for b in self.ctx.bots.values()}))
        self.ctx.verdict.add(
            check_hearing({b.name: b.media_sessions for b in self.ctx.bots.values() if b.spec.thin})
        )
        for bot in self.ctx.bots.values():
            for at, error in bot.errors:
                name = _error_name(error.code)
                self.ctx.verdict.findings.append(
                    Finding(
                        "error",
                        f"{bot.name} got error {error.code} {name} at "
                        f"{at - self.ctx.world.started_at:.2f} s: {error.msg}"
                        + (f" (on {error.ref})" if error.ref else ""),
                    )
                )
            for close in bot.closes:
                reason = f" ({close.reason})" if close.reason else ""
                if not close.expected:
                    self.ctx.verdict.findings.append(
                        Finding(
                            "connection",
                            f"{bot.name} was closed by the server: {close.code}{reason}",
                        )
                    )
                elif close.code not in EXPECTED_CLOSES:
                    self.ctx.verdict.findings.append(
                        Finding(
                            "connection",
                            f"{bot.name} was closed with {close.code}{reason}, not normally",
                        )
                    )
            self.ctx.verdict.add(check_media(bot.name, bot.media_sessions))
            if bot.max_speed > ALLOWED_SPEED_M_S:
                self.ctx.verdict.findings.append(
                    Finding(
                        "motion",
                        f"{bot.name} moved at {bot.max_speed:.2f} m/s; the room allows "
                        f"{ALLOWED_SPEED_M_S:g}",
                    )
                )


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return "?"
