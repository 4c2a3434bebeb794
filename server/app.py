"""The asyncio shell: one port for HTTP and WebSocket, a task per room, a writer per member.

Request flow: ``_process_request`` answers plain HTTP and, for ``/ws/<room>``, checks the
Origin and the token before the upgrade. A connection whose token fails is still upgraded, but
only so that it can be closed at once with a code a browser can read (4401/4405/4406); nothing
it sends is read. Everything about the conversation itself happens in the pure room.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import weakref
from collections import Counter
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from avatars.advice import Brain
from avatars.expertise import default_expertise
from avatars.local_brain import LocalBrain
from protocol.codes import CloseCode
from protocol.limits import SUBPROTOCOL
from rooms.audit import AuditEvent, AuditLog, MemoryAuditLog
from rooms.interest import POLICIES
from rooms.members import Grant
from rooms.room import Room
from scenes.layout import load_layout
from server.audit_file import FileAuditLog
from server.auth import ROOM_ID, ConsoleGrant, TokenAuthority
from server.cluster.bus import MemoryBus
from server.cluster.pages import MemoryPageBoard
from server.cluster.presence import MemoryPresence
from server.config import Settings
from server.console import ConsoleSession
from server.errors import AuthError, ConfigError, TokenInvalid
from server.http import json_response, landing_page, text_response
from server.keys import load_secret
from server.llm_brain import OpenAICompatibleBrain
from server.metrics import Metrics
from server.paging import PageDesk, PageEvent
from server.portfolios import DemoPortfolios, Portfolios
from server.room_host import RoomHost
from server.second_factor import FileEnrolments, TotpChecker

log = logging.getLogger(__name__)

WS_PREFIX = "/ws/"
CONSOLE_PATH = "/console"


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """A server TLS context from the settings' certificate and key, or None for plain."""
    cert, key = settings.tls_cert, settings.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("TLS needs both a certificate (tls_cert) and its key (tls_key)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS certificate or key: {exc}") from exc
    return context


