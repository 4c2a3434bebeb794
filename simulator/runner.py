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

import contextlib
import math
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed

from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from protocol.pose import AvatarPose
from simulator import scenario as sc
from simulator.bot import Bot
from simulator.client import RoomClient
from simulator.media import RtcMedia, SyntheticMicrophone
from simulator.motion import ALLOWED_SPEED_M_S, Motion, wander_target
from simulator.progress import Progress
from simulator.verdict import (
    FIRST_FRAME_LIMIT_S,
    STUTTER_S,
    Finding,
    MediaSession,
    Verdict,
    check_agreement,
    check_hearing,
    check_ledger,
    check_media,
    compare_views,
)
from simulator.world import World

QUIET_POLLS = 3  # a checkpoint wants the views equal this many ticks running
CHAT_GAP_S = 0.25  # between repeated chat lines: well inside the chat rate limit
PLACE_TOLERANCE_M = 0.6
EXPECTED_CLOSES = frozenset({int(CloseCode.NORMAL), 1006})
VIEW = "view"  # the source name of a thin client's picture in the server's offers
PITCHES = (196.0, 247.0, 294.0)  # each speaking thin bot hums its own note


class StepFailed(Exception):
    """A step the script cannot go on from."""


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
        self.rng = random.Random(self.seed)
        self.progress = progress
        self.snapshot_bots = tuple(snapshot_bots)
        self.verdict = Verdict()
        self.records: list[StepRecord] = []
        self.checkpoints: list[CheckpointRecord] = []
        self.snapshots: list[Snapshot] = []
        self.timings: dict[str, list[float]] = {}
        self.run_id = uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]
        for spec in scenario.bots:
            bot = world.add_bot(spec, self.run_id)
            bot.lose = set((lose or {}).get(spec.name, set()))
        unknown = [b for b in self.snapshot_bots if b not in world.bots]
        if unknown:
            raise sc.ScenarioError(f"--snapshot: no bot called {unknown[0]!r} in {scenario.name}")
        self._step: sc.AnyStep | None = None
        self._ended: list[RtcMedia] = []  # peers whose stats are kept, to be closed

    @property
    def bots(self) -> dict[str, Bot]:
        return self.world.bots

    def bot(self, name: str) -> Bot:
        return self.world.bots[name]

    # --- the run ---------------------------------------------------------------------------

    async def run(self) -> RunResult:
        world = self.world
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
                self._step = step
                before = len(self.verdict.findings)
                try:
                    await self._do(step)
                except StepFailed as exc:
                    record.status, record.detail = "aborted", str(exc)
                    self._find("step", str(exc))
                    aborted = True
                else:
                    new = self.verdict.findings[before:]
                    if new:
                        record.status = "failed"
                        record.detail = "; ".join(f.message for f in new)
                record.took = world.clock() - started - record.started
            self._step = None
            for bot in self.bots.values():
                self._media_end(bot)
            self._judge()
        finally:
            duration = world.clock() - started
            if self.progress is not None:
                self.progress.done(duration, self.verdict.ok)
            for bot in self.bots.values():
                self._media_end(bot)
            # Connections first: a peer closed under a live member could draw an error frame.
            await world.stop()
            await self._media_close()
        return RunResult(
            self.s,
            world.mode,
            self.seed,
            self.verdict,
            self.records,
            self.checkpoints,
            world,
            duration,
            self.timings,
            self.snapshots,
        )

    def _find(self, kind: str, message: str) -> None:
        index = self._step.index if self._step is not None else None
        self.verdict.findings.append(Finding(kind, message, index))

    def _time(self, what: str, seconds: float) -> None:
        self.timings.setdefault(what, []).append(seconds)

    async def _do(self, step: sc.AnyStep) -> None:
        handler: Callable[[Any], Any] = getattr(self, f"_{sc.step_kind(step)}")
        await handler(step)

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        return await self.world.wait_until(predicate, timeout)

    # --- arriving and leaving --------------------------------------------------------------

    async def _join(self, step: sc.Join) -> None:
        bots = [self.bot(b) for b in step.bots]
        for i, bot in enumerate(bots):
            if i and step.stagger_s:
                await self.world.pass_time(step.stagger_s)
            self.world.begin_join(bot, since=None, new_visit=True)
        await self._joined(bots, self.s.within_s + step.stagger_s * len(bots))
        if step.seat is not None:
            cond = sc.Condition("seated", step.seat)
            if not await self._wait(lambda: all(b.sees(cond) for b in bots), self.s.within_s):
                for b in bots:
                    if not b.sees(cond):
                        self._find(
                            "expectation",
                            f"expected {b.name} {cond.describe()}; {b.describe(cond)}",
                        )

    async def _joined(self, bots: list[Bot], timeout: float) -> None:
        start = self.world.clock()
        done = await self._wait(lambda: all(b.joined or b.join_error for b in bots), timeout)
        took = self.world.clock() - start
        failed = [b for b in bots if not b.joined]
        if failed:
            b = failed[0]
            why = b.join_error or ("no answer" if not done else "refused")
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise StepFailed(
                f"{b.name} did not get into the room within {timeout:g} s: {why}{more}"
            )
        self._time("join", took)
        await self._media_up([b for b in bots if b.spec.thin])

    # --- thin clients' media ---------------------------------------------------------------

    async def _media_up(self, bots: list[Bot]) -> None:
        """Open each thin bot's peer (view ``thin``, its microphone if it may speak) and wait
        for the first picture: a thin client shows nothing of the room before it."""
        if not bots:
            return
        world = self.world
        start = world.clock()
        for bot in bots:
            link = bot.link
            if not isinstance(link, RoomClient):
                raise StepFailed(f"{bot.name} is a thin client, which needs a real connection")
            speaker = sorted(self.bots).index(bot.name) % len(PITCHES)
            mic = SyntheticMicrophone(PITCHES[speaker]) if bot.spec.speaks else None
            media = RtcMedia(link, audio=mic, view="thin", dc=True)
            bot.media = media
            with contextlib.suppress(ConnectionClosed):  # gone already: judged as no picture
                await media.open()
        if await self._wait(lambda: all(_picture(b) for b in bots), FIRST_FRAME_LIMIT_S):
            self._time("media -> first picture", world.clock() - start)
            return
        for bot in bots:
            if not _picture(bot):
                media = bot.media
                state = media.pc.connectionState if media is not None else "none"
                channel = "open" if media is not None and media.channel_open else "not open"
                self._find(
                    "media",
                    f"{bot.name} saw no picture of its view within {FIRST_FRAME_LIMIT_S:g} s "
                    f"of asking for media (peer {state}, data channel {channel})",
                )

    def _media_end(self, bot: Bot) -> None:
        """Keep what the bot's peer received until now; the peer is closed later."""
        media = bot.media
        if media is None:
            return
        bot.media = None
        ended = self.world.clock()
        if media.client.closed and bot.closes:
            ended = min(ended, bot.closes[-1].at)  # the connection went before we knew
        bot.media_sessions.append(self._session(bot, media, ended))
        self._ended.append(media)

    def _session(self, bot: Bot, media: RtcMedia, ended: float) -> MediaSession:
        stats = {t.source: t for t in media.stats()}
        view = stats.get(VIEW)
        longest, freezes = 0.0, 0
        if view is not None and view.last_frame_s is not None:
            tail = max(0.0, ended - media.opened_at - view.last_frame_s)
            longest = max(view.longest_gap_s, tail)
            freezes = view.freezes + (tail > STUTTER_S)
        reading = media.readings.get(VIEW)
        audio = [t for t in stats.values() if t.kind == "audio"]
        member = media.client.welcome.member if media.client.welcome is not None else None
        return MediaSession(
            connection=bot.ledger.connection,
            member=member,
            opened_at=media.opened_at - self.world.started_at,
            ended_at=ended - self.world.started_at,
            view_frames=view.frames if view is not None else 0,
            first_frame_s=view.first_frame_s if view is not None else None,
            longest_freeze_s=longest,
            freezes=freezes,
            view_sizes=tuple(sorted(reading.sizes)) if reading is not None else (),
            audio_frames={t.source: t.frames for t in audio},
            loud_frames={t.source: t.loud_frames for t in audio},
            poses_on_channel=media.poses_sent,
            speaks=media.audio is not None,
        )

    async def _media_close(self) -> None:
        ended, self._ended = self._ended, []
        for media in ended:
            await media.close()

    async def _leave(self, step: sc.Leave) -> None:
        bots = [self.bot(b) for b in step.bots]
        for i, bot in enumerate(bots):
            if i and step.stagger_s:
                await self.world.pass_time(step.stagger_s)
            bot.expect_close()
            self._media_end(bot)
            await self.world.send(bot, m.Leave())
        if not await self._wait(lambda: all(b.link is None for b in bots), self.s.within_s):
            stuck = [b.name for b in bots if b.link is not None]
            self._find("connection", f"{', '.join(stuck)} still connected after leaving")
        await self._media_close()

    async def _churn(self, step: sc.Churn) -> None:
        """Walk-ins: each arrives at a random moment, wanders a little, and goes."""
        world, rng = self.world, self.rng
        lo, hi = step.stay_s
        plan: list[tuple[float, int, Bot]] = []
        for bot in (self.bot(b) for b in step.bots):
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
                    bot.move(self._wander(bot), world.clock())
            elif bot.joined:
                bot.expect_close()
                await world.send(bot, m.Leave())
            else:
                # Still on the way in when it is time to go: it leaves as soon as it is in.
                if await self._wait(_in_or_refused(bot), self.s.within_s):
                    bot.expect_close()
                    await world.send(bot, m.Leave())
        never = [b.name for b in arrived if b.join_error]
        if never:
            raise StepFailed(f"{never[0]} could not get in: {self.bot(never[0]).join_error}")
        if not await self._wait(lambda: all(b.link is None for b in arrived), self.s.within_s):
            stuck = [b.name for b in arrived if b.link is not None]
            self._find(
                "connection", f"{len(stuck)} walk-ins still connected: {', '.join(stuck[:5])}"
            )

    def _wander(self, bot: Bot) -> Callable[[Motion, float], object]:
        layout, rng = self.world.layout, random.Random(self.rng.random())

        def go(motion: Motion, now: float) -> None:
            if motion.seated:
                return
            x, _, z = motion.where(now)
            motion.walk_to(now, wander_target(layout, (x, z), rng))

        return go

    async def _reconnect(self, step: sc.Reconnect) -> None:
        bots = [self.bot(b) for b in step.bots]
        for bot in bots:
            since = bot.ledger.last_seq if step.since else None
            self.world.begin_join(bot, since=since, new_visit=False)
        await self._joined(bots, step.within_s)

    async def _drop(self, step: sc.Drop) -> None:
        bots = [self.bot(b) for b in step.bots]
        for bot in bots:
            self._media_end(bot)
            self.world.cut(bot)
        if not await self._wait(lambda: all(b.link is None for b in bots), self.s.within_s):
            raise StepFailed(f"{bots[0].name}'s connection would not drop")
        await self._media_close()

    async def _delay(self, step: sc.Delay) -> None:
        for name in step.bots:
            self.world.set_delay(self.bot(name), step.ms, step.jitter_ms)

    async def _stall(self, step: sc.Stall) -> None:
        for name in step.bots:
            self.world.stall(self.bot(name), step.seconds)
        await self.world.pass_time(step.seconds)

    async def _idle(self, step: sc.Idle) -> None:
        await self.world.pass_time(step.seconds)

    # --- moving ----------------------------------------------------------------------------

    async def _look_around(self, step: sc.LookAround) -> None:
        now = self.world.clock()
        for name in step.bots:
            self.bot(name).move(lambda mo, t: mo.look_around(t, step.seconds), now)
        await self.world.pass_time(step.seconds)

    async def _walk(self, step: sc.Walk) -> None:
        target = self._spot(step.to)
        bots = [self.bot(b) for b in step.bots]
        for bot in bots:
            own = bot.own_entity()
            if own is not None and own.s:
                await self.world.send(bot, m.Stand())
                await self._wait(_standing(bot), self.s.within_s)
                bot.reanchor()
        arrivals: list[float] = []
        for bot in bots:
            bot.move(lambda mo, t: arrivals.append(mo.walk_to(t, target)), self.world.clock())
        await self._wait(lambda: len(arrivals) == len(bots), self.s.within_s)
        last = max(arrivals, default=self.world.clock())
        await self.world.pass_time(max(0.0, last - self.world.clock()) + 0.3)
        for bot in bots:
            own = bot.own_entity()
            if own is None or own.x is None:
                continue
            x, _, z = AvatarPose.unpack(own.x).head.pos
            off = math.hypot(x / 1000 - target[0], z / 1000 - target[1])
            if off > PLACE_TOLERANCE_M:
                self._find(
                    "expectation",
                    f"{bot.name} walked to ({target[0]:.2f}, {target[1]:.2f}) but stands "
                    f"{off:.2f} m away",
                )

    def _spot(self, to: str | tuple[float, float]) -> tuple[float, float]:
        if isinstance(to, tuple):
            return to
        layout = self.world.layout
        spots = (*layout.spawn_points, *layout.seats, *layout.expert_spots)
        spot = next((s for s in spots if s.id == to), None)
        if spot is None:
            raise StepFailed(f"the {layout.name} layout has no spot {to!r}")
        return (spot.pos[0], spot.pos[2])

    async def _sit(self, step: sc.Sit) -> None:
        bot = self.bot(step.bot)
        await self.world.send(bot, m.Sit(step.seat))
        cond = sc.Condition("seated", step.seat)
        if not await self._wait(lambda: bot.sees(cond), self.s.within_s):
            errors = [e.msg for _, e in bot.errors[-2:]]
            self._find(
                "expectation",
                f"{bot.name} is not {cond.describe()}: {'; '.join(errors) or bot.describe(cond)}",
            )
        bot.reanchor()

    async def _stand(self, step: sc.Stand) -> None:
        bots = [self.bot(b) for b in step.bots]
        for bot in bots:
            await self.world.send(bot, m.Stand())
        if not await self._wait(lambda: all(not _seat_of(b) for b in bots), self.s.within_s):
            self._find("expectation", "not everyone stood up")
        for bot in bots:
            bot.reanchor()

    # --- talking ---------------------------------------------------------------------------

    async def _chat(self, step: sc.Chat) -> None:
        bot = self.bot(step.bot)
        texts = (
            [step.text]
            if step.repeat == 1
            else [f"{step.text} ({i + 1})" for i in range(step.repeat)]
        )
        for i, text in enumerate(texts):
            if i:
                await self.world.pass_time(CHAT_GAP_S)
            await self.world.send(bot, m.Chat(text))
        last = sc.Condition("chat", texts[-1])
        if not await self._wait(lambda: bot.sees(last) or not bot.joined, self.s.within_s):
            self._find(
                "expectation",
                f"{bot.name}'s chat line did not come back within {self.s.within_s:g} s",
            )

    async def _ask(self, step: sc.Ask) -> None:
        bot, world = self.bot(step.bot), self.world
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

        if not await self._wait(answered, step.within_s):
            a = asked()
            got = (
                "the question never came back"
                if a is None
                else f"{len(answers())} of {max(1, len(a.sp))} answers"
            )
            errors = "; ".join(f"{e.code} {e.msg}" for t, e in bot.errors if t >= start)
            self._find(
                "expectation",
                f"{bot.name} asked {step.text!r}: {got} within {step.within_s:g} s"
                + (f" (errors: {errors})" if errors else ""),
            )
            return
        self._time("ask -> answer", world.clock() - start)
        question = asked()
        assert question is not None
        routed = tuple(question.sp)
        exp = step.expect
        if exp.routed is not None and sorted(exp.routed) != sorted(routed):
            self._find(
                "expectation",
                f"{step.text!r} was routed to {_list(routed)}; expected {_list(exp.routed)}",
            )
        if exp.experts is not None:
            wanted = [sc.Condition("expert", sp) for sp in exp.experts]
            await self._wait(
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
                self._find(
                    "expectation",
                    f"expected {_article(missing)} expert for {step.text!r}; the question was "
                    f"routed to {_list(routed)} and these experts came: "
                    f"{', '.join(came) or 'none'}",
                )
            else:
                self._time("ask -> expert visible", world.clock() - start)
        if exp.handoff is not None:
            handed = any(a.handoff for a in answers())
            if handed != exp.handoff:
                why = next((a.why for a in answers() if a.why), None)
                self._find(
                    "expectation",
                    f"expected {'a' if exp.handoff else 'no'} hand-off to an advisor for "
                    f"{step.text!r}; "
                    + (
                        f"the answer handed over ({why})"
                        if handed
                        else "the experts answered it themselves"
                    ),
                )

    async def _wait_for(self, step: sc.WaitFor) -> None:
        bots = [self.bot(b) for b in step.bots]
        cond = step.until
        start = self.world.clock()
        if await self._wait(lambda: all(b.sees(cond) for b in bots), step.within_s):
            self._time(f"until {cond.kind}", self.world.clock() - start)
            return
        for b in bots:
            if not b.sees(cond):
                self._find(
                    "expectation",
                    f"expected {b.name} to see {cond.describe()} within {step.within_s:g} s; "
                    f"{b.describe(cond)}",
                )

    async def _dismiss(self, step: sc.Dismiss) -> None:
        bot = self.bot(step.bot)
        expert = 0
        if step.specialty is not None:
            replica = bot.replica
            ents = list(replica.entities.values()) if replica is not None else []
            found = next((e for e in ents if e.k == "expert" and e.sp == step.specialty), None)
            if found is None:
                self._find("expectation", f"{bot.name} sees no {step.specialty} expert to dismiss")
                return
            expert = found.i
        await self.world.send(bot, m.Dismiss(expert))
        cond = sc.Condition("no_expert", step.specialty or "any")
        if not await self._wait(lambda: bot.sees(cond), self.s.within_s):
            self._find("expectation", f"{cond.describe()} after dismissing; {bot.describe(cond)}")

    # --- advisors --------------------------------------------------------------------------

    async def _console(self, step: sc.Console) -> None:
        bots = [self.bot(b) for b in step.bots]
        for bot in bots:
            self.world.begin_console(bot)
        if not await self._wait(lambda: all(_console_up(b) for b in bots), self.s.within_s):
            raise StepFailed(
                f"{bots[0].name}'s console did not open: {bots[0].join_error or 'no answer'}"
            )

    async def _accept_page(self, step: sc.AcceptPage) -> None:
        bot, world = self.bot(step.bot), self.world
        start = world.clock()
        if not await self._wait(lambda: bool(bot.pages()), step.within_s):
            raise StepFailed(f"no page reached {bot.name}'s console within {step.within_s:g} s")
        pages = bot.pages()
        page = next((p for p in pages if step.skill in (None, p.sp)), pages[0])
        if step.skill is not None and page.sp != step.skill:
            self._find(
                "expectation",
                f"expected a page for {step.skill}; {bot.name}'s console lists "
                f"{_list([p.sp or 'any' for p in pages])}",
            )
        self._time("page -> console", world.clock() - start)
        errors = len(bot.errors)
        await world.send_console(bot, m.Accept(page.id))
        if not await self._wait(
            lambda: bot.accepted() is not None or len(bot.errors) > errors, step.within_s
        ):
            raise StepFailed(f"{bot.name}'s accept of page {page.id} got no answer")
        accepted = bot.accepted()
        if accepted is None:
            raise StepFailed(f"{bot.name} could not take page {page.id}: {bot.errors[-1][1].msg}")
        world.begin_join(bot, since=None, new_visit=True, ticket=world.ticket(accepted))
        await self._joined([bot], step.within_s)
        self._time("accept -> advisor in the room", world.clock() - start)

    async def _present(self, step: sc.Present) -> None:
        bot = self.bot(step.bot)
        await self.world.send(
            bot, m.Present(step.title, list(step.labels), list(step.values), step.screen)
        )
        cond = sc.Condition("screen", step.title)
        everyone = [b for b in self.bots.values() if b.joined]
        if not await self._wait(lambda: all(b.sees(cond) for b in everyone), self.s.within_s):
            late = [b for b in everyone if not b.sees(cond)]
            self._find(
                "expectation",
                f"{late[0].name} does not see {cond.describe()}: {late[0].describe(cond)}",
            )

    # --- checkpoints -----------------------------------------------------------------------

    async def _checkpoint(self, step: sc.Checkpoint) -> None:
        world = self.world
        start = world.clock()
        present = [b for b in self.bots.values() if b.joined]
        for b in self.bots.values():
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
            for b in self.bots.values():
                b.hold(now, False)
        converged = not problems
        digest = (
            server.digest if server is not None else (present[0].view().digest if present else "-")
        )
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
        self.checkpoints.append(record)
        if not converged:
            shown = "; ".join(problems[:4]) + (
                f" (and {len(problems) - 4} more)" if len(problems) > 4 else ""
            )
            self._find(
                "sync", f"checkpoint {step.name!r}: not in sync after {step.within_s:g} s: {shown}"
            )
        for name in self.snapshot_bots:
            bot = self.bot(name)
            if bot.replica is not None and bot.member is not None and bot.joined:
                ents = list(bot.replica.entities.values())
                self.snapshots.append(Snapshot(step.name, step.index, name, bot.member, ents))

    # --- the verdict -----------------------------------------------------------------------

    def _judge(self) -> None:
        for bot in self.bots.values():
            self.verdict.add(check_ledger(bot.name, bot.ledger))
        self.verdict.add(check_agreement({b.name: b.messages for b in self.bots.values()}))
        self.verdict.add(
            check_hearing({b.name: b.media_sessions for b in self.bots.values() if b.spec.thin})
        )
        for bot in self.bots.values():
            for at, error in bot.errors:
                name = _error_name(error.code)
                self.verdict.findings.append(
                    Finding(
                        "error",
                        f"{bot.name} got error {error.code} {name} at "
                        f"{at - self.world.started_at:.2f} s: {error.msg}"
                        + (f" (on {error.ref})" if error.ref else ""),
                    )
                )
            for close in bot.closes:
                reason = f" ({close.reason})" if close.reason else ""
                if not close.expected:
                    self.verdict.findings.append(
                        Finding(
                            "connection",
                            f"{bot.name} was closed by the server: {close.code}{reason}",
                        )
                    )
                elif close.code not in EXPECTED_CLOSES:
                    self.verdict.findings.append(
                        Finding(
                            "connection",
                            f"{bot.name} was closed with {close.code}{reason}, not normally",
                        )
                    )
            self.verdict.add(check_media(bot.name, bot.media_sessions))
            if bot.max_speed > ALLOWED_SPEED_M_S:
                self.verdict.findings.append(
                    Finding(
                        "motion",
                        f"{bot.name} moved at {bot.max_speed:.2f} m/s; the room allows "
                        f"{ALLOWED_SPEED_M_S:g}",
                    )
                )


def _picture(bot: Bot) -> bool:
    media = bot.media
    return media is not None and media.frames(VIEW) > 0 and media.channel_open


def _standing(bot: Bot) -> Callable[[], bool]:
    return lambda: not _seat_of(bot)


def _in_or_refused(bot: Bot) -> Callable[[], bool]:
    return lambda: bot.joined or bool(bot.join_error)


def _seat_of(bot: Bot) -> str:
    own = bot.own_entity()
    return own.s or "" if own is not None else ""


def _console_up(bot: Bot) -> bool:
    return bot.console is not None and any(isinstance(d, m.Pages) for d in bot.console.direct)


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return "?"


def _list(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "nothing (no specialty)"


def _article(items: Sequence[str]) -> str:
    text = _list(items)
    return ("an " if text[0] in "aeiou" else "a ") + text
