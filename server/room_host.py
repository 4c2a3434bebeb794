"""Drives one pure :class:`rooms.Room` on the event loop: its tick task and its members' sockets.

In distributed mode every reliable frame (and close) is written ahead to the room store before
it is delivered: the journal task appends the new reliable messages and the room's small state
in one transaction, then hands the held frames to the outboxes in order. State frames (poses)
never wait. If the store fails, frames are delivered anyway and the room is marked degraded;
the journal catches up when the store answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import zlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection

from advisors.desk import ADVISOR_ETA_S, PageDesk
from avatars.advice import Brain
from avatars.local_brain import LocalBrain
from protocol.codec import encode
from protocol.codes import CloseCode
from rooms import persist
from rooms.audit import AuditLog
from rooms.dispatch import dispatch
from rooms.members import Grant
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    InviteOutput,
    IssueInvite,
    MediaOutput,
    MediaStart,
    MediaStop,
    Output,
    PageCancel,
    PageRequest,
    RecordStop,
    RevokeInvite,
)
from rooms.room import Room
from rooms.stepup_policy import FactorVerdict, Unavailable
from server.cluster.redis_audit import BufferedAuditLog
from server.cluster.room_store import LOG_LENGTH, RoomStore
from server.invites import Inviter
from server.media.room_media import MediaNode, RoomMedia
from server.metrics import Metrics
from server.outbox import Outbox, framed
from server.portfolios import Portfolios
from server.second_factor import TotpChecker

log = logging.getLogger(__name__)

# After a failed write to the store, frames go out unjournaled for this long before retrying.
STORE_RETRY_S = 1.0
PAGE_RETRY_S = 2.0


@dataclass(slots=True)
class Attachment:
    member: int
    grant: Grant
    outbox: Outbox


@dataclass(frozen=True, slots=True)
class Services:
    """What every room on a node shares."""

    metrics: Metrics
    audit: AuditLog
    brain: Brain
    fallback: LocalBrain
    desk: PageDesk
    factors: TotpChecker
    portfolios: Portfolios
    store: RoomStore | None = None
    media: MediaNode | None = None  # None: this server carries no voice or video
    brain_timeout_s: float = 10.0
    max_reliable: int = 4096
    inviter: Inviter | None = None  # None: this node makes no guest links


class RoomHost:
    def __init__(
        self,
        room: Room,
        services: Services,
        *,
        empty_ttl_s: float | None,
        on_dispose: Callable[[RoomHost], None],
        tick_slots: int = 1,
    ) -> None:
        self.room = room
        self._tick_slots = tick_slots
        self._s = services
        self._metrics = services.metrics
        self._empty_ttl = empty_ttl_s  # None: never disposed while the server runs
        # Wall time before which the room stays though empty: a booked appointment's end, so
        # that the room opened at its time is there for the customer who comes late.
        self.kept_until = 0.0
        self._attached: dict[int, Attachment] = {}
        self._task: asyncio.Task[None] | None = None
        self._on_dispose = on_dispose
        self._chores: set[asyncio.Task[None]] = set()  # brain and paging calls under way
        self._held: list[Frame | Close] = []  # waiting for the journal
        self._journal_due = asyncio.Event()
        self._journal: asyncio.Task[None] | None = None
        self._journal_stop = False
        self._journaled = room.seq  # newest seq the store has
        self._journal_count = len(room.reliable_log)  # entries the store should hold
        self._journaled_version = room.durable_version
        self._store_retry_at = 0.0
        self._media: RoomMedia | None = None
        self.degraded = False
        self.moved_away = False
        self.disposed = asyncio.Event()

    @property
    def id(self) -> str:
        return self.room.id

    @property
    def members(self) -> int:
        return len(self._attached)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._run(), name=f"room:{self.id}")
        if self._s.store is not None:
            self._journal = loop.create_task(self._write_ahead(), name=f"journal:{self.id}")

    async def stop(self) -> None:
        """Close every member (1001) and wait until their close frames are out."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._dispatch(self.room.close(time.time()))
        await self._settle()
        await self._close_media()

    async def moved(self) -> None:
        """Another node holds the room now: members reconnect there (their next handshake is
        redirected); nothing more is written, the new host has the journal."""
        self.moved_away = True
        self._held.clear()
        await self._let_go(CloseCode.ROOM_MOVED, "room moved to another node; reconnect")

    async def hand_over(self) -> None:
        """This node is shutting down but the room is not over (distributed mode): members
        are closed with 1001 and reconnect to another node, which restores the room from the
        journal as it stands; the room itself is not closed (experts, pages, screens stay)."""
        await self._let_go(CloseCode.GOING_AWAY, "server restarting; reconnect")

    async def _let_go(self, code: CloseCode, reason: str) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for att in list(self._attached.values()):
            att.outbox.close(code, reason)
        await self._settle()
        await self._close_media()

    async def _close_media(self) -> None:
        media, self._media = self._media, None
        if media is not None:
            await media.close()

    async def settled(self) -> None:
        """Until the work started outside the room (brains, paging, media) has finished."""
        while self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)

    async def _settle(self) -> None:
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)
        if self._journal is not None:
            # Stopped by a flag, not by cancelling: the Redis client can swallow a
            # cancellation that lands inside one of its calls, and the task would wait forever.
            self._journal_stop = True
            self._journal_due.set()
            await asyncio.gather(self._journal, return_exceptions=True)
            await self._flush_journal()
        outboxes = [a.outbox.task for a in self._attached.values() if a.outbox.task]
        await asyncio.gather(*outboxes, return_exceptions=True)

    # --- members --------------------------------------------------------------------------

    def attach(self, ws: ServerConnection, grant: Grant) -> Attachment:
        member = self.room.connect(grant, time.time())
        outbox = Outbox(ws, self._metrics, max_reliable=self._s.max_reliable)
        outbox.start()
        att = Attachment(member, grant, outbox)
        self._attached[member] = att
        ice = self._s.media.settings.member_ice if self._s.media is not None else None
        if ice is not None:
            # First of all: a member's peer is made with these, before any offer comes.
            outbox.push(encode(ice.servers_for(grant.subject, time.time())), reliable=True)
        return att

    def receive(self, att: Attachment, data: bytes | str) -> None:
        if att.outbox.closing:
            return  # the room already let this member go; late frames are ignored
        self._dispatch(self.room.receive(att.member, data, time.time()))

    def receive_datagram(self, member: int, data: bytes | str) -> None:
        """A frame from the member's pose data channel."""
        att = self._attached.get(member)
        if att is None or att.outbox.closing:
            return
        self._metrics.tally.datagrams_in += 1
        self._dispatch(self.room.receive_datagram(member, data, time.time()))

    def detach(self, att: Attachment) -> None:
        self._dispatch(self.room.disconnect(att.member, time.time()))
        self._attached.pop(att.member, None)

    def outbox_of(self, member: int) -> Outbox | None:
        att = self._attached.get(member)
        return att.outbox if att else None

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

    def appointment_due(self, page_id: str, advisor_name: str, language: str) -> None:
        """A booked appointment's page for this room went up (``server/appointments.py``)."""
        now = time.time()
        self._dispatch(self.room.appointment_due(page_id, advisor_name, now, language=language))

    # --- output -----------------------------------------------------------------------------

    def _dispatch(self, outputs: list[Output]) -> None:
        dispatch(outputs, self)
        if self._held:
            self._journal_due.set()

    def on_frame(self, out: Frame) -> None:
        if self._journal is not None and out.reliable:
            self._held.append(out)
        else:
            self._deliver(out)

    def on_close(self, out: Close) -> None:
        if self._journal is not None:
            self._held.append(out)  # after the frames before it, as the room ordered
        else:
            self._deliver(out)

    def on_audit(self, out: Audit) -> None:
        self._s.audit.append(out.event)

    def on_consult(self, out: Consult) -> None:
        self._chore(self._consult(out), f"consult:{out.ticket}")

    def on_page_request(self, out: PageRequest) -> None:
        self._chore(self._page(out), f"page:{out.id}")

    def on_page_cancel(self, out: PageCancel) -> None:
        self._chore(self._s.desk.cancel(out.id), f"cancel:{out.id}")

    def on_check_factor(self, out: CheckFactor) -> None:
        self._chore(self._check_factor(out), f"verify:{out.member}")

    def on_fetch_portfolio(self, out: FetchPortfolio) -> None:
        self._chore(self._fetch_portfolio(out), f"portfolio:{out.member}")

    def on_invite(self, out: InviteOutput) -> None:
        if isinstance(out, IssueInvite):
            self._chore(self._issue_invite(out), f"invite:{out.member}")
        else:
            self._chore(self._revoke_invite(out), f"revoke:{out.invite}")

    async def _issue_invite(self, issue: IssueInvite) -> None:
        inviter = self._s.inviter
        now = time.time()
        if inviter is None:
            self._dispatch(self.room.invite_failed(issue, now))
            return
        try:
            invite_id, url, qr = await inviter.issue(
                issue.room, issue.by, issue.uses, issue.expires, now
            )
        except Exception:
            log.exception("room %s: an invitation could not be made", self.id)
            self._dispatch(self.room.invite_failed(issue, time.time()))
            return
        self._dispatch(self.room.invite_issued(issue, invite_id, url, qr, time.time()))

    async def _revoke_invite(self, revoke: RevokeInvite) -> None:
        if self._s.inviter is None:
            return
        try:
            await self._s.inviter.store.revoke(revoke.room, revoke.invite)
        except Exception:
            # The member is not told the link is dead, so they can revoke it again.
            log.exception("room %s: invitation %s not revoked", self.id, revoke.invite)
            self._dispatch(self.room.invite_revoke_failed(revoke, time.time()))
            return
        self._dispatch(self.room.invite_revoked(revoke, time.time()))

    def summary(self, grant: Grant, language: str) -> tuple[str, str]:
        """The customer's record of the session (Markdown) and its SHA-256, filed in the
        audit chain."""
        text, sha, outputs = self.room.session_summary(grant, language, time.time())
        self._dispatch(outputs)
        return text, sha

    def on_media(self, out: MediaOutput) -> None:
        node = self._s.media
        if node is None:
            if isinstance(out, MediaStart):
                self._dispatch(self.room.media_unavailable(out.member, time.time()))
            return
        if self._media is None:
            if isinstance(out, MediaStop | RecordStop):
                return
            self._media = RoomMedia(
                node,
                self.room,
                send=self._send_direct,
                dispatch=self._dispatch,
                chore=self._chore,
                on_datagram=self.receive_datagram,
            )
        self._media.handle(out)

    def _send_direct(self, member: int, data: bytes) -> None:
        att = self._attached.get(member)
        if att is not None:
            att.outbox.push(data, reliable=True)

    def _deliver(self, out: Frame | Close) -> None:
        attached = self._attached
        if isinstance(out, Frame):
            wire = framed(out.data)
            for member in out.to:
                att = attached.get(member)
                if att is not None:
                    att.outbox.push(out.data, reliable=out.reliable, wire=wire)
        else:
            att = attached.get(out.member)
            if att is not None:
                att.outbox.close(out.code, out.reason)

    async def _write_ahead(self) -> None:
        while not self._journal_stop:
            # Degraded, it also wakes by itself to catch up once the store is back, even
            # if nobody says anything meanwhile.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STORE_RETRY_S if self.degraded else None):
                    await self._journal_due.wait()
            self._journal_due.clear()
            await self._flush_journal()

    async def _flush_journal(self) -> None:
        held, self._held = self._held, []
        store = self._s.store
        version = self.room.durable_version
        due = self.degraded or version != self._journaled_version
        if store is not None and due and time.monotonic() >= self._store_retry_at:
            entries = persist.log_entries(self.room, self._journaled)
            seq = self.room.seq
            try:
                state = persist.dump(self.room, with_log=False)
                held_now = await store.write(self.id, entries, state)
                expected = min(LOG_LENGTH, self._journal_count + len(entries))
                if held_now < expected:
                    # The store lost what we wrote before (restarted empty): write it all.
                    await store.forget(self.id)
                    everything = persist.log_entries(self.room, 0)
                    held_now = await store.write(self.id, everything, state)
                    log.warning("room %s: store had lost the journal; rewrote it", self.id)
                self._journal_count = held_now
                self._journaled, self._journaled_version = seq, version
                if self.degraded:
                    log.info("room %s: store reachable again; journal caught up", self.id)
                self.degraded = False
            except Exception as exc:
                # Availability first: the conversation goes on, and the journal catches up.
                if not self.degraded:
                    log.warning("room %s: store write failed (%s); degraded", self.id, exc)
                self.degraded = True
                self._store_retry_at = time.monotonic() + STORE_RETRY_S
                self._metrics.store_failures.inc()
        await self._audit_written()
        for out in held:
            self._deliver(out)

    async def _audit_written(self) -> None:
        """With a buffered (Redis) audit log, the events that go with these frames are written
        before the frames go out too: a node that dies after sending cannot lose them. Bounded,
        so that an unreachable Redis delays a conversation by a second, not forever."""
        audit = self._s.audit
        if isinstance(audit, BufferedAuditLog) and audit.pending:
            try:
                async with asyncio.timeout(STORE_RETRY_S):
                    await audit.flush()
            except TimeoutError:
                self.degraded = True

    # --- work outside the room ------------------------------------------------------------

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
            draft = await asyncio.wait_for(
                self._s.brain.answer(consult.brief), self._s.brain_timeout_s
            )
        except Exception:
            # The customer always gets an answer: the local brain, with the same guardrails.
            log.exception("room %s: brain failed; answering from local knowledge", self.id)
            draft = self._s.fallback.draft(consult.brief)
        self._metrics.answer_seconds.observe(time.perf_counter() - started)
        self._dispatch(self.room.answered(consult.ticket, draft, time.time()))

    async def _page(self, request: PageRequest) -> None:
        told = False
        while True:
            try:
                first = await self._s.desk.post(request)
                break
            except Exception as exc:
                # Shared paging is down: say so once, and keep trying until it is back or
                # nobody needs the page any more.
                if not told:
                    log.warning("room %s: cannot post page %s (%s)", self.id, request.id, exc)
                    why = "advisor paging is unavailable for a moment; retrying"
                    self._dispatch(
                        self.room.page_update(request.id, "unavailable", time.time(), why=why)
                    )
                    told = True
                await asyncio.sleep(PAGE_RETRY_S)
                if not self.room.page_is_open(request.id):
                    return
        if first is None:
            self._dispatch(self.room.page_update(request.id, "unavailable", time.time()))
        else:
            self._dispatch(
                self.room.page_update(request.id, "paging", time.time(), advisor_name=first.name)
            )

    async def _check_factor(self, check: CheckFactor) -> None:
        verdict: FactorVerdict
        try:
            verdict = await self._s.factors.check(check.subject, check.code, time.time())
        except Exception:
            # Nothing was counted: refused, and the customer may try again.
            log.exception("room %s: second-factor check failed", self.id)
            verdict = Unavailable()
        self._dispatch(self.room.factor_checked(check, verdict, time.time()))

    async def _fetch_portfolio(self, fetch: FetchPortfolio) -> None:
        holdings = await self._s.portfolios.holdings(fetch.subject)
        self._dispatch(self.room.portfolio_ready(fetch, holdings, time.time()))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.room.tick_hz
        # Rooms tick on a few shared phases of the loop's clock (Settings.tick_slots), so the
        # first room of a slot judges the binary poses waiting in all rooms
        # (rooms/pose_desk.py) in one batch and the rest of the slot find theirs done, while
        # the slots spread a period's writes. The first tick runs now, the next on its slot.
        offset = tick_offset(self.id, period, self._tick_slots)
        next_at = on_grid(loop.time(), period, offset) - period
        empty_since: float | None = None
        try:
            while True:
                started = loop.time()
                with self._metrics.tick_seconds.time():
                    self._dispatch(self.room.tick(time.time()))
                    if self._media is not None:
                        self._media.follow_scene()
                self._metrics.flush()
                if self._empty_ttl is not None:
                    if not self.room.is_empty:
                        empty_since = None
                    elif empty_since is None:
                        empty_since = started
                    elif (
                        started - empty_since >= self._empty_ttl and time.time() >= self.kept_until
                    ):
                        log.info("room %s empty for %.0f s: disposing", self.id, self._empty_ttl)
                        break
                next_at += period
                delay = next_at - loop.time()
                if delay < -period:
                    # Behind by more than a tick: skip ahead rather than burst to catch up.
                    self._metrics.tick_overruns.inc()
                    next_at = on_grid(loop.time(), period, offset)
                    delay = next_at - loop.time()
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
            if self._media is not None:
                # The experts' voices (and any picture the server draws) must not go on as
                # hub sources of a room that is gone; closed after the room let go.
                self._chore(self._close_media(), "media-close")


def tick_offset(room_id: str, period: float, slots: int) -> float:
    """The phase of a room's ticks in the period: one of ``slots``, the same on every node."""
    return period * (zlib.crc32(room_id.encode()) % slots) / slots


def on_grid(t: float, period: float, offset: float) -> float:
    """The first multiple of ``period``, plus ``offset``, at or after ``t``."""
    return math.ceil((t - offset) / period) * period + offset