class WealthroomServer:
    def __init__(self, settings: Settings, *, secret: bytes | None = None) -> None:
        self.settings = settings
        self.tokens = TokenAuthority(secret if secret is not None else load_secret(settings))
        self.metrics = Metrics()
        self.layout = load_layout(settings.layout)
        self.rooms: dict[str, RoomHost] = {}
        self.audit: AuditLog = (
            FileAuditLog(settings.audit_path) if settings.audit_path else MemoryAuditLog()
        )
        # Weak: a handshake that fails after process_request never reaches _handle.
        self._admission: weakref.WeakKeyDictionary[
            ServerConnection, Grant | ConsoleGrant | AuthError
        ] = weakref.WeakKeyDictionary()
        self.open_connections = 0
        self._per_subject: Counter[str] = Counter()
        self._server: Server | None = None
        self.port = settings.port
        self._tls = tls_context(settings)
        self.expertise = default_expertise()
        self.fallback_brain = LocalBrain(self.expertise.knowledge)
        self.brain: Brain = self.fallback_brain
        if settings.brain_url:
            key = settings.brain_api_key.get_secret_value() if settings.brain_api_key else None
            self.brain = OpenAICompatibleBrain(
                settings.brain_url,
                settings.brain_model,
                key,
                timeout_s=settings.brain_timeout_s,
                fallback=self.fallback_brain,
            )
        self.desk = PageDesk(
            MemoryPresence(time.time), MemoryPageBoard(), MemoryBus(), node=settings.node_id
        )
        self.enrolments = FileEnrolments(settings.totp_path)
        self.factors = TotpChecker(self.enrolments)
        self.portfolios: Portfolios = DemoPortfolios(self.expertise.knowledge)
        self.consoles: set[ConsoleSession] = set()
        self._page_events: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self._server = await serve(
            self._handle,
            s.host,
            s.port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._process_request,
            compression=None,  # deflate costs CPU per frame and opens compression-bomb attacks
            max_size=s.hard_frame_bytes,
            max_queue=64,
            server_header=None,
            ssl=self._tls,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        ready = asyncio.Event()
        self._page_events = asyncio.create_task(self._follow_pages(ready), name="page-events")
        await ready.wait()
        if s.demo_room:
            self.open_room(s.demo_room, pinned=True)
        log.info("listening on %s", self.base_url)

    async def stop(self) -> None:
        for host in list(self.rooms.values()):
            await host.stop()
        if self._page_events is not None:
            self._page_events.cancel()
            await asyncio.gather(self._page_events, return_exceptions=True)
        if isinstance(self.brain, OpenAICompatibleBrain):
            await self.brain.aclose()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if isinstance(self.audit, FileAuditLog):
            self.audit.close()

    async def __aenter__(self) -> WealthroomServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = self.settings.host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def ws_base(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    def room_url(self, room: str) -> str:
        return f"{self.ws_base}{WS_PREFIX}{room}"

    # --- rooms ----------------------------------------------------------------------------------

    def open_room(self, room_id: str, *, pinned: bool = False) -> RoomHost:
        host = self.rooms.get(room_id)
        if host is None:
            s = self.settings
            room = Room(
                room_id,
                self.layout,
                tick_hz=s.tick_hz,
                limits=s.room_limits(),
                interest=POLICIES.get(self.layout.name),
                expertise=self.expertise,
            )
            host = RoomHost(
                room,
                self.metrics,
                max_reliable=s.max_reliable_backlog,
                empty_ttl_s=None if pinned else s.empty_room_ttl_s,
                on_dispose=self._forget_room,
                audit=self.audit,
                brain=self.brain,
                fallback=self.fallback_brain,
                desk=self.desk,
                factors=self.factors,
                portfolios=self.portfolios,
                brain_timeout_s=s.brain_timeout_s,
            )
            self.rooms[room_id] = host
            self.metrics.rooms.set(len(self.rooms))
            host.start()
        return host

    async def _follow_pages(self, ready: asyncio.Event) -> None:
        """Pages raised, taken or withdrawn anywhere: rooms here hear who is coming, and
        every console here refreshes its queue."""
        async with self.desk.events() as events:
            ready.set()
            async for data in events:
                try:
                    event = PageEvent.decode(data)
                except Exception:
                    log.warning("ignoring a malformed page event")
                    continue
                host = self.rooms.get(event.room)
                if event.kind == "claimed" and host is not None and event.advisor:
                    host.page_claimed(event.page, event.advisor, event.advisor_name)
                for console in self.consoles:
                    console.pages_changed()

    def _forget_room(self, host: RoomHost) -> None:
        if self.rooms.get(host.id) is host:
            del self.rooms[host.id]
            self.metrics.rooms.set(len(self.rooms))

    # --- handshake ------------------------------------------------------------------------------

    def _allowed_origin(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser; the token is what admits it
        own = {self.base_url, self.base_url.replace("127.0.0.1", "localhost")}
        return origin in own or origin in self.settings.origins

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        path = url.path
        if path == "/healthz":
            return json_response(
                HTTPStatus.OK,
                {"status": "ok", "rooms": len(self.rooms), "connections": self.open_connections},
            )
        if path == "/metrics":
            return text_response(HTTPStatus.OK, self.metrics.render().decode())
        if path == "/":
            return landing_page(sorted(self.rooms), self.ws_base)
        if path == CONSOLE_PATH:
            if not self._allowed_origin(request.headers.get("Origin")):
                self.metrics.handshake_rejects.labels(reason="origin").inc()
                return text_response(HTTPStatus.FORBIDDEN, "origin not allowed")
            self._admission[conn] = self._admit(request, url.query, None)
            return None
        if not path.startswith(WS_PREFIX):
            return text_response(HTTPStatus.NOT_FOUND, "not found")
        room = path[len(WS_PREFIX) :]
        if not ROOM_ID.match(room):
            return text_response(HTTPStatus.NOT_FOUND, "no such room")
        if not self._allowed_origin(request.headers.get("Origin")):
            self.metrics.handshake_rejects.labels(reason="origin").inc()
            return text_response(HTTPStatus.FORBIDDEN, "origin not allowed")
        self._admission[conn] = self._admit(request, url.query, room)
        return None

    def _admit(
        self, request: Request, query: str, room: str | None
    ) -> Grant | ConsoleGrant | AuthError:
        """Check the token for a room, or (``room`` None) for the advisor console."""
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
            return TokenInvalid("no token")
        try:
            if room is None:
                return self.tokens.verify_console(token)
            return self.tokens.verify(token, room=room)
        except AuthError as exc:
            self.metrics.handshake_rejects.labels(reason=type(exc).__name__).inc()
            where = room or "console"
            log.info("handshake refused for %s: %s", where, exc)
            # Who it was is unknown: the token is exactly what could not be trusted.
            event = AuditEvent(
                time.time(), where, "unknown", "", "auth.refused", type(exc).__name__
            )
            self.audit.append(event)
            return exc

    # --- connection -----------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        admission = self._admission.pop(ws, None)
        if admission is None:
            admission = TokenInvalid("no admission record")
        if isinstance(admission, AuthError):
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
                await self._console(ws, grant)
            else:
                await self._room_member(ws, grant)
        finally:
            self.open_connections -= 1
            self.metrics.connections.dec()
            self._per_subject[grant.subject] -= 1
            if self._per_subject[grant.subject] <= 0:
                del self._per_subject[grant.subject]

    async def _console(self, ws: ServerConnection, grant: ConsoleGrant) -> None:
        s = self.settings
        session = ConsoleSession(
            ws,
            grant,
            self.desk,
            self.tokens,
            room_url=self.room_url,
            token_ttl_s=s.token_ttl_s,
            max_frame_bytes=s.max_frame_bytes,
            strikes=s.strikes,
        )
        self.consoles.add(session)
        self.metrics.consoles.set(len(self.consoles))
        try:
            await session.run()
        finally:
            self.consoles.discard(session)
            self.metrics.consoles.set(len(self.consoles))

    async def _room_member(self, ws: ServerConnection, grant: Grant) -> None:
        host = self.open_room(grant.room)
        att = host.attach(ws, grant)
        try:
            async for data in ws:
                # After the room let the member go, frames are read and dropped until the
                # close handshake completes: a peer blocked mid-send must see our close frame,
                # and it cannot if we stop reading.
                self.metrics.frames_in.inc()
                host.receive(att, data)
        except ConnectionClosed:
            pass
        finally:
            host.detach(att)
            await att.outbox.finish()
