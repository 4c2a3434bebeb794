"""Where bots live: a room in this process on a virtual clock, or a server over sockets.

The runner speaks only to :class:`World`. Every operation that takes time in the real world is
*begun* here and then waited for with :meth:`World.wait_until`, so one scenario script drives
both worlds, and the in-process one stays a plain discrete-event simulation (nothing runs
concurrently with the script; the clock moves only while the script waits).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from protocol import messages as m
from scenes.layout import Layout
from simulator.bot import Bot
from simulator.scenario import BotSpec, Scenario
from simulator.verdict import View


@dataclass(frozen=True, slots=True)
class Ticket:
    """Where and with what an accepted page lets an advisor in."""

    url: str
    token: str


@dataclass(slots=True)
class Series:
    """What a run measured over time."""

    traffic: list[tuple[float, int, int]] = field(default_factory=list)  # t, bytes in, out
    cpu: list[tuple[float, float]] = field(default_factory=list)  # t, CPU seconds so far
    latencies: list[float] = field(default_factory=list)  # pose sent -> applied at a peer, s


class World(ABC):
    mode: str = ""
    cpu_source: str = ""  # what the CPU series measures, if anything

    def __init__(self, scenario: Scenario, layout: Layout, rng: random.Random) -> None:
        self.scenario = scenario
        self.layout = layout
        self.rng = rng
        self.bots: dict[str, Bot] = {}
        self.series = Series()
        self.notes: list[str] = []
        self.room_id = scenario.room
        self.server_layout: str | None = None  # the layout the server really runs, if it says
        self._members: dict[int, Bot] = {}
        self.started_at = 0.0

    # --- the hub a bot sees ----------------------------------------------------------------

    @abstractmethod
    def clock(self) -> float: ...

    def bot_of_member(self, member: int) -> Bot | None:
        return self._members.get(member)

    def latency(self, seconds: float) -> None:
        self.series.latencies.append(seconds)

    def changed(self) -> None:  # noqa: B027 - only the socket world has waiters to wake
        """Something a bot sees changed (the socket world wakes its waiters)."""

    # --- bots ------------------------------------------------------------------------------

    def add_bot(self, spec: BotSpec, run_id: str) -> Bot:
        slug = "".join(c if c.isalnum() else "-" for c in spec.name.lower())
        bot = Bot(spec, self, random.Random(self.rng.random()), subject=f"sim-{run_id}-{slug}")
        self.bots[spec.name] = bot
        return bot

    def _register(self, bot: Bot) -> None:
        if bot.member is not None:
            self._members[bot.member] = bot

    # --- what the runner does --------------------------------------------------------------

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def begin_join(
        self, bot: Bot, *, since: int | None, new_visit: bool, ticket: Ticket | None = None
    ) -> None:
        """Connect, hello, join; ``bot.joined`` (or ``bot.join_error``) says when it is done."""

    @abstractmethod
    def begin_console(self, bot: Bot) -> None:
        """Open the advisor console; ``bot.pages()`` fills once it is up."""

    @abstractmethod
    async def send(self, bot: Bot, message: m.Message) -> None: ...

    @abstractmethod
    async def send_console(self, bot: Bot, message: m.Message) -> None: ...

    @abstractmethod
    def cut(self, bot: Bot) -> None:
        """Drop the connection without a goodbye, as a lost network does."""

    @abstractmethod
    def set_delay(self, bot: Bot, ms: float, jitter_ms: float) -> None: ...

    @abstractmethod
    def stall(self, bot: Bot, seconds: float) -> None:
        """Stop reading for ``seconds``, as a frozen client or a stalled link does."""

    @abstractmethod
    async def pass_time(self, seconds: float) -> None: ...

    @abstractmethod
    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool: ...

    @abstractmethod
    async def server_view(self) -> View | None:
        """The room as the server holds it, or None when it cannot be asked."""

    def ticket(self, accepted: m.Accepted) -> Ticket:
        return Ticket(accepted.url, accepted.token)

    @property
    def tick_hz(self) -> int:
        return self.scenario.tick_hz
