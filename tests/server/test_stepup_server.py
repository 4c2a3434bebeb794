"""Step-up through real servers: failures count per customer across rooms, and lock-outs and
spent codes outlive a restart (the file store in embedded mode, Redis across two server
instances). Real TOTP codes, real sockets on loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pyotp

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.roles import Role
from rooms.stepup_policy import MAX_FAILURES
from server.app import WealthroomServer
from server.second_factor import STEP_S, FileEnrolments
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings
from tests.redis_fixture import RedisServer, redis_server

__all__ = ["redis_server"]  # fixtures, used by name


@asynccontextmanager
async def _server(**settings: Any) -> AsyncIterator[WealthroomServer]:
    async with WealthroomServer(make_settings(demo_room=None, **settings), secret=SECRET) as srv:
        yield srv


async def _customer(server: WealthroomServer, room: str, subject: str) -> RoomClient:
    token = server.tokens.mint(room=room, role=Role.CUSTOMER, subject=subject, risk=3)
    return await RoomClient.join(server.room_url(room), token, "Ann")


async def _verify(client: RoomClient, code: str) -> int | None:
    """Send a code; ``None`` if it was accepted, else the error code it got."""
    before = (len(client.errors), len(client.of(m.Verified)))
    await client.send(m.Verify(code))
    await client.wait_for(lambda c: (len(c.errors), len(c.of(m.Verified))) != before)
    if len(client.of(m.Verified)) > before[1]:
        return None
    return client.errors[-1].code


LOCKING = [ErrorCode.NOT_VERIFIED] * (MAX_FAILURES - 1) + [ErrorCode.LOCKED_OUT]


def _wrong(secret: str) -> str:
    """A code that no step within the drift allowance shows now."""
    now = time.time()
    near = {pyotp.TOTP(secret).at(now + d * STEP_S) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


async def _fail(client: RoomClient, secret: str, times: int) -> list[int | None]:
    return [await _verify(client, _wrong(secret)) for _ in range(times)]


async def test_five_failures_across_two_rooms_lock_the_customer_out_in_both() -> None:
    async with _server() as server:
        secret = server.enrolments.enrol("cust-1")
        first = await _customer(server, "first", "cust-1")
        second = await _customer(server, "second", "cust-1")
        assert await _fail(first, secret, 3) == [ErrorCode.NOT_VERIFIED] * 3
        assert first.errors[-1].msg == "not verified; 2 attempts left"
        assert await _fail(second, secret, 1) == [ErrorCode.NOT_VERIFIED]
        assert second.errors[-1].msg == "not verified; 1 attempt left"
        assert await _fail(second, secret, 1) == [ErrorCode.LOCKED_OUT]
        # The right code does not help, in either room.
        assert await _verify(first, pyotp.TOTP(secret).now()) == ErrorCode.LOCKED_OUT
        assert await _verify(second, pyotp.TOTP(secret).now()) == ErrorCode.LOCKED_OUT
        await first.send(m.ViewPortfolio())
        await first.wait_for(lambda c: c.errors[-1].ref == "portfolio")
        assert first.errors[-1].code == ErrorCode.LOCKED_OUT
        await first.close()
        await second.close()


async def test_a_lock_out_and_a_spent_code_survive_a_restart(tmp_path: Path) -> None:
    var = tmp_path / "var"
    paths = {"totp_path": var / "totp.json", "factor_path": var / "factors.json"}
    secret = FileEnrolments(paths["totp_path"]).enrol("cust-1")
    secret2 = FileEnrolments(paths["totp_path"]).enrol("cust-2")
    code2 = pyotp.TOTP(secret2).now()
    async with _server(**paths) as server:
        ann = await _customer(server, "r1", "cust-1")
        assert await _fail(ann, secret, MAX_FAILURES) == LOCKING
        bob = await _customer(server, "r1", "cust-2")
        assert await _verify(bob, code2) is None
        await ann.close()
        await bob.close()
    assert oct((var / "factors.json").stat().st_mode & 0o777) == "0o600"
    async with _server(**paths) as server:
        ann = await _customer(server, "r1", "cust-1")
        assert await _verify(ann, pyotp.TOTP(secret).now()) == ErrorCode.LOCKED_OUT
        bob = await _customer(server, "r1", "cust-2")
        assert await _verify(bob, code2) == ErrorCode.NOT_VERIFIED  # spent before the restart
        await ann.close()
        await bob.close()


async def test_a_lock_out_on_one_server_holds_on_the_next_one_through_redis(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    totp = tmp_path / "totp.json"
    shared: dict[str, Any] = {
        "redis_url": f"redis://{redis_server.host}:{redis_server.port}/0",
        "redis_prefix": f"t{uuid.uuid4().hex[:8]}:",
        "totp_path": totp,
        "lease_s": 1.0,
    }
    secret = FileEnrolments(totp).enrol("cust-1")
    async with _server(node_id="a", **shared) as a:
        ann = await _customer(a, "on-a", "cust-1")
        assert await _verify(ann, pyotp.TOTP(secret).now()) is None
        used = pyotp.TOTP(secret).now()
        assert await _fail(ann, secret, MAX_FAILURES) == LOCKING
        await ann.close()
    async with _server(node_id="b", **shared) as b:
        ann = await _customer(b, "on-b", "cust-1")
        assert await _verify(ann, used) == ErrorCode.LOCKED_OUT
        await ann.close()
