"""The one port: plain HTTP answered, the WebSocket handshake checked, each connection handed
to its room or to the advisor console.

``process_request`` answers plain HTTP and, for ``/ws/<room>`` and ``/console``, checks the
Origin and the token before the upgrade. A connection whose token fails is still upgraded, but
only so that it can be closed at once with a code a browser can read (4401/4405/4406); nothing
it sends is read. Everything about the conversation itself happens in the pure room or console.
"""

from __future__ import annotations

import logging
import re
import time
import weakref
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from advisors.grant import BookingGrant, ConsoleGrant
from protocol.codes import CloseCode
from rooms.audit import AuditLog
from rooms.invitations import Refusal
from rooms.members import Grant
from rooms.roles import Role
from rooms.summary import SUMMARY_LANGUAGES
from server.audit_file import audit_health
from server.auth import LANGUAGES, ROOM_ID, TokenAuthority
from server.config import Settings
from server.connection import MemberConnection
from server.consoles import Consoles
from server.errors import (
    AuthError,
    InviteRevoked,
    InviteUsedUp,
    Refused,
    RoomElsewhere,
    TokenExpired,
    TokenInvalid,
    TryLater,
    WrongLayout,
)
from server.health import Health
from server.http import json_response, landing_page, response, text_response
from server.invites import InviteStore
from server.metrics import Metrics
from server.placement import Placement
from server.qa_probe import probe_response
from server.refusals import HandshakeGuard
from server.static import static_response
from server.urls import BOOK_PATH, CONSOLE_PATH, SUMMARY_PREFIX, WS_PREFIX, ws_base_of

log = logging.getLogger(__name__)

# The name a guest's browser keeps for itself (random, per tab): coming back with it after a
# dropped connection is not a new use of the link.
HOLDER = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _source(conn: ServerConnection) -> str:
    """The peer's address, the unit of the handshake rate limit."""
    address = conn.remote_address
    return str(address[0]) if address else "unknown"


