"""The shared services a node runs with: in memory (embedded default) or on Redis."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from advisors.appointments import AppointmentStore
from advisors.bus import Bus, MemoryBus
from advisors.pages import MemoryPageBoard, PageBoard
from advisors.presence import MemoryPresence, Presence
from rooms.audit import AuditLog, MemoryAuditLog
from server.appointment_store import SqliteAppointments
from server.audit_file import FileAuditLog
from server.cluster.directory import MemoryRoomDirectory, RoomDirectory
from server.cluster.redis_appointments import RedisAppointments
from server.cluster.redis_audit import BufferedAuditLog, RedisAuditLog
from server.cluster.redis_bus import RedisBus
from server.cluster.redis_directory import RedisRoomDirectory
from server.cluster.redis_factors import RedisFactorStore
from server.cluster.redis_invites import RedisInviteStore
from server.cluster.redis_pages import RedisPageBoard
from server.cluster.redis_presence import RedisPresence
from server.cluster.room_store import RedisRoomStore, RoomStore
from server.config import Settings
from server.factor_store import FactorStore, FileFactorStore
from server.invites import InviteStore, MemoryInviteStore
from server.keys import load_audit_key

# A Redis that stops answering must cost a room a second at most, not the OS's TCP timeout.
REDIS_TIMEOUT_S = 1.0


@dataclass(slots=True)
class Cluster:
    presence: Presence
    board: PageBoard
    bus: Bus
    directory: RoomDirectory
    audit: AuditLog
    store: RoomStore | None  # None: rooms are not kept beyond this process (embedded)
    factors: FactorStore  # step-up records, per customer, for every room
    invites: InviteStore  # guest links' use counts and revocations, for every room
    appointments: AppointmentStore
    redis: Redis | None = None

    @property
    def distributed(self) -> bool:
        return self.redis is not None

    async def start(self) -> None:
        if isinstance(self.audit, BufferedAuditLog):
            self.audit.start()

    async def close(self) -> None:
        if isinstance(self.audit, BufferedAuditLog):
            await self.audit.aclose()
        elif isinstance(self.audit, FileAuditLog):
            self.audit.close()
        await self.appointments.close()
        if self.redis is not None:
            await self.redis.aclose()


def embedded(settings: Settings) -> Cluster:
    path = settings.audit_path
    # A chain kept in memory dies with the process, and so may its key.
    audit: AuditLog = (
        FileAuditLog(path, load_audit_key(settings))
        if path
        else MemoryAuditLog(secrets.token_bytes(32))
    )
    return Cluster(
        MemoryPresence(time.time),
        MemoryPageBoard(),
        MemoryBus(),
        MemoryRoomDirectory(time.time),
        audit,
        None,
        FileFactorStore(settings.factor_path),
        MemoryInviteStore(time.time),
        SqliteAppointments(settings.appointments_path or Path(":memory:")),
    )


def on_redis(settings: Settings, url: str) -> Cluster:
    client = Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        health_check_interval=10,
    )
    prefix = settings.redis_prefix
    return Cluster(
        RedisPresence(client, prefix=prefix),
        RedisPageBoard(client, prefix=prefix),
        RedisBus(client, prefix=prefix),
        RedisRoomDirectory(client, prefix=prefix),
        BufferedAuditLog(RedisAuditLog(client, load_audit_key(settings), prefix=prefix)),
        RedisRoomStore(client, prefix=prefix),
        RedisFactorStore(client, prefix=prefix),
        RedisInviteStore(client, prefix=prefix),
        RedisAppointments(client, prefix=prefix),
        client,
    )


def for_settings(settings: Settings) -> Cluster:
    return on_redis(settings, settings.redis_url) if settings.redis_url else embedded(settings)
