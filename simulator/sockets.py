"""The socket world: bots over real WebSockets against a running server.

Each bot's connection is a :class:`SocketLink`, the protocol client with three additions: it
tells its bot about every frame, it can add latency in both directions (frames wait in a
delay line, order kept), and it can stall (stop reading, so TCP pushes back on the server
exactly as a frozen client would). Poses go out from one task per bot at the bot's frame rate.

The server's own view of the room comes from its read-only QA endpoint
(``server/qa_probe.py``, ``GET /qa/rooms/<room>`` with a bot token for that room); a server
without it is compared bot against bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import encode
from protocol.paths import QA_PROBE_PREFIX
from rooms.roles import Role
from scenes.layout import Layout
from simulator.bot import Bot
from simulator.client import ClientError, RoomClient
from simulator.scenario import Scenario
from simulator.tokens import TokenMinter
from simulator.verdict import View
from simulator.world import Ticket, World

SAMPLE_S = 0.25
POLL_S = 0.05  # waiters also look again this often: some conditions change without a frame


class DelayLine:
    """Items out in order, each no sooner than ``delay`` (plus jitter) after it went in."""

    def __init__(self, handle: Callable[[Any], Awaitable[None]], rng: random.Random) -> None:
        self._handle = handle
        self._rng = rng
        self._items: deque[tuple[float, Any]] = deque()
        self._wake = asyncio.Event()
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None
        self.delay = 0.0
        self.jitter = 0.0

    @property
    def busy(self) -> bool:
        return bool(self._items)

    def put(self, item: Any) -> None:
        due = max(self._last, time.monotonic() + self.delay + self._rng.uniform(0, self.jitter))
        self._last = due
        self._items.append((due, item))
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="delay-line")

    async def _run(self) -> None:
        while True:
            if not self._items:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, item = self._items[0]
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._items.popleft()
            with contextlib.suppress(ConnectionClosed):
                await self._handle(item)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class SocketLink(RoomClient):
    def __init__(self, ws: ClientConnection, *, auto_ack: bool = True) -> None:
        self.listener: Callable[[Any], None] | None = None
        self.bytes_out = 0
        self._reading = asyncio.Event()
        self._reading.set()
        rng = random.Random()
        self._inbound = DelayLine(self._process, rng)
        self._outbound = DelayLine(self._write, rng)
        super().__init__(ws, auto_ack=auto_ack)

    def on_closed(self, callback: Callable[[], None]) -> None:
        self._reader.add_done_callback(lambda _: callback())

    def set_delay(self, seconds: float, jitter: float) -> None:
        for line in (self._inbound, self._outbound):
            line.delay, line.jitter = seconds, jitter

    @property
    def stalled(self) -> bool:
        return not self._reading.is_set()

    def stall(self, seconds: float) -> None:
        self._reading.clear()
        asyncio.get_running_loop().call_later(seconds, self._reading.set)

    async def send(self, message: m.Message | bytes) -> None:
        """A message, or a frame already encoded (a binary pose frame)."""
        data = message if isinstance(message, bytes) else encode(message)
        self.bytes_out += len(data)
        if self._outbound.delay or self._outbound.busy:
            self._outbound.put(data)
        else:
            await self.ws.send(data)

    async def _write(self, data: bytes) -> None:
        await self.ws.send(data)

    async def _on_frame(self, msg: Any) -> None:
        # Not reading is the stall: websockets stops taking from the socket once its queue is
        # full, and TCP holds the server back as it would for a frozen client.
        await self._reading.wait()
        if self._inbound.delay or self._inbound.busy:
            self._inbound.put(msg)
        else:
            await self._process(msg)

    async def _process(self, msg: Any) -> None:
        await super()._on_frame(msg)

    def _stored(self, msg: Any) -> None:
        # Here and not after the await in _on_frame: a bot attached during that await has
        # already taken this message from ``reliable``, and would count it twice.
        if self.listener is not None:
            self.listener(msg)

    async def close(self) -> None:
        await self._inbound.close()
        await self._outbound.close()
        await super().close()


class SocketWorld(World):
    mode = "sockets"

    def __init__(
        self,
        scenario: Scenario,
        layout: Layout,
        rng: random.Random,
        *,
        base_url: str,
        tokens: TokenMinter,
        room: str,
        cpu: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(scenario, layout, rng)
        self.base_url = base_url.rstrip("/")  # http(s)://host:port
        self.ws_base = "ws" + self.base_url.removeprefix("http")
        self.tokens = tokens
        self.room = self.room_id = room
        self.room_url = f"{self.ws_base}/ws/{room}"
        self._cpu = cpu
        if cpu is not None:
            self.cpu_source = "server process CPU (utime + stime from /proc)"
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._links: list[SocketLink] = []
        self._http: httpx.AsyncClient | None = None
        self._probe_token = tokens.mint(
            room=room, role=Role.BOT, subject=f"sim-probe-{room}", name="QA probe"
        )
        self.probe_available: bool | None = None
        self._t0 = time.monotonic()

    # --- clock and waiting -----------------------------------------------------------------

    def clock(self) -> float:
        return time.monotonic()

    def changed(self) -> None:
        self._changed.set()

    async def pass_time(self, seconds: float) -> None:
        # The script's own pacing ("look around for 2 s"), not a way to wait for something.
        await asyncio.sleep(seconds)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                return predicate()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, POLL_S))
        return True

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._t0 = self.started_at = time.monotonic()
        self._http = httpx.AsyncClient(timeout=5.0)
        self._spawn(self._sample(), "sample")
        for bot in self.bots.values():
            self._spawn(self._pump(bot), f"pump:{bot.name}")
        view = await self.server_view()
        if view is None and self.probe_available is False:
            self.notes.append(
                "the server has no QA endpoint: scenes compared between bots, not with the server"
            )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for link in self._links:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.close(), 5)
        if self._http is not None:
            await self._http.aclose()

    def _spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run(), name=f"sim:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sample(self) -> None:
        while True:
            bots = self.bots.values()
            t = time.monotonic() - self._t0
            self.series.traffic.append(
                (t, sum(b.bytes_in for b in bots), sum(self._out(b) for b in bots))
            )
            if self._cpu is not None:
                with contextlib.suppress(OSError):
                    self.series.cpu.append((t, self._cpu()))
            await asyncio.sleep(SAMPLE_S)

    @staticmethod
    def _out(bot: Bot) -> int:
        link = bot.link
        return bot.bytes_out + (link.bytes_out if isinstance(link, SocketLink) else 0)

    async def _pump(self, bot: Bot) -> None:
        period = 1 / bot.hz
        next_at = time.monotonic() + random.uniform(0, period)
        while True:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at += period
            now = time.monotonic()
            if now - next_at > 0.25:
                next_at = now  # fell behind (a busy loop): skip rather than burst
            link = bot.link
            if not isinstance(link, SocketLink) or link.closed or link.stalled:
                continue
            pose = bot.next_pose(now)
            if pose is not None:
                with contextlib.suppress(ConnectionClosed):
                    await link.send(pose)

    # --- bots ------------------------------------------------------------------------------

    def _token(self, bot: Bot) -> str:
        spec = bot.spec
        return self.tokens.mint(
            room=self.room,
            role=Role(spec.role),
            subject=bot.subject,
            name=spec.name,
            risk=spec.risk,
            language=spec.lang,
            layout=self.layout.name,  # the room is opened as the scenario's layout
        )

    def begin_join(
        self, bot: Bot, *, since: int | None, new_visit: bool, ticket: Ticket | None = None
    ) -> None:
        bot.join_error = None
        url, token = (ticket.url, ticket.token) if ticket else (self.room_url, self._token(bot))

        async def join() -> None:
            try:
                link = await SocketLink.join(
                    url, token, bot.name, since=since, auto_ack=not bot.spec.vr, look=bot.look
                )
            except (ClientError, OSError) as exc:
                bot.join_error = str(exc) or type(exc).__name__
                self.changed()
                return
            self._links.append(link)
            bot.attach(link, since=since, new_visit=new_visit)
            self._register(bot)
            link.on_closed(lambda: self._closed(bot, link))

        self._spawn(join(), f"join:{bot.name}")

    def _closed(self, bot: Bot, link: SocketLink) -> None:
        if bot.link is link:
            bot.detach()
        self.changed()

    def begin_console(self, bot: Bot) -> None:
        spec = bot.spec
        token = self.tokens.mint_console(
            subject=bot.subject,
            name=bot.name,
            skills=[Specialty(s) for s in spec.skills],
            languages=list(spec.langs),
        )

        async def open_console() -> None:
            try:
                link = await SocketLink.open(f"{self.ws_base}/console", token)
            except OSError as exc:
                bot.join_error = f"console: {exc}"
                self.changed()
                return
            self._links.append(link)
            bot.console = link
            link.listener = lambda msg: self._console_seen(bot, msg)
            self.changed()

        self._spawn(open_console(), f"console:{bot.name}")

    def _console_seen(self, bot: Bot, msg: Any) -> None:
        if isinstance(msg, m.Error):
            bot.errors.append((self.clock(), msg))
        self.changed()

    async def send(self, bot: Bot, message: m.Message) -> None:
        if isinstance(bot.link, SocketLink):
            with contextlib.suppress(ConnectionClosed):
                await bot.link.send(message)

    async def send_console(self, bot: Bot, message: m.Message) -> None:
        if isinstance(bot.console, SocketLink):
            with contextlib.suppress(ConnectionClosed):
                await bot.console.send(message)

    def cut(self, bot: Bot) -> None:
        link = bot.link
        if isinstance(link, SocketLink):
            bot.expect_close()
            link.ws.transport.abort()

    def set_delay(self, bot: Bot, ms: float, jitter_ms: float) -> None:
        if isinstance(bot.link, SocketLink):
            bot.link.set_delay(ms / 1000, jitter_ms / 1000)

    def stall(self, bot: Bot, seconds: float) -> None:
        if isinstance(bot.link, SocketLink):
            bot.link.stall(seconds)

    async def server_view(self) -> View | None:
        if self.probe_available is False or self._http is None:
            return None
        try:
            response = await self._http.get(
                f"{self.base_url}{QA_PROBE_PREFIX}{self.room}",
                headers={"Authorization": f"Bearer {self._probe_token}"},
            )
        except httpx.HTTPError as exc:
            self.notes.append(f"QA endpoint unreachable: {exc}")
            self.probe_available = False
            return None
        if response.status_code == 404 and not response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            self.probe_available = False
            return None
        if response.status_code != 200:
            return None  # the room is not open yet (404 JSON), or the token was refused
        self.probe_available = True
        data = response.json()
        self.server_layout = str(data.get("layout"))
        return View(
            str(data["digest"]),
            {int(k): str(v) for k, v in data["entities"].items()},
            int(data["seq"]),
            unacked=tuple(int(x) for x in data.get("unacked", ())),
        )


def http_base(url: str) -> str:
    """``ws://host:port/...`` or ``http://host:port`` to ``http://host:port``."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    if scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not a server URL: {url!r} (expected ws://HOST:PORT or http://...)")
    return f"{scheme}://{parts.netloc}"