class Gateway:
    def __init__(  # noqa: PLR0913 - the node services it routes to, injected
        self,
        settings: Settings,
        tokens: TokenAuthority,
        metrics: Metrics,
        audit: AuditLog,
        health: Health,
        placement: Placement,
        consoles: Consoles,
        invites: InviteStore,
        *,
        layout: str,
        base_url: Callable[[], str],
    ) -> None:
        self.settings = settings
        self.tokens = tokens
        self.metrics = metrics
        self.audit = audit
        self.health = health
        self.placement = placement
        self.consoles = consoles
        self.invites = invites
        self._layout = layout
        self._base_url = base_url
        # Weak: a handshake that fails after process_request never reaches handle.
        self._admission: weakref.WeakKeyDictionary[
            ServerConnection, Grant | ConsoleGrant | BookingGrant | Refused
        ] = weakref.WeakKeyDictionary()
        self.open_connections = 0
        self._per_subject: Counter[str] = Counter()
        self.guard = HandshakeGuard(
            settings.node_id, rate=settings.handshake_rate, burst=settings.handshake_burst
        )

    # --- handshake ------------------------------------------------------------------------------

    def _allowed_origin(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser; the token is what admits it
        base = self._base_url()
        own = {base, base.replace("127.0.0.1", "localhost")}
        return origin in own or origin in self.settings.origins

    def _health(self) -> Response:
        rooms = self.placement.rooms
        degraded = set(self.health.degraded)
        if any(h.degraded for h in rooms.values()):
            degraded.add("store")
        return json_response(
            HTTPStatus.OK,
            {
                "status": "degraded" if degraded else "ok",
                "degraded": sorted(degraded),
                "node": self.settings.node_id,
                "mode": "distributed" if self.placement.cluster.distributed else "embedded",
                "rooms": len(rooms),
                "connections": self.open_connections,
                "content": self.placement.expertise().version,  # new rooms' content
                **audit_health(self.audit),
            },
        )

    def _turned_away(self, conn: ServerConnection, request: Request, path: str) -> Response | None:
        """Refusals before any route: a method other than GET or HEAD, a source over its
        handshake rate."""
        if request.method not in ("GET", "HEAD"):
            refused = text_response(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and HEAD")
            refused.headers["Allow"] = "GET, HEAD"
            return refused
        self.flush_refusals()
        guarded = path in (CONSOLE_PATH, BOOK_PATH) or path.startswith((WS_PREFIX, SUMMARY_PREFIX))
        if guarded and not self.guard.admit(_source(conn), time.time()):
            self.metrics.handshake_rejects.labels(reason="rate").inc()
            return text_response(HTTPStatus.TOO_MANY_REQUESTS, "too many connections; retry later")
        return None

    async def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        path = url.path
        rooms = self.placement.rooms
        if (refused := self._turned_away(conn, request, path)) is not None:
            return refused
        if path == "/healthz":
            return self._health()
        if path == "/metrics":
            return text_response(HTTPStatus.OK, self.metrics.render().decode())
        if path == "/":
            return landing_page(len(rooms), ws_base_of(self._base_url()))
        if path in (CONSOLE_PATH, BOOK_PATH):
            if not self._allowed_origin(request.headers.get("Origin")):
                self.metrics.handshake_rejects.labels(reason="origin").inc()
                return text_response(HTTPStatus.FORBIDDEN, "origin not allowed")
            room_or_book = BOOK_PATH if path == BOOK_PATH else None
            self._admission[conn] = self._admit(request, url.query, room_or_book, _source(conn))
            return None
        if path.startswith(SUMMARY_PREFIX):
            return self._summary(request, path[len(SUMMARY_PREFIX) :], url.query, _source(conn))
        if (probe := probe_response(path, request.headers, self.tokens, rooms)) is not None:
            return probe  # the QA simulator's read-only view of a room (server/qa_probe.py)
        if (static := static_response(path, layout=self._layout)) is not None:
            return static  # the browser client and its assets (server/static.py)
        if not path.startswith(WS_PREFIX):
            return text_response(HTTPStatus.NOT_FOUND, "not found")
        room = path[len(WS_PREFIX) :]
        if not ROOM_ID.match(room):
            return text_response(HTTPStatus.NOT_FOUND, "no such room")
        if not self._allowed_origin(request.headers.get("Origin")):
            self.metrics.handshake_rejects.labels(reason="origin").inc()
            return text_response(HTTPStatus.FORBIDDEN, "origin not allowed")
        admission = await self._room_admission(request, url.query, room, _source(conn))
        if isinstance(admission, Grant) and isinstance(conn, MemberConnection):
            conn.hold_messages()  # for the room, which takes them in the read callback
        self._admission[conn] = admission
        return None

    async def _room_admission(
        self, request: Request, query: str, room: str, source: str
    ) -> Grant | Refused:
        """A room's handshake: by token, or by a guest link's invitation."""
        params = parse_qs(query)
        placed = "placed" in params
        if invite := params.get("invite"):
            return await self._admit_guest(invite[0], room, source, placed, params)
        admission = self._admit(request, query, room, source)
        if isinstance(admission, Grant):
            return await self._place(admission, placed)
        assert not isinstance(admission, ConsoleGrant | BookingGrant)  # a room was named
        return admission

    def _summary(self, request: Request, room: str, query: str, source: str) -> Response:
        """The customer's record of the session in a room hosted here, as a Markdown download;
        its SHA-256 goes into the audit chain (rooms/summary.py). The token comes as a Bearer
        header only: a URL with a token in it ends up in logs and histories."""
        if not ROOM_ID.match(room):
            return text_response(HTTPStatus.NOT_FOUND, "no such room")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return text_response(HTTPStatus.UNAUTHORIZED, "send the room token as a Bearer header")
        try:
            grant = self.tokens.verify(auth[len("Bearer ") :].strip(), room=room)
        except AuthError as exc:
            self._refused(source, type(exc).__name__)
            return text_response(HTTPStatus.UNAUTHORIZED, exc.public)
        if grant.role is not Role.CUSTOMER:
            return text_response(HTTPStatus.FORBIDDEN, "the summary is the customer's")
        language = parse_qs(query).get("lang", ["en"])[0]
        if language not in SUMMARY_LANGUAGES:
            detail = f"lang must be one of {', '.join(SUMMARY_LANGUAGES)}"
            return text_response(HTTPStatus.BAD_REQUEST, detail)
        host = self.placement.rooms.get(room)
        if host is None:
            return text_response(HTTPStatus.NOT_FOUND, "the room is not open on this node")
        text, sha = host.summary(grant, language)
        resp = response(HTTPStatus.OK, text.encode(), "text/markdown; charset=utf-8")
        resp.headers["Content-Disposition"] = (
            f'attachment; filename="wealthroom-{room}-{language}.md"'
        )
        resp.headers["X-Summary-SHA256"] = sha
        return resp

    async def _place(self, grant: Grant, placed: bool) -> Grant | Refused:
        """The room opened for the grant here, or why not. Hosted already, this only checks
        the token's layout against the room's."""
        refused = await self._host(grant.room, grant.layout, placed)
        return grant if refused is None else refused

    async def _host(self, room: str, layout: str | None, placed: bool) -> Refused | None:
        try:
            await self.placement.host_for(room, placed=placed, layout=layout)
        except (RoomElsewhere, TryLater) as exc:
            return exc
        except WrongLayout as exc:
            self.metrics.handshake_rejects.labels(reason="WrongLayout").inc()
            log.info("handshake refused: %s", exc)
            return exc
        return None

    def _admit(
        self, request: Request, query: str, room: str | None, source: str
    ) -> Grant | ConsoleGrant | BookingGrant | Refused:
        """Check the token for a room, for the advisor console (``room`` None) or for a
        customer's appointments (``room`` is ``BOOK_PATH``)."""
        # Browsers cannot set headers on a WebSocket, so they pass the token in the query;
        # other clients should prefer the Authorization header. Neither is ever logged.
        token = None
        auth = request.headers.get("Authorization")
        if auth and auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        if token is None:
            values = parse_qs(query).get("token")
            token = values[0] if values else None
        if not token:
            self._refused(source, "TokenInvalid")
            return TokenInvalid("no token")
        try:
            if room is None:
                return self.tokens.verify_console(token)
            if room == BOOK_PATH:
                return self.tokens.verify_booking(token)
            return self.tokens.verify(token, room=room)
        except AuthError as exc:
            self.metrics.handshake_rejects.labels(reason=type(exc).__name__).inc()
            log.debug("handshake refused for %s: %s", room or "console", exc)
            self._refused(source, type(exc).__name__)
            return exc

    async def _admit_guest(
        self, token: str, room: str, source: str, placed: bool, query: dict[str, list[str]]
    ) -> Grant | Refused:
        """A guest link: a genuine invitation for this room, the room hosted here (a redirect
        to another node must not cost a use), then one use from the store."""
        language = query.get("lang", [""])[0]
        try:
            invite = self.tokens.verify_invite(token, room=room)
            if (elsewhere := await self._host(room, None, placed)) is not None:
                return elsewhere
            holder = query.get("guest", [""])[0]
            verdict = await self.invites.redeem(
                room, invite, time.time(), holder if HOLDER.fullmatch(holder) else None
            )
            if verdict is Refusal.EXPIRED:
                raise TokenExpired("invitation expired")
            if verdict is Refusal.USED_UP:
                raise InviteUsedUp(f"invitation {invite} used up")
            if isinstance(verdict, Refusal):
                raise InviteRevoked(f"invitation {invite}: {verdict.value}")
        except AuthError as exc:
            self.metrics.handshake_rejects.labels(reason=type(exc).__name__).inc()
            log.info("guest refused for %s: %s", room, exc)
            self._refused(source, type(exc).__name__)
            return exc
        except Exception:  # the store did not answer: nobody is let in on a guess
            log.exception("invitation store failed for room %s", room)
            return TryLater("invitations unavailable")
        # Each use is its own subject: two guests on one link are two people.
        return Grant(
            f"guest:{invite}:{verdict.use}",
            room,
            Role.GUEST,
            language=language if language in LANGUAGES else None,  # of the consent notice
            invite=invite,
        )

    def _refused(self, source: str, reason: str) -> None:
        # Who it was is unknown: the token is exactly what could not be trusted. So the chain
        # gets one summary per window (server/refusals.py), not a line per attempt.
        for event in self.guard.refused(source, reason, time.time()):
            self.audit.append(event)

    def flush_refusals(self, *, force: bool = False) -> None:
        """File the summary of refused handshakes if its window ended (``force``: at once)."""
        for event in self.guard.flush(time.time(), force=force):
            self.audit.append(event)

    # --- connection -----------------------------------------------------------------------------

    async def handle(self, ws: ServerConnection) -> None:
        admission = self._admission.pop(ws, None)
        if admission is None:
            admission = TokenInvalid("no admission record")
        if isinstance(admission, Refused):
            await ws.close(int(admission.close_code), admission.public)
            return
        grant = admission
        if self._per_subject[grant.subject] >= self.settings.max_connections_per_subject:
            self.metrics.closes.labels(code=str(int(CloseCode.TOO_MANY_CONNECTIONS))).inc()
            await ws.close(
                int(CloseCode.TOO_MANY_CONNECTIONS), "too many connections for this user"
            )
            return
        self._per_subject[grant.subject] += 1
        self.open_connections += 1
        self.metrics.connections.inc()
        try:
            if isinstance(grant, ConsoleGrant):
                await self.consoles.serve(ws, grant)
            elif isinstance(grant, BookingGrant):
                await self.consoles.appointments.serve_customer(
                    ws,
                    grant,
                    max_frame_bytes=self.settings.max_frame_bytes,
                    strikes=self.settings.strikes,
                )
            else:
                await self._room_member(ws, grant)
        finally:
            self.open_connections -= 1
            self.metrics.connections.dec()
            self._per_subject[grant.subject] -= 1
            if self._per_subject[grant.subject] <= 0:
                del self._per_subject[grant.subject]

    async def _room_member(self, ws: ServerConnection, grant: Grant) -> None:
        try:
            host = await self.placement.host_for(grant.room, layout=grant.layout)
        except (RoomElsewhere, TryLater, WrongLayout) as exc:
            # The lease moved between the handshake and now (a failover in progress), or the
            # room was opened with another layout meanwhile.
            await ws.close(int(exc.close_code), exc.public)
            return
        att = host.attach(ws, grant)
        tally = self.metrics.tally

        def receive(data: bytes | str) -> None:
            # After the room let the member go, frames are read and dropped until the close
            # handshake completes: a peer blocked mid-send must see our close frame, and it
            # cannot if we stop reading.
            tally.frames_in += 1
            host.receive(att, data)

        try:
            assert isinstance(ws, MemberConnection)
            ws.deliver_to(receive)
            await ws.wait_closed()
        finally:
            host.detach(att)
            await att.outbox.finish()
