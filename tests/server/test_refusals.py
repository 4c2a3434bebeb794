"""Refused handshakes cost a bounded amount whatever a client sends (server/refusals.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from protocol.limits import SUBPROTOCOL
from server.app import WealthroomServer
from server.audit_file import read_entries
from server.refusals import HandshakeGuard
from tests.conftest import SECRET, make_settings
from tests.redis_fixture import RedisServer, redis_client, redis_server

__all__ = ["redis_client", "redis_server"]  # fixtures


def test_refusals_become_one_summary_per_window() -> None:
    guard = HandshakeGuard("n1", rate=0, burst=1, window_s=60)
    events = []
    for i in range(3000):
        events += guard.refused("10.0.0.1" if i % 3 else "10.0.0.2", "TokenInvalid", 1000 + i / 100)
    assert events == []  # 30 s: the window is still open
    events = guard.refused("10.0.0.1", "TokenExpired", 1061.0)
    assert len(events) == 1
    summary = events[0]
    assert (summary.room, summary.action, summary.outcome) == ("node:n1", "auth.refused", "summary")
    assert summary.detail["total"] == 3000
    assert summary.detail["sources"] == 2
    assert str(summary.detail["top"]).startswith("10.0.0.1 TokenInvalid=2000; 10.0.0.2")
    # The refusal that closed the window opened the next; shutdown files it.
    last = guard.flush(1062.0, force=True)
    assert [e.detail["total"] for e in last] == [1]
    assert guard.flush(2000.0, force=True) == []


def test_the_sources_remembered_are_bounded() -> None:
    guard = HandshakeGuard("n1", rate=1, burst=1, window_s=60, max_sources=100)
    for i in range(1000):
        assert guard.admit(f"10.0.{i // 256}.{i % 256}", 0.0)
        guard.refused(f"10.0.{i // 256}.{i % 256}", "TokenInvalid", 0.0)
    assert len(guard._buckets) == 100
    (summary,) = guard.flush(0.0, force=True)
    assert summary.detail["total"] == 1000
    assert summary.detail["sources"] == 101  # 100 named, the rest counted as one
    assert "(others) TokenInvalid=900" in str(summary.detail["top"])


def test_handshakes_are_rate_limited_per_source() -> None:
    guard = HandshakeGuard("n1", rate=2, burst=5, window_s=60)
    assert [guard.admit("a", 0.0) for _ in range(6)] == [True] * 5 + [False]
    assert guard.admit("b", 0.0)  # another source has its own allowance
    assert not guard.admit("a", 0.1)
    assert guard.admit("a", 0.6)  # 2/s refills one in half a second


async def _refuse(srv: WealthroomServer, room: str) -> None:
    async with connect(
        srv.room_url(room),
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        additional_headers={"Authorization": "Bearer garbage"},
    ) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4405


async def test_a_thousand_refused_handshakes_write_one_audit_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with WealthroomServer(make_settings(audit_path=path), secret=SECRET) as srv:
        before = path.stat().st_size if path.exists() else 0
        for i in range(1000):
            await _refuse(srv, f"made-up-{i}")
        during = path.stat().st_size if path.exists() else 0
    entries = [e for e in read_entries(path) if e is not None]
    refused = [e for e in entries if e["action"] == "auth.refused"]
    assert during == before  # nothing written while the window is open
    assert len(refused) == 1  # the summary filed at shutdown
    assert refused[0]["detail"]["total"] == 1000
    assert not any(str(e["room"]).startswith("made-up") for e in entries)


async def test_refused_handshakes_create_no_redis_key_for_the_room_they_name(
    redis_server: RedisServer, redis_client: Redis
) -> None:
    settings = make_settings(
        redis_url=f"redis://{redis_server.host}:{redis_server.port}/0", node_id="n1"
    )
    async with WealthroomServer(settings, secret=SECRET) as srv:
        for i in range(200):
            await _refuse(srv, f"made-up-{i}")
    keys = [k.decode() if isinstance(k, bytes) else k for k in await redis_client.keys("*")]
    assert not [k for k in keys if "made-up" in k], keys


async def test_a_source_over_the_handshake_rate_gets_429() -> None:
    settings = make_settings(handshake_rate=1.0, handshake_burst=3.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        for _ in range(3):
            await _refuse(srv, "demo")
        try:
            await _refuse(srv, "demo")
        except InvalidStatus as exc:
            status = exc.response.status_code
        else:
            status = 101
        # The room page and health stay reachable: only handshakes are counted.
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        line = await reader.readline()
        writer.close()
    assert status == 429
    assert line.startswith(b"HTTP/1.1 200")
