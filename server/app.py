"""The asyncio shell: one port for HTTP and WebSocket, a task per room, a writer per member.

Request flow: ``_process_request`` answers plain HTTP and, for ``/ws/<room>``, checks the
Origin and the token before the upgrade. A connection whose token fails is still upgraded, but
only so that it can be closed at once with a code a browser can read (4401/4405/4406); nothing
it sends is read. Everything about the conversation itself happens in the pure room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import weakref
from collections import Counter
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from avatars.advice import Brain
from avatars.expertise import default_expertise
from avatars.local_brain import LocalBrain
from avatars.retrieval import default_retriever
from protocol.codes import CloseCode
from protocol.limits import SUBPROTOCOL
from rooms import persist
from rooms.audit import AuditEvent, AuditLog
from rooms.interest import POLICIES
from rooms.members import Grant
from rooms.room import Room
from scenes.layout import load_layout
from server.auth import ROOM_ID, ConsoleGrant, TokenAuthority
from server.cluster.wiring import for_settings
from server.config import Settings
from server.connection import MemberConnection
from server.console import ConsoleSession
from server.errors import AuthError, ConfigError, Refused, RoomElsewhere, TokenInvalid, TryLater
from server.http import json_response, landing_page, text_response
from server.keys import load_secret
from server.llm_brain import OpenAICompatibleBrain
from server.media.node import media_node
from server.metrics import Metrics
from server.paging import PageDesk, PageEvent
from server.portfolios import DemoPortfolios, Portfolios
from server.qa_probe import probe_response
from server.room_host import RoomHost, Services
from server.second_factor import FileEnrolments, TotpChecker
from server.static import static_response

log = logging.getLogger(__name__)

WS_PREFIX = "/ws/"
CONSOLE_PATH = "/console"
# Query flag on a placement redirect: "you were chosen to host this room", so the chosen node
# claims it instead of redirecting again on newer load figures.
PLACED = "placed=1"


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


def ws_base_of(base_url: str) -> str:
    """``http(s)://host:port`` -> ``ws(s)://host:port``."""
    return "ws" + base_url.rstrip("/").removeprefix("http")


