"""Drives one pure :class:`rooms.Room` on the event loop: its tick task and its members' sockets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection

from avatars.advice import Brain
from avatars.local_brain import LocalBrain
from protocol.codes import CloseCode
from rooms.audit import AuditLog
from rooms.members import Grant
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    Output,
    PageCancel,
    PageRequest,
)
from rooms.room import Room
from server.metrics import Metrics
from server.outbox import Outbox
from server.paging import PageDesk
from server.portfolios import Portfolios
from server.second_factor import TotpChecker

log = logging.getLogger(__name__)

# What a customer is told to expect once an advisor accepts: they join from their console.
ADVISOR_ETA_S = 60


@dataclass(slots=True)
class Attachment:
    member: int
    grant: Grant
    outbox: Outbox


class RoomHost:
    def __init__(
        self,
        room: Room,
        metrics: Metrics,
        *,
        max_reliable: int,
        empty_ttl_s: float | None,
        on_dispose: Callable[[RoomHost], None],
        audit: AuditLog,
        brain: Brain,
        fallback: LocalBrain,
        desk: PageDesk,
        factors: TotpChecker,
        portfolios: Portfolios,
        brain_timeout_s: float = 10.0,
    ) -> None:
        self.room = room
        self._metrics = metrics
        self._max_reliable = max_reliable
        self._empty_ttl = empty_ttl_s  # None: never disposed while the server runs
        self._attached: dict[int, Attachment] = {}
        self._task: asyncio.Task[None] | None = None
        self._on_dispose = on_dispose
        self._audit = audit
        self._brain = brain
        self._fallback = fallback
        self._brain_timeout = brain_timeout_s
        self._desk = desk
        self._factors = factors
        self._portfolios = portfolios
        self._chores: set[asyncio.Task[None]] = set()  # brain and paging calls under way
        self.disposed = asyncio.Event()

    @property
    def id(self) -> str:
        return self.room.id

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"room:{self.id}")

    async def stop(self) -> None:
        """Close every member (1001) and wait until their close frames are out."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._dispatch(self.room.close(time.time()))
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
        outboxes = [a.outbox.task for a in self._attached.values() if a.outbox.task]
        await asyncio.gather(*outboxes, return_exceptions=True)

    # --- members --------------------------------------------------------------------------

    def attach(self, ws: ServerConnection, grant: Grant) -> Attachment:
        member = self.room.connect(grant, time.time())
        outbox = Outbox(ws, self._metrics, max_reliable=self._max_reliable)
        outbox.start()
        att = Attachment(member, grant, outbox)
        self._attached[member] = att
        return att

    def receive(self, att: Attachment, data: bytes | str) -> None:
        if att.outbox.closing:
            return  # the room already let this member go; late frames are ignored
        self._dispatch(self.room.receive(att.member, data, time.time()))

    def detach(self, att: Attachment) -> None:
        self._dispatch(self.room.disconnect(att.member, time.time()))
        self._attached.pop(att.member, None)

    def outbox_of(self, member: int) -> Outbox | None:
        att = self._attached.get(member)
        return att.outbox if att else None

    # --- internals ------------------------------------------------------------------------

    def _dispatch(self, outputs: list[Output]) -> None:
        attached = self._attached
        for out in outputs:
            if isinstance(out, Frame):
                for member in out.to:
                    att = attached.get(member)
                    if att is not None:
                        att.outbox.push(out.data, reliable=out.reliable)
            elif isinstance(out, Close):
                att = attached.get(out.member)
                if att is not None:
                    att.outbox.close(out.code, out.reason)
            elif isinstance(out, Audit):
                self._audit.append(out.event)
            elif isinstance(out, Consult):
                self._chore(self._consult(out), f"consult:{out.ticket}")
            elif isinstance(out, PageRequest):
                self._chore(self._page(out), f"page:{out.id}")
            elif isinstance(out, PageCancel):
                self._chore(self._desk.cancel(out.id), f"cancel:{out.id}")
            elif isinstance(out, CheckFactor):
                self._chore(self._check_factor(out), f"verify:{out.member}")
            elif isinstance(out, FetchPortfolio):
                self._chore(self._fetch_portfolio(out), f"portfolio:{out.member}")

    async def _check_factor(self, check: CheckFactor) -> None:
        try:
            ok = await self._factors.check(check.subject, check.code, time.time())
        except Exception:
            log.exception("room %s: second-factor check failed", self.id)
            ok = False
        self._dispatch(self.room.factor_checked(check, ok, time.time()))

    async def _fetch_portfolio(self, fetch: FetchPortfolio) -> None:
        holdings = await self._portfolios.holdings(fetch.subject)
        self._dispatch(self.room.portfolio_ready(fetch, holdings, time.time()))

    def page_claimed(self, page_id: str, advisor: str, advisor_name: str | None) -> None:
        """An advisor (on any node) accepted a page of this room."""
        self._dispatch(
            self.room.page_update(
                page_id,
                "coming",
                time.time(),
                advisor=advisor,
                advisor_name=advisor_name,
                eta_s=ADVISOR_ETA_S,
            )
        )

    def _chore(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"room:{self.id}:{name}")
        self._chores.add(task)
        task.add_done_callback(self._chore_done)

    def _chore_done(self, task: asyncio.Task[None]) -> None:
        self._chores.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("room %s: %s failed", self.id, task.get_name(), exc_info=exc)

    async def _consult(self, consult: Consult) -> None:
        started = time.perf_counter()
        try:
            draft = await asyncio.wait_for(self._brain.answer(consult.brief), self._brain_timeout)
        except Exception:
            # The customer always gets an answer: the local brain, with the same guardrails.
            log.exception("room %s: brain failed; answering from local knowledge", self.id)
            draft = self._fallback.draft(consult.brief)
        self._metrics.answer_seconds.observe(time.perf_counter() - started)
        self._dispatch(self.room.answered(consult.ticket, draft, time.time()))

    async def _page(self, request: PageRequest) -> None:
        try:
            first = await self._desk.post(request)
        except Exception:
            log.exception("room %s: could not post page %s", self.id, request.id)
            self._dispatch(self.room.page_update(request.id, "unavailable", time.time()))
            return
        if first is None:
            self._dispatch(self.room.page_update(request.id, "unavailable", time.time()))
        else:
            self._dispatch(
                self.room.page_update(request.id, "paging", time.time(), advisor_name=first.name)
            )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.room.tick_hz
        next_at = loop.time()
        empty_since: float | None = None
        try:
            while True:
                started = loop.time()
                with self._metrics.tick_seconds.time():
                    self._dispatch(self.room.tick(time.time()))
                if self._empty_ttl is not None:
                    if not self.room.is_empty:
                        empty_since = None
                    elif empty_since is None:
                        empty_since = started
                    elif started - empty_since >= self._empty_ttl:
                        log.info("room %s empty for %.0f s: disposing", self.id, self._empty_ttl)
                        break
                next_at += period
                delay = next_at - loop.time()
                if delay < -period:
                    # Behind by more than a tick: skip ahead rather than burst to catch up.
                    self._metrics.tick_overruns.inc()
                    next_at = loop.time()
                    delay = 0.0
                await asyncio.sleep(delay)
        except Exception:
            log.exception("room %s tick loop failed", self.id)
            for att in self._attached.values():
                att.outbox.close(CloseCode.INTERNAL_ERROR, "room failed; reconnect")
            raise
        finally:
            # Synchronous with the emptiness check above: no member can attach in between.
            self._on_dispose(self)
            self.disposed.set()
