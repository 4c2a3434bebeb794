"""What a step works on: the world and its bots, and what the run has recorded so far."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import messages as m
from simulator import scenario as sc
from simulator.bot import Bot
from simulator.media import RtcMedia
from simulator.verdict import Finding, Verdict
from simulator.world import World


class StepFailed(Exception):
    """A step the script cannot go on from."""


@dataclass(slots=True)
class CheckpointRecord:
    name: str
    step: int
    at: float
    converged: bool
    took: float
    bots: int
    digest: str
    compared_with: str
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Snapshot:
    """A bot's replica at a checkpoint, drawn after the run (rendering would stall the bots)."""

    checkpoint: str
    step: int
    bot: str
    member: int
    ents: list[m.Ent]


@dataclass(eq=False)
class StepContext:
    scenario: sc.Scenario
    world: World
    rng: random.Random
    snapshot_bots: tuple[str, ...] = ()
    verdict: Verdict = field(default_factory=Verdict)
    checkpoints: list[CheckpointRecord] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    timings: dict[str, list[float]] = field(default_factory=dict)
    ended: list[RtcMedia] = field(default_factory=list)  # peers whose stats are kept, to close
    step: sc.AnyStep | None = None  # the one running, whose index findings carry

    @property
    def bots(self) -> dict[str, Bot]:
        return self.world.bots

    def bot(self, name: str) -> Bot:
        return self.world.bots[name]

    def find(self, kind: str, message: str) -> None:
        index = self.step.index if self.step is not None else None
        self.verdict.findings.append(Finding(kind, message, index))

    def time(self, what: str, seconds: float) -> None:
        self.timings.setdefault(what, []).append(seconds)

    async def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        return await self.world.wait_until(predicate, timeout)
