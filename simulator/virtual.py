"""The in-process world: the real :class:`rooms.room.Room` on a virtual clock, no sockets.

It does what the server's shell does (``server/room_host.py``): ticks the room, delivers its
frames, answers consults from the local brain, posts pages on the same page desk the server
uses (in memory) and tells the room who accepted. Each bot's link has its own one-way latency
and jitter in both directions, order kept, as over TCP. A stalled link holds frames the way the
server's outbox does (reliable ones queued, state frames latest-wins) and lets them go when it
resumes. Everything runs on one event queue, so a run is deterministic for a given seed.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from advisors.bus import MemoryBus
from advisors.console import page_info
from advisors.desk import ADVISOR_ETA_S, PageDesk
from advisors.grant import ConsoleGrant
from advisors.pages import MemoryPageBoard
from advisors.presence import PRESENCE_TTL_S, AdvisorState, AdvisorStatus, MemoryPresence
from avatars.expertise import Expertise, default_expertise
from avatars.local_brain import LocalBrain
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.codes import ErrorCode
from protocol.limits import PROTOCOL_VERSION
from protocol.messages import Direction
from rooms.dispatch import dispatch
from rooms.interest import POLICIES
from rooms.members import Grant
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    InviteOutput,
    MediaOutput,
    Output,
    PageCancel,
    PageRequest,
)
from rooms.roles import Role
from rooms.room import Room
from rooms.settling import unacked
from rooms.stepup_policy import FactorRecord, judge
from scenes.layout import Layout
from scenes.replica import Replica
from scenes.scene import state_digest
from simulator.bot import Bot
from simulator.scenario import Scenario
from simulator.verdict import View
from simulator.world import Ticket, World

START = 1_700_000_000.0  # the virtual clock's epoch: answers' timestamps look like real ones
BRAIN_S = 0.05  # the local brain's think time, virtual
DETECT_S = 0.02  # a server notices a reset connection after about this long
SAMPLE_S = 0.25
ABNORMAL_CLOSE = 1006  # what a WebSocket reports when the TCP connection just went away

Event = Callable[[], Awaitable[None] | None]

_expertise: Expertise | None = None


def shared_expertise() -> Expertise:
    """Built once per process: personas, products and the router are read-only."""
    global _expertise
    if _expertise is None:
        _expertise = default_expertise()
    return _expertise


class VirtualLink:
    """A bot's connection to the in-process room (or console): RoomClient's surface."""

    def __init__(self, world: VirtualWorld, member: int | None, *, auto_ack: bool) -> None:
        self.world = world
        self.member = member  # None: the advisor console
        self.auto_ack = auto_ack
        self.replica = Replica()
        self.welcome: m.Welcome | None = None
        self.reliable: list[Any] = []
        self.direct: list[Any] = []
        self.errors: list[m.Error] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.listener: Callable[[Any], None] | None = None
        self.latency_s = world.scenario.network.latency_ms / 1000
        self.jitter_s = world.scenario.network.jitter_ms / 1000
        self.up_due = 0.0
        self.down_due = 0.0
        self.stalled_until = 0.0
        self.held_reliable: deque[tuple[Any, int]] = deque()
        self.held_state: tuple[Any, int] | None = None

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def send(self, message: m.Message) -> None:
        self.world.uplink(self, encode(message))

    def one_way(self) -> float:
        return self.latency_s + self.world.rng.uniform(0, self.jitter_s)

    def deliver(self, msg: Any, nbytes: int) -> None:
        """What a client does with a frame (as simulator.client.RoomClient does)."""
        self.bytes_in += nbytes
        if isinstance(msg, m.Snapshot | m.Delta):
            if self.replica.apply(msg) and self.auto_ack:
                self.world.uplink(self, encode(m.Ack(msg.tick)))
        elif type(msg).RELIABLE:
            self.reliable.append(msg)
        elif isinstance(msg, m.Error):
            self.errors.append(msg)
        elif isinstance(msg, m.Welcome):
            self.welcome = msg
        else:
            self.direct.append(msg)
        if self.listener is not None:
            self.listener(msg)


class _Console:
    def __init__(self, bot: Bot, link: VirtualLink, grant: ConsoleGrant) -> None:
        self.bot = bot
        self.link = link
        self.grant = grant


class VirtualWorld(World):
    mode = "in-process"
    cpu_source = "room CPU (Room.receive, Room.tick) in this process"

    def __init__(self, scenario: Scenario, layout: Layout, rng: random.Random) -> None:
        super().__init__(scenario, layout, rng)
        self.now = START
        self.expertise = shared_expertise()
        self.room = Room(
            scenario.room,
            layout,
            tick_hz=scenario.tick_hz,
            interest=POLICIES.get(layout.name),
            expertise=self.expertise,
        )
        self.brain = LocalBrain(self.expertise.knowledge)
        self.desk = PageDesk(
            MemoryPresence(self.clock), MemoryPageBoard(), MemoryBus(), clock=self.clock, node="sim"
        )
        self._events: list[tuple[float, int, Event]] = []
        self._order = itertools.count()
        self._links: dict[int, VirtualLink] = {}  # member id -> link
        self._owners: dict[int, Bot] = {}
        self._consoles: dict[str, _Console] = {}
        self._cpu = 0.0  # process time spent inside the room
        self._factors: dict[str, FactorRecord] = {}  # step-up records, as the server's store
        self.audit_events = 0

    # --- clock and events ------------------------------------------------------------------

    def clock(self) -> float:
        return self.now

    def at(self, when: float, event: Event) -> None:
        heapq.heappush(self._events, (max(when, self.now), next(self._order), event))

    async def _run_until(self, limit: float, stop: Callable[[], bool] | None = None) -> bool:
        while True:
            if stop is not None and stop():
                return True
            if not self._events or self._events[0][0] > limit:
                self.now = max(self.now, limit)
                return stop() if stop is not None else True
            when, _, event = heapq.heappop(self._events)
            self.now = when
            result = event()
            if inspect.isawaitable(result):
                await result

    async def pass_time(self, seconds: float) -> None:
        await self._run_until(self.now + seconds)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        return await self._run_until(self.now + timeout, predicate)

    async def start(self) -> None:
        self.started_at = self.now
        period = 1 / self.room.tick_hz
        self.at(self.now + period, self._tick)
        self.at(self.now, self._sample)
        for bot in self.bots.values():
            self.at(self.now + self.rng.uniform(0, 1 / bot.hz), self._pump_for(bot))

    async def stop(self) -> None:
        self._room_call(lambda: self.room.close(self.now))
        self._events.clear()

    # --- the room's shell ------------------------------------------------------------------

    def _room_call(self, call: Callable[[], list[Output]]) -> None:
        started = time.process_time()
        outputs = call()
        self._cpu += time.process_time() - started
        self._dispatch(outputs)

    def _tick(self) -> None:
        self._room_call(lambda: self.room.tick(self.now))
        self.at(self.now + 1 / self.room.tick_hz, self._tick)

    def _sample(self) -> None:
        bots = self.bots.values()
        self.series.traffic.append(
            (
                self.now - self.started_at,
                sum(b.bytes_in for b in bots),
                sum(b.bytes_out + self._link_out(b) for b in bots),
            )
        )
        self.series.cpu.append((self.now - self.started_at, self._cpu))
        self.at(self.now + SAMPLE_S, self._sample)

    @staticmethod
    def _link_out(bot: Bot) -> int:
        link = bot.link
        return link.bytes_out if isinstance(link, VirtualLink) else 0

    def _pump_for(self, bot: Bot) -> Event:
        def pump() -> None:
            link = bot.link
            if isinstance(link, VirtualLink) and self.now >= link.stalled_until:
                pose = bot.next_pose(self.now)
                if pose is not None:
                    self.uplink(link, pose)
            self.at(self.now + 1 / bot.hz, pump)

        return pump

    def uplink(self, link: VirtualLink, data: bytes) -> None:
        if link.closed:
            return
        link.bytes_out += len(data)
        due = max(link.up_due, self.now + link.one_way(), link.stalled_until)
        link.up_due = due
        self.at(due, lambda: self._arrive(link, data))

    def _arrive(self, link: VirtualLink, data: bytes) -> Awaitable[None] | None:
        if link.member is None:
            return self._console_message(link, data)
        if link.member in self.room.members and not link.closed:
            member = link.member
            self._room_call(lambda: self.room.receive(member, data, self.now))
        return None

    def _dispatch(self, outputs: list[Output]) -> None:
        dispatch(outputs, self)

    def on_frame(self, out: Frame) -> None:
        msg = decode(out.data, Direction.SERVER)
        for member in out.to:
            link = self._links.get(member)
            if link is not None:
                self._downlink(link, msg, len(out.data), out.reliable)

    def on_close(self, out: Close) -> None:
        link = self._links.get(out.member)
        if link is not None:
            self._downlink_close(link, int(out.code), out.reason)

    def on_audit(self, out: Audit) -> None:
        self.audit_events += 1

    def on_consult(self, out: Consult) -> None:
        self.at(self.now + BRAIN_S, self._answer(out))

    def on_page_request(self, out: PageRequest) -> None:
        self.at(self.now, self._post_page(out))

    def on_page_cancel(self, out: PageCancel) -> None:
        self.at(self.now, self._cancel_page(out.id))

    def on_check_factor(self, out: CheckFactor) -> None:
        # No authenticator in the simulator: a code never matches; the record counts it.
        record = self._factors.get(out.subject, FactorRecord())
        self._factors[out.subject], verdict = judge(record, None, self.now)
        self._dispatch(self.room.factor_checked(out, verdict, self.now))

    def on_fetch_portfolio(self, out: FetchPortfolio) -> None:
        self._dispatch(self.room.portfolio_ready(out, [], self.now))

    def on_invite(self, out: InviteOutput) -> None:
        """Ignored: the virtual world mints no links (it has no token key); its bots invite
        nobody, and its guests come with tokens of their own."""

    def on_media(self, out: MediaOutput) -> None:
        """Ignored: the virtual world has no media node and its bots open no peers (media is
        simulated only against a real server). The server answers a start without a node
        with ``media.unavailable``; no virtual bot asks for media, so that is not modelled."""

    def _downlink(self, link: VirtualLink, msg: Any, nbytes: int, reliable: bool) -> None:
        if link.closed:
            return
        due = max(link.down_due, self.now + link.one_way())
        link.down_due = due
        self.at(due, lambda: self._receive(link, msg, nbytes, reliable))

    def _receive(self, link: VirtualLink, msg: Any, nbytes: int, reliable: bool) -> None:
        if link.closed:
            return
        if self.now < link.stalled_until:
            # The server's outbox while the client does not read: reliable frames queue,
            # a newer state frame replaces an unsent one.
            if reliable:
                link.held_reliable.append((msg, nbytes))
            else:
                link.held_state = (msg, nbytes)
            return
        link.deliver(msg, nbytes)

    def _downlink_close(self, link: VirtualLink, code: int, reason: str) -> None:
        due = max(link.down_due, self.now + link.one_way(), link.stalled_until)
        link.down_due = due
        self.at(due, lambda: self._closed(link, code, reason))

    def _closed(self, link: VirtualLink, code: int, reason: str) -> None:
        if link.closed:
            return
        self._flush(link)
        link.close_code, link.close_reason = code, reason
        bot = self._owners.get(id(link))
        if bot is not None and bot.link is link:
            bot.detach()

    def _flush(self, link: VirtualLink) -> None:
        held, link.held_reliable = link.held_reliable, deque()
        state, link.held_state = link.held_state, None
        for msg, nbytes in held:
            link.deliver(msg, nbytes)
        if state is not None:
            link.deliver(*state)

    def _answer(self, consult: Consult) -> Event:
        def answer() -> None:
            draft = self.brain.draft(consult.brief)
            self._room_call(lambda: self.room.answered(consult.ticket, draft, self.now))

        return answer

    # --- pages and consoles (advisors/desk.py's desk, in memory) ---------------------------

    def _post_page(self, request: PageRequest) -> Event:
        async def post() -> None:
            first = await self.desk.post(request)
            state, name = ("paging", first.name) if first is not None else ("unavailable", None)
            self._room_call(
                lambda: self.room.page_update(request.id, state, self.now, advisor_name=name)
            )
            await self._refresh_consoles()

        return post

    def _cancel_page(self, page_id: str) -> Event:
        async def cancel() -> None:
            await self.desk.cancel(page_id)
            await self._refresh_consoles()

        return cancel

    async def _refresh_consoles(self) -> None:
        for console in self._consoles.values():
            if console.link.closed:
                continue
            pages = await self.desk.open_for(console.grant)
            self._downlink(console.link, m.Pages([page_info(p) for p in pages]), 0, True)

    def begin_console(self, bot: Bot) -> None:
        spec = bot.spec
        grant = ConsoleGrant(
            bot.subject,
            bot.name,
            frozenset(Specialty(s) for s in spec.skills),
            frozenset(spec.langs),
            frozenset(),
        )
        link = VirtualLink(self, None, auto_ack=False)
        link.listener = lambda msg: self._console_seen(bot, msg)
        bot.console = link
        self._consoles[bot.name] = _Console(bot, link, grant)

        async def open_console() -> None:
            status = AdvisorStatus(
                bot.subject,
                bot.name,
                AdvisorState.AVAILABLE,
                grant.skills,
                grant.languages,
                node="sim",
                updated=self.now,
            )
            await self.desk.presence.put(status, ttl_s=PRESENCE_TTL_S * 60)
            welcome = m.ConsoleWelcome(
                bot.name, "available", sorted(spec.skills), sorted(spec.langs)
            )
            self._downlink(link, welcome, 0, True)
            await self._refresh_consoles()

        self.at(self.now + link.one_way(), open_console)

    def _console_seen(self, bot: Bot, msg: Any) -> None:
        if isinstance(msg, m.Error):
            bot.errors.append((self.now, msg))

    async def _console_message(self, link: VirtualLink, data: bytes) -> None:
        console = next((c for c in self._consoles.values() if c.link is link), None)
        msg = decode(data)
        if console is None or not isinstance(msg, m.Accept):
            return
        grant = console.grant
        page = await self.desk.claim(msg.page, grant)
        if page is None:
            error = m.Error(int(ErrorCode.NO_SUCH_PAGE), "that page is no longer open", "accept")
            self._downlink(link, error, 0, True)
            return
        self._room_call(
            lambda: self.room.page_update(
                page.id,
                "coming",
                self.now,
                advisor=grant.subject,
                advisor_name=grant.name,
                eta_s=ADVISOR_ETA_S,
            )
        )
        url = f"inprocess:{page.room}"
        self._downlink(
            link, m.Accepted(page.id, page.room, f"advisor:{grant.subject}", url), 0, True
        )
        await self._refresh_consoles()

    async def send_console(self, bot: Bot, message: m.Message) -> None:
        if isinstance(bot.console, VirtualLink):
            await bot.console.send(message)

    # --- bots ------------------------------------------------------------------------------

    def begin_join(
        self, bot: Bot, *, since: int | None, new_visit: bool, ticket: Ticket | None = None
    ) -> None:
        spec = bot.spec
        grant = Grant(bot.subject, self.room.id, Role(spec.role), spec.name, spec.risk, spec.lang)
        member = self.room.connect(grant, self.now)
        link = VirtualLink(self, member, auto_ack=not spec.vr)
        self._links[member] = link
        self._owners[id(link)] = bot
        bot.join_error = None
        bot.attach(link, since=since, new_visit=new_visit)
        self._members[member] = bot
        self.uplink(link, encode(m.Hello(PROTOCOL_VERSION, "wealthroom-sim")))
        self.uplink(link, encode(m.Join(spec.name, since, bot.look)))

    async def send(self, bot: Bot, message: m.Message) -> None:
        if isinstance(bot.link, VirtualLink):
            await bot.link.send(message)

    def cut(self, bot: Bot) -> None:
        link = bot.link
        if not isinstance(link, VirtualLink) or link.member is None:
            return
        bot.expect_close()
        link.close_code, link.close_reason = ABNORMAL_CLOSE, "dropped"
        bot.detach()
        member = link.member
        self.at(
            self.now + DETECT_S,
            lambda: self._room_call(lambda: self.room.disconnect(member, self.now)),
        )

    def set_delay(self, bot: Bot, ms: float, jitter_ms: float) -> None:
        link = bot.link
        if isinstance(link, VirtualLink):
            net = self.scenario.network
            link.latency_s = (ms or net.latency_ms) / 1000
            link.jitter_s = (jitter_ms if ms else net.jitter_ms) / 1000

    def stall(self, bot: Bot, seconds: float) -> None:
        link = bot.link
        if isinstance(link, VirtualLink):
            link.stalled_until = self.now + seconds
            self.at(link.stalled_until, lambda: self._flush(link))

    async def server_view(self) -> View:
        ents = self.room.scene.snapshot()
        return View(
            self.room.scene.digest(),
            {e.i: state_digest([e]) for e in ents},
            self.room.seq,
            {e.i: f"{e.k} {e.n!r}" for e in ents},
            tuple(unacked(self.room)),
        )
