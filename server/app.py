"""The node: its parts built, started and stopped in order.

One port serves HTTP and WebSocket (``server/gateway.py``); rooms are placed, claimed and kept
by ``server/placement.py``, advisor consoles by ``server/consoles.py``, and the services they
share are built by ``server/node_services.py`` over the cluster (``server/cluster/wiring.py``).
This module only puts them together and runs them.
"""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.server import Server, serve

from advisors.desk import PageDesk
from protocol.limits import SUBPROTOCOL
from rooms.audit import AuditLog
from scenes.layout import load_layout
from server.appointments import Appointments
from server.auth import TokenAuthority
from server.cluster.wiring import for_settings
from server.config import Settings
from server.connection import ConnectionLimits, MemberConnection
from server.consoles import Consoles
from server.errors import RoomElsewhere, TryLater
from server.gateway import Gateway
from server.health import Health
from server.invites import Inviter
from server.keys import load_secret
from server.metrics import Metrics
from server.node_services import build_services
from server.placement import Placement
from server.room_host import RoomHost
from server.second_factor import FileEnrolments
from server.tls import tls_context
from server.urls import room_url_at, ws_base_of

log = logging.getLogger(__name__)


class WealthroomServer:
    def __init__(self, settings: Settings, *, secret: bytes | None = None) -> None:
        self.settings = settings
        self.tokens = TokenAuthority(
            secret if secret is not None else load_secret(settings),
            max_room_s=settings.max_room_token_s,
            max_console_s=settings.max_console_token_s,
            max_booking_s=settings.max_booking_token_s,
        )
        self.metrics = Metrics()
        self.layout = load_layout(settings.layout)
        self.cluster = for_settings(settings)
        self.audit: AuditLog = self.cluster.audit
        self.health = Health(self.metrics)
        self._server: Server | None = None
        self.port = settings.port
        self._tls = tls_context(settings)
        inviter = Inviter(self.cluster.invites, self.tokens, lambda: self.base_url)
        self.services = build_services(settings, self.cluster, self.metrics, inviter=inviter)
        self.desk: PageDesk = self.services.desk
        self.enrolments: FileEnrolments = self.services.enrolments
        self.media = self.services.media
        self._background: list[asyncio.Task[None]] = []
        self.placement = Placement(
            settings,
            self.cluster,
            self.layout,
            self.services.content,
            self.services.for_rooms,
            self.metrics,
            self.health,
            base_url=lambda: self.base_url,
            connections=lambda: self.gateway.open_connections,
            background=self._background,
        )
        self.appointments = Appointments(
            self.cluster.appointments,
            self.desk,
            self.tokens,
            self.audit,
            self.health,
            # The node that won the appointment hosts its room (unless one already does): were
            # it to pass it on by load, nobody would open it until the customer came.
            open_room=lambda room: self.placement.host_for(room, placed=True),
            room_url=self.placement.room_url_for,
            token_ttl_s=settings.token_ttl_s,
            head_start_s=settings.appointment_head_start_s,
            poll_s=settings.appointment_poll_s,
        )
        self.consoles = Consoles(
            settings,
            self.desk,
            self.tokens,
            self.audit,
            self.metrics,
            self.health,
            self.appointments,
            rooms=self.placement.rooms,
            room_url=self.placement.room_url_for,
        )
        self.gateway = Gateway(
            settings,
            self.tokens,
            self.metrics,
            self.audit,
            self.health,
            self.placement,
            self.consoles,
            self.cluster.invites,
            layout=self.layout.name,
            base_url=lambda: self.base_url,
        )

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        # The experts' retrieval index takes seconds to build: not inside a member's join.
        await self.services.content.prepare()
        watch = self.services.content.watch()
        self._background.append(asyncio.create_task(watch, name="content"))
        await self.cluster.start()
        self._server = await serve(
            self.gateway.handle,
            s.host,
            s.port,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            process_request=self.gateway.process_request,
            compression=None,  # deflate costs CPU per frame and opens compression-bomb attacks
            max_size=s.hard_frame_bytes,
            max_queue=64,
            create_connection=MemberConnection.with_limits(self._connection_limits()),
            server_header=None,
            ssl=self._tls,
        )
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        ready = asyncio.Event()
        follow = self.consoles.follow_pages(ready)
        self._background.append(asyncio.create_task(follow, name="page-events"))
        await ready.wait()
        followed = asyncio.Event()
        follow_slots = self.appointments.follow(followed)
        self._background.append(asyncio.create_task(follow_slots, name="appointment-events"))
        await followed.wait()
        keep_time = self.appointments.keep_time()
        self._background.append(asyncio.create_task(keep_time, name="appointments"))
        if self.cluster.distributed:
            await self.placement.keep_leases_once()
            leases = self.placement.keep_leases()
            self._background.append(asyncio.create_task(leases, name="leases"))
        if s.demo_room:
            try:
                await self.placement.host_for(s.demo_room, pinned=True)
            except RoomElsewhere:
                log.info("demo room %s is hosted by another node", s.demo_room)
            except TryLater:
                log.warning("demo room %s not opened: shared services unreachable", s.demo_room)
        log.info("listening on %s", self.base_url)

    def _connection_limits(self) -> ConnectionLimits:
        s = self.settings
        bounds = self.metrics.connection_bounds
        return ConnectionLimits(
            max_request_bytes=s.max_request_bytes,
            max_unsent_bytes=s.max_unsent_bytes,
            max_fragments=s.max_fragments,
            max_message_open_s=s.max_message_open_s,
            report=lambda bound: bounds.labels(bound=bound).inc(),
        )

    async def stop(self) -> None:
        self.placement.stopping = self.consoles.stopping = self.appointments.stopping = True
        for task in self._background:
            task.cancel()
        if self._background:
            # Bounded: the Redis client can swallow a cancellation that lands inside a call.
            _, stuck = await asyncio.wait(list(self._background), timeout=2.0)
            for task in stuck:
                log.warning("background task %s did not stop", task.get_name())
        await self.appointments.close()
        await self.placement.close()
        await self.services.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self.gateway.flush_refusals(force=True)  # no handshake comes after this
        await self.cluster.close()

    async def __aenter__(self) -> WealthroomServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- where clients reach this node ----------------------------------------------------------

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
        return room_url_at(self.base_url, room)

    @property
    def rooms(self) -> dict[str, RoomHost]:
        """The rooms this node hosts now."""
        return self.placement.rooms

    async def host_for(
        self, room_id: str, *, pinned: bool = False, placed: bool = False
    ) -> RoomHost:
        return await self.placement.host_for(room_id, pinned=pinned, placed=placed)

    async def _keep_leases_once(self) -> None:
        # Tests drive one renewal (and load report) without waiting for the timer.
        await self.placement.keep_leases_once()
