"""The advisor console's conversation: presence, the queue of pages, accepting one.

A pure state machine, as a room is: frames and time go in, outputs come out
(:mod:`advisors.outputs`), and the shell (``server/console.py``) awaits the shared services and
the socket. An advisor is *available* while their console is connected (unless they say
otherwise); accepting a page answers with a short-lived room token, so the console can open the
room at once.
"""

from __future__ import annotations

from advisors.grant import ConsoleGrant
from advisors.outputs import (
    Admit,
    Appoint,
    Audit,
    Claim,
    Close,
    ConsoleOutput,
    Pass,
    PutPresence,
    Send,
    SendPages,
    SendSlots,
)
from advisors.pages import Page
from advisors.presence import AdvisorState, AdvisorStatus
from protocol import messages as m
from protocol.codec import decode
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import ProtocolError
from protocol.limits import MAX_ERROR_CHARS, MAX_PAGES, PROTOCOL_VERSION, TokenBucket
from rooms.audit import AuditEvent

# Messages that belong to a room, not the console: refused with a code that says so.
MESSAGE_RATE = 20.0  # per second, with a burst of MESSAGE_BURST: a person clicks, no more
MESSAGE_BURST = 40.0


def page_info(page: Page, viewer: str | None = None, now: float = 0.0) -> m.PageInfo:
    """A page as an advisor's console shows it; ``first`` when it is offered to ``viewer``
    alone for now (their booking's), which they may decline."""
    return m.PageInfo(
        page.id,
        page.room,
        page.skill.value if page.skill else "",
        page.language,
        page.reason,
        int(page.raised * 1000),
        page.customer_name or "customer",
        page.risk,
        page.product,
        m.BRIEFING.check(page.brief, "brief") if page.brief else None,
        True if viewer is not None and page.first == viewer and now < page.first_until else None,
    )


def pages_message(pages: list[Page], viewer: str | None = None, now: float = 0.0) -> m.Pages:
    """The console's queue: the first ``MAX_PAGES`` of the pages its advisor can take."""
    return m.Pages([page_info(p, viewer, now) for p in pages[:MAX_PAGES]])


class Console:
    """One advisor's console connection. ``now`` is wall-clock seconds, as for a room."""

    def __init__(
        self,
        grant: ConsoleGrant,
        *,
        node: str,
        max_frame_bytes: int,
        strikes: float,
        now: float,
    ) -> None:
        self.grant = grant
        self.node = node
        self.state = AdvisorState.AVAILABLE
        self._max_frame = max_frame_bytes
        self._strikes = TokenBucket(1.0, strikes, now)
        self._messages = TokenBucket(MESSAGE_RATE, MESSAGE_BURST, now)

    def status(self, now: float) -> AdvisorStatus:
        g = self.grant
        return AdvisorStatus(
            g.subject, g.name, self.state, g.skills, g.languages, g.customers, self.node, now
        )

    def open(self, now: float) -> list[ConsoleOutput]:
        """The console connected: the advisor is present, welcomed and shown the queue."""
        g = self.grant
        welcome = m.ConsoleWelcome(
            g.name, self.state.value, sorted(s.value for s in g.skills), sorted(g.languages)
        )
        return [PutPresence(self.status(now)), Send(welcome), SendPages(), SendSlots()]

    def refresh(self, now: float) -> list[ConsoleOutput]:
        """Presence is written again before it lapses, while the console stays connected."""
        return [PutPresence(self.status(now))]

    def receive(self, data: bytes | str, now: float) -> list[ConsoleOutput]:
        if not self._messages.take(now):
            return self._error(ErrorCode.RATE_LIMITED, "too many messages; slow down", None, now)
        try:
            msg = decode(data, max_bytes=self._max_frame)
        except ProtocolError as exc:
            return self._error(exc.code, exc.detail, exc.msg_type, now)
        if isinstance(msg, m.Hello):
            if msg.v != PROTOCOL_VERSION:
                detail = f"protocol version {msg.v} is not supported"
                return self._error(ErrorCode.UNSUPPORTED_VERSION, detail, "hello", now)
        elif isinstance(msg, m.Ping):
            return [Send(m.Pong(msg.n))]
        elif isinstance(msg, m.SetPresence):
            self.state = AdvisorState(msg.state)
            return [PutPresence(self.status(now))]
        elif isinstance(msg, m.Accept):
            return [Claim(msg.page)]
        elif isinstance(msg, m.Decline):
            return [Pass(msg.page)]
        elif isinstance(msg, m.Offer | m.Book | m.Cancel | m.Move):
            return [Appoint(msg)]
        else:
            # Every other message a client may send belongs to a room: none is ignored.
            detail = f"{msg.TYPE!r} belongs to a room (/ws/<room>), not the console"
            return self._error(ErrorCode.WRONG_ENDPOINT, detail, msg.TYPE, now)
        return []

    def claimed(self, page_id: str, page: Page | None, now: float) -> list[ConsoleOutput]:
        """The board's answer to :class:`~advisors.outputs.Claim`: the page, or ``None`` if it
        is no longer open or not one this advisor can take."""
        if page is None:
            detail = "that page is no longer open, or not one you can take"
            return [
                self._audit(page_id, "-", "refused", now),
                *self._error(ErrorCode.NO_SUCH_PAGE, detail, "accept", now),
            ]
        self.state = AdvisorState.BUSY
        return [self._audit(page.id, page.room, "ok", now), Admit(page)]

    def passed(self, page_id: str, page: Page | None, now: float) -> list[ConsoleOutput]:
        """The board's answer to :class:`~advisors.outputs.Pass`."""
        if page is None:
            detail = "that page is not open, or not one offered to you first"
            return self._error(ErrorCode.NO_SUCH_PAGE, detail, "decline", now)
        event = AuditEvent(
            now,
            page.room,
            self.grant.subject,
            "advisor",
            "handoff.decline",
            "ok",
            {"page": page.id},
        )
        return [Audit(event), SendPages()]

    def refused(self, code: ErrorCode, detail: str, ref: str, now: float) -> list[ConsoleOutput]:
        """An appointment message the rules refused: an error frame, counted as a strike."""
        return self._error(code, detail, ref, now)

    def _audit(self, page: str, room: str, outcome: str, now: float) -> Audit:
        event = AuditEvent(
            now, room, self.grant.subject, "advisor", "handoff.accept", outcome, {"page": page}
        )
        return Audit(event)

    def _error(
        self, code: ErrorCode, detail: str, ref: str | None, now: float
    ) -> list[ConsoleOutput]:
        fatal = not self._strikes.take(now)
        error = m.Error(int(code), detail[:MAX_ERROR_CHARS], ref, True if fatal else None)
        if not fatal:
            return [Send(error)]
        if code is ErrorCode.RATE_LIMITED:  # as a room closes a flood
            return [Send(error), Close(CloseCode.RATE_LIMITED, "message rate limit exceeded")]
        return [Send(error), Close(CloseCode.TOO_MANY_ERRORS, "too many bad messages")]
