"""Which rooms this node hosts: opened on first use, claimed in the directory, leases kept.

In distributed mode a room lives on one node at a time. The node that opens a room claims it
with a lease (or sends the client to the least-loaded node, or to the owner), restores it from
the store if a previous host left a journal, and renews the lease on a timer; a room whose lease
went to another node is let go and its members sent there. Embedded, a room is simply opened.
Each room is built with its own layout (``server/room_layouts.py``): the opening token's
claim, the stored room's, or the node's default.

Between renewals the node beats (``Settings.liveness_s``, a quarter of it apart), so that a
node asked for the room of a node that died takes it within the liveness rather than the lease
(``RoomDirectory.claim``). A beat that finds the last one lapsed means this node stalled long
enough to be robbed: the leases are looked at on the spot, and rooms taken meanwhile let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from avatars.expertise import Expertise
from rooms import persist
from rooms.interest import POLICIES
from rooms.pose_desk import PoseDesk
from rooms.room import Room
from rooms.voice import VoiceRules
from scenes.layout import Layout
from server.cluster.wiring import Cluster
from server.config import Settings
from server.errors import RoomElsewhere, TryLater, WrongLayout
from server.health import Health
from server.metrics import Metrics
from server.room_host import RoomHost, Services
from server.room_layouts import Layouts, layout_for
from server.urls import PLACED, room_url_at

log = logging.getLogger(__name__)


class Placement:
    def __init__(  # noqa: PLR0913 - the node services it places rooms with, injected
        self,
        settings: Settings,
        cluster: Cluster,
        layout: Layout,
        expertise: Callable[[], Expertise],
        services: Services,
        metrics: Metrics,
        health: Health,
        *,
        base_url: Callable[[], str],
        connections: Callable[[], int],
        background: list[asyncio.Task[None]],
    ) -> None:
        self.settings = settings
        self.cluster = cluster
        self.layout = layout  # the default, for rooms whose first token names none
        self.layouts = Layouts(layout)
        self.expertise = expertise  # the content in use: a room keeps the one it opened with
        self.services = services
        self.metrics = metrics
        self.health = health
        self._base_url = base_url  # known once the server listens (port 0 picks one)
        self._connections = connections
        self._background = background  # the server's, cancelled when it stops
        self.rooms: dict[str, RoomHost] = {}
        # The node's rooms' binary poses are judged together (rooms/pose_desk.py).
        self.desk = PoseDesk()
        desk = self.desk
        metrics.pose_batch.set_function(lambda: desk.judged / desk.batches if desk.batches else 0)
        self._opening: dict[str, asyncio.Future[RoomHost]] = {}
        self.stopping = False

    def room_url(self, room: str) -> str:
        return room_url_at(self._base_url(), room)

    async def room_url_for(self, room: str) -> str:
        """Where a client should connect for ``room``: the node hosting it, if it is hosted."""
        if not self.cluster.distributed or room in self.rooms:
            return self.room_url(room)
        try:
            owner = await self.cluster.directory.owner(room)
            base = await self.cluster.directory.url_of(owner) if owner else None
        except Exception as exc:
            self.health.degrade("redis", exc)
            base = None
        if base is None:
            return self.room_url(room)  # any node will do: the first to be asked claims it
        return room_url_at(base, room)

    async def host_for(
        self,
        room_id: str,
        *,
        pinned: bool = False,
        placed: bool = False,
        layout: str | None = None,
    ) -> RoomHost:
        """This node's host of the room: opened (and, in distributed mode, claimed and
        restored from the store) on first use, as a ``layout`` room if it names one. Raises
        ``RoomElsewhere``, ``TryLater``, or ``WrongLayout`` (the room has another layout)."""
        host = self.rooms.get(room_id)
        if host is None and (opening := self._opening.get(room_id)) is not None:
            host = await asyncio.shield(opening)
        if host is not None:
            live = host.room.scene.layout.name
            layout_for(room_id, live=live, claimed=layout, default=self.layout.name)
            return host
        future: asyncio.Future[RoomHost] = asyncio.get_running_loop().create_future()
        self._opening[room_id] = future
        try:
            host = await self._open(room_id, pinned, placed, layout)
            future.set_result(host)
            return host
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._opening[room_id]

    async def _open(
        self, room_id: str, pinned: bool, placed: bool, claimed: str | None
    ) -> RoomHost:
        s = self.settings
        store = self.cluster.store
        if self.cluster.distributed:
            await self._claim(room_id, placed=placed or pinned)
        saved = None
        if store is not None:
            try:
                saved = await store.read(room_id)
            except Exception as exc:
                self.health.degrade("redis", exc)
                raise TryLater("store unreachable") from exc
        try:
            live = None if saved is None else persist.saved_layout(saved[0])
            name = layout_for(room_id, live=live, claimed=claimed, default=self.layout.name)
        except WrongLayout:
            if self.cluster.distributed:
                await self._release(room_id)  # claimed above, and not opened
            raise
        layout = self.layouts.get(name)
        room = Room(
            room_id,
            layout,
            tick_hz=s.tick_hz,
            limits=s.room_limits(),
            interest=POLICIES.get(layout.name),
            expertise=self.expertise(),
            voice=VoiceRules(confirm_below=s.voice_confirm_below, guests=s.voice_guests),
        )
        if store is not None and saved is not None:
            try:
                persist.load(room, saved[0], time.time(), log=saved[1])
                log.info("room %s restored: seq %d", room_id, room.seq)
            except persist.StateError:
                log.exception("room %s: saved state unusable; starting afresh", room_id)
                # Or the fresh room's sequence would be appended to the old log.
                await store.forget(room_id)
        room.share_desk(self.desk)
        host = RoomHost(
            room,
            self.services,
            empty_ttl_s=None if pinned else s.empty_room_ttl_s,
            on_dispose=self._forget_room,
            tick_slots=s.tick_slots,
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
                        raise RoomElsewhere(f"{room_url_at(base, room_id)}?{PLACED}")
            owner = await directory.claim(room_id, node, lease_s=self.settings.lease_s)
            if owner == node:
                return
            base = await directory.url_of(owner)
        except RoomElsewhere:
            raise
        except Exception as exc:
            # Without the directory nobody can tell who hosts the room: opening it here
            # could split it in two.
            self.health.degrade("redis", exc)
            raise TryLater("directory unreachable") from exc
        if base is None:
            raise TryLater(f"room held by node {owner}, which does not say where it is")
        raise RoomElsewhere(room_url_at(base, room_id))

    async def keep_leases(self) -> None:
        s = self.settings
        renew_every = s.lease_s / 3
        beat_every = min(s.liveness_s / 4, renew_every)
        renewed = time.monotonic()
        while not self.stopping:
            await asyncio.sleep(beat_every)
            on_time = await self._beat()
            if not on_time or time.monotonic() - renewed >= renew_every:
                renewed = time.monotonic()
                await self._renew()

    async def keep_leases_once(self) -> None:
        """Beat, renew our rooms' leases, say where we are and how loaded, and look again for
        pages accepted while a bus message may have been lost."""
        await self._beat()
        await self._renew()

    async def _beat(self) -> bool:
        """``False`` if the last beat had lapsed. An unreachable directory is left to the
        renewals on their own timer: retrying them every beat would only add timeouts."""
        s = self.settings
        try:
            return await self.cluster.directory.beat(s.node_id, ttl_s=s.liveness_s)
        except Exception as exc:
            self.health.degrade("redis", exc)
            return True

    async def _renew(self) -> None:
        s, c = self.settings, self.cluster
        try:
            await c.directory.advertise(s.node_id, self._base_url(), ttl_s=s.lease_s)
            await c.directory.report_load(
                s.node_id, len(self.rooms), self._connections(), ttl_s=s.lease_s
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
                for page_id in host.room.open_pages():
                    page = await c.board.get(page_id)
                    if page is not None and page.advisor is not None:
                        host.page_claimed(page_id, page.advisor, page.advisor_name)
        except Exception as exc:
            self.health.degrade("redis", exc)
            return
        self.health.recover("redis")

    async def close(self) -> None:
        """The node is stopping: embedded, rooms stop; distributed, each room's state is handed
        over and its lease given up, so another node takes it at once rather than after the
        lease."""
        c, node = self.cluster, self.settings.node_id
        if c.distributed:
            with contextlib.suppress(Exception):
                await c.directory.withdraw(node)
        for host in list(self.rooms.values()):
            if not c.distributed:
                await host.stop()
                continue
            await host.hand_over()
            with contextlib.suppress(Exception):
                await c.directory.release(host.id, node)

    def _forget_room(self, host: RoomHost) -> None:
        self.desk.leave(host.room)
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