class WealthroomServer:
    def __init__(self, settings: Settings, *, secret: bytes | None = None) -> None:
        self.settings = settings
        self.tokens = TokenAuthority(secret if secret is not None else load_secret(settings))
        self.metrics = Metrics()
        self.layout = load_layout(settings.layout)
        self.rooms: dict[str, RoomHost] = {}
        self.cluster = for_settings(settings)
        self.audit: AuditLog = self.cluster.audit
        # Weak: a handshake that fails after process_request never reaches _handle.
        self._admission: weakref.WeakKeyDictionary[
            ServerConnection, Grant | ConsoleGrant | Refused
        ] = weakref.WeakKeyDictionary()
        self._opening: dict[str, asyncio.Future[RoomHost]] = {}
        self.degraded: set[str] = set()  # shared services that are not answering
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
        c = self.cluster
        self.desk = PageDesk(c.presence, c.board, c.bus, node=settings.node_id)
        self.enrolments = FileEnrolments(settings.totp_path)
        self.factors = TotpChecker(self.enrolments)
        self.portfolios: Portfolios = DemoPortfolios(self.expertise.knowledge)
        self.media = media_node(settings) if settings.media else None
        self.services = Services(
            self.metrics,
            self.audit,
            self.brain,
            self.fallback_brain,
            self.desk,
            self.factors,
            self.portfolios,
            store=c.store,
            media=self.media,
            brain_timeout_s=settings.brain_timeout_s,
            max_reliable=settings.max_reliable_backlog,
        )
        self.consoles: set[ConsoleSession] = set()
        self._background: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        # The experts' retrieval index takes seconds to build: not inside a member's join.
        await asyncio.to_thread(default_retriever)
        await self.cluster.start()
        self._server = await serve(
            self._handle,
            s.host,
            s.port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self._process_request,
            compression=None,  # deflate costs CPU per frame and opens compression-bomb attacks
            max_size=s.hard_frame_bytes,
            max_queue=64,
            create_connection=MemberConnection,
            server_header=None,
            ssl=self._tls,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        ready = asyncio.Event()
        self._background.append(asyncio.create_task(self._follow_pages(ready), name="page-events"))
        await ready.wait()
        if self.cluster.distributed:
            await self._keep_leases_once()
            self._background.append(asyncio.create_task(self._keep_leases(), name="leases"))
        if s.demo_room:
            try:
                await self.host_for(s.demo_room, pinned=True)
            except RoomElsewhere:
                log.info("demo room %s is hosted by another node", s.demo_room)
            except TryLater:
                log.warning("demo room %s not opened: shared services unreachable", s.demo_room)
        log.info("listening on %s", self.base_url)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._background:
            task.cancel()
        if self._background:
            # Bounded: the Redis client can swallow a cancellation that lands inside a call.
            _, stuck = await asyncio.wait(list(self._background), timeout=2.0)
            for task in stuck:
                log.warning("background task %s did not stop", task.get_name())
        if self.cluster.distributed:
            with contextlib.suppress(Exception):
                await self.cluster.directory.withdraw(self.settings.node_id)
        for host in list(self.rooms.values()):
            if not self.cluster.distributed:
                await host.stop()
                continue
            await host.hand_over()
            # Let another node take the room at once rather than after the lease.
            with contextlib.suppress(Exception):
                await self.cluster.directory.release(host.id, self.settings.node_id)
        if self.media is not None:
            await self.media.close()
        if isinstance(self.brain, OpenAICompatibleBrain):
            await self.brain.aclose()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.cluster.close()

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
        return ws_base_of(self.base_url)

    def room_url(self, room: str) -> str:
        return f"{self.ws_base}{WS_PREFIX}{room}"

    async def room_url_for(self, room: str) -> str:
        """Where a client should connect for ``room``: the node hosting it, if it is hosted."""
        if not self.cluster.distributed or room in self.rooms:
            return self.room_url(room)
        try:
            owner = await self.cluster.directory.owner(room)
            base = await self.cluster.directory.url_of(owner) if owner else None
        except Exception as exc:
            self._degrade("redis", exc)
            base = None
        if base is None:
            return self.room_url(room)  # any node will do: the first to be asked claims it
        return f"{ws_base_of(base)}{WS_PREFIX}{room}"

    # --- rooms ----------------------------------------------------------------------------------

    async def host_for(
        self, room_id: str, *, pinned: bool = False, placed: bool = False
    ) -> RoomHost:
        """This node's host of the room: opened (and, in distributed mode, claimed and
        restored from the store) on first use. Raises ``RoomElsewhere`` or ``TryLater``."""
        host = self.rooms.get(room_id)
        if host is not None:
            return host
        opening = self._opening.get(room_id)
        if opening is not None:
            return await asyncio.shield(opening)
        future: asyncio.Future[RoomHost] = asyncio.get_running_loop().create_future()
        self._opening[room_id] = future
        try:
            host = await self._open(room_id, pinned, placed)
            future.set_result(host)
            return host
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._opening[room_id]

    async def _open(self, room_id: str, pinned: bool, placed: bool) -> RoomHost:
        s = self.settings
        room = Room(
            room_id,
            self.layout,
            tick_hz=s.tick_hz,
            limits=s.room_limits(),
            interest=POLICIES.get(self.layout.name),
            expertise=self.expertise,
        )
        store = self.cluster.store
        if self.cluster.distributed:
            await self._claim(room_id, placed=placed or pinned)
        if store is not None:
            try:
                saved = await store.read(room_id)
            except Exception as exc:
                self._degrade("redis", exc)
                raise TryLater("store unreachable") from exc
            if saved is not None:
                try:
                    persist.load(room, saved[0], time.time(), log=saved[1])
                    log.info("room %s restored: seq %d", room_id, room.seq)
                except persist.StateError:
                    log.exception("room %s: saved state unusable; starting afresh", room_id)
                    # Or the fresh room's sequence would be appended to the old log.
                    await store.forget(room_id)
        host = RoomHost(
            room,
            self.services,
            empty_ttl_s=None if pinned else s.empty_room_ttl_s,
            on_dispose=self._forget_room,
        )
        self.rooms[room_id] = host
        self.metrics.rooms.set(len(self.rooms))
        host.start()
        return host

    async def _claim(self, room_id: str, *, placed: bool = False) -> None:
        """Take the room for this node, or say where it is. A room nobody hosts yet goes to
        the least-loaded node: unless ``placed`` (this node was chosen already), the client
        is sent there first."""
        node, directory = self.settings.node_id, self.cluster.directory
        try:
            if not placed and await directory.owner(room_id) is None:
                best = await directory.least_loaded()
                if best is not None and best != node:
                    base = await directory.url_of(best)
                    if base is not None:
                        raise RoomElsewhere(f"{ws_base_of(base)}{WS_PREFIX}{room_id}?{PLACED}")
            owner = await directory.claim(room_id, node, lease_s=self.settings.lease_s)
            if owner == node:
                return
            base = await directory.url_of(owner)
        except RoomElsewhere:
            raise
        except Exception as exc:
            # Without the directory nobody can tell who hosts the room: opening it here
            # could split it in two.
            self._degrade("redis", exc)
            raise TryLater("directory unreachable") from exc
        if base is None:
            raise TryLater(f"room held by node {owner}, which does not say where it is")
        raise RoomElsewhere(f"{ws_base_of(base)}{WS_PREFIX}{room_id}")

    async def _keep_leases(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.settings.lease_s / 3)
            await self._keep_leases_once()

    async def _keep_leases_once(self) -> None:
        """Renew our rooms' leases, say where we are and how loaded, and look again for pages
        accepted while a bus message may have been lost."""
        s, c = self.settings, self.cluster
        try:
            await c.directory.advertise(s.node_id, self.base_url, ttl_s=s.lease_s)
            await c.directory.report_load(
                s.node_id, len(self.rooms), self.open_connections, ttl_s=s.lease_s
            )
            for room_id, host in list(self.rooms.items()):
                held = await c.directory.renew(room_id, s.node_id, lease_s=s.lease_s)
                if not held:
                    # Lapsed (Redis was away, or restarted empty): take it back unless
                    # another node has the room now.
                    owner = await c.directory.claim(room_id, s.node_id, lease_s=s.lease_s)
                    held = owner == s.node_id
                if not held:
                    log.warning("room %s: lease lost to another node; moving members", room_id)
                    self._forget_room(host)
                    await host.moved()
                    continue
                for page_id in host.room.consulting.open_pages():
                    page = await c.board.get(page_id)
                    if page is not None and page.advisor is not None:
                        host.page_claimed(page_id, page.advisor, page.advisor_name)
        except Exception as exc:
            self._degrade("redis", exc)
            return
        self._recover("redis")

    def _degrade(self, what: str, exc: BaseException) -> None:
        if what not in self.degraded:
            log.warning("%s unreachable (%s): running degraded", what, exc)
        self.degraded.add(what)
        self.metrics.degraded.set(1)

    def _recover(self, what: str) -> None:
        if what in self.degraded:
            log.info("%s reachable again", what)
            self.degraded.discard(what)
            self.metrics.degraded.set(1 if self.degraded else 0)

    async def _follow_pages(self, ready: asyncio.Event) -> None:
        """Pages raised, taken or withdrawn anywhere: rooms here hear who is coming, and
        every console here refreshes its queue. Resubscribes after the bus fails."""
        while not self._stopping:
            try:
                async with self.desk.events() as events:
                    self._recover("bus")
                    ready.set()
                    for console in self.consoles:
                        console.pages_changed()  # events may have been missed meanwhile
                    async for data in events:
                        self._on_page_event(data)
            except Exception as exc:
                self._degrade("bus", exc)
                ready.set()
                await asyncio.sleep(1.0)

    def _on_page_event(self, data: bytes) -> None:
        try:
            event = PageEvent.decode(data)
        except Exception:
            log.warning("ignoring a malformed page event")
            return
        host = self.rooms.get(event.room)
        if event.kind == "claimed" and host is not None and event.advisor:
            host.page_claimed(event.page, event.advisor, event.advisor_name)
        for console in self.consoles:
            console.pages_changed()

    def _forget_room(self, host: RoomHost) -> None:
        if self.rooms.get(host.id) is host:
            del self.rooms[host.id]
            self.metrics.rooms.set(len(self.rooms))
            if self.cluster.distributed and not host.moved_away:
                task = asyncio.get_running_loop().create_task(self._release(host.id))
                self._background.append(task)
                task.add_done_callback(self._background.remove)

    async def _release(self, room_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.cluster.directory.release(room_id, self.settings.node_id)

    # --- handshake ------------------------------------------------------------------------------

    def _allowed_origin(self, origin: str | None) -> bool:
        if origin is None:
            return True  # not a browser; the token is what admits it
        own = {self.base_url, self.base_url.replace("127.0.0.1", "localhost")}
        return origin in own or origin in self.settings.origins

    @property
    def _store_degraded(self) -> bool:
        return any(h.degraded for h in self.rooms.values())

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        path = url.path
        if path == "/healthz":
            degraded = sorted(self.degraded | {"store"} if self._store_degraded else self.degraded)
            return json_response(
                HTTPStatus.OK,
                {
                    "status": "degraded" if degraded else "ok",
                    "degraded": degraded,
                    "node": self.settings.node_id,
                    "mode": "distributed" if self.cluster.distributed else "embedded",
                    "rooms": len(self.rooms),
                    "connections": self.open_connections,
                },
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
        if (probe := probe_response(path, request.headers, self.tokens, self.rooms)) is not None:
            return probe  # the QA simulator's read-only view of a room (server/qa_probe.py)
        if (static := static_response(path, layout=self.layout.name)) is not None:
            return static  # the browser client and its assets (server/static.py)
        if not path.startswith(WS_PREFIX):
            return text_response(HTTPStatus.NOT_FOUND, "not found")
        room = path[len(WS_PREFIX) :]
        if not ROOM_ID.match(room):
            return text_response(HTTPStatus.NOT_FOUND, "no such room")
        if not self._allowed_origin(request.headers.get("Origin")):
            self.metrics.handshake_rejects.labels(reason="origin").inc()
            return text_response(HTTPStatus.FORBIDDEN, "origin not allowed")
        admission = self._admit(request, url.query, room)
        if isinstance(admission, Grant) and room not in self.rooms:
            placed = "placed" in parse_qs(url.query)
            try:
                await self.host_for(room, placed=placed)
            except (RoomElsewhere, TryLater) as exc:
                admission = exc
        if isinstance(admission, Grant) and isinstance(conn, MemberConnection):
            conn.hold_messages()  # for the room, which takes them in the read callback
        self._admission[conn] = admission
        return None

    def _admit(
        self, request: Request, query: str, room: str | None
    ) -> Grant | ConsoleGrant | Refused:
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
            self.audit,
            room_url=self.room_url_for,
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
        try:
            host = await self.host_for(grant.room)
        except (RoomElsewhere, TryLater) as exc:
            # The lease moved between the handshake and now (a failover in progress).
            await ws.close(int(exc.close_code), exc.public)
            return
        att = host.attach(ws, grant)
        frames_in = self.metrics.frames_in

        def receive(data: bytes | str) -> None:
            # After the room let the member go, frames are read and dropped until the close
            # handshake completes: a peer blocked mid-send must see our close frame, and it
            # cannot if we stop reading.
            frames_in.inc()
            host.receive(att, data)

        try:
            assert isinstance(ws, MemberConnection)
            ws.deliver_to(receive)
            await ws.wait_closed()
        finally:
            host.detach(att)
            await att.outbox.finish()
