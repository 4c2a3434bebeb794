"""The step-up store: one suite over the file (embedded) and the Redis (distributed) store.

``open_store`` hands out the store as a new process or another node would see it: for the
file, a new object reading the same file (a restart); for Redis, a new client on the same keys.
Codes come from a real TOTP secret through the real checker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pyotp
import pytest

from rooms.stepup_policy import LOCKOUT_S, MAX_FAILURES, Failed, Locked, Passed
from server.cluster.redis_factors import RedisFactorStore
from server.factor_store import FactorStore, FileFactorStore
from server.second_factor import STEP_S, FileEnrolments, TotpChecker
from tests.redis_fixture import RedisServer, connected, redis_server

__all__ = ["redis_server"]  # fixtures, used by name

OpenStore = Callable[[], FactorStore]


@pytest.fixture(params=["file", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    if request.param == "file":
        path = tmp_path / "var" / "factors.json"
        yield lambda: FileFactorStore(path)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(connected(server))  # empties the database

        def open_redis() -> FactorStore:
            client = server.client()
            stack.push_async_callback(client.aclose)
            return RedisFactorStore(client, prefix="t:")

        yield open_redis


@pytest.fixture
def enrolments() -> FileEnrolments:
    return FileEnrolments()


def _wrong(secret: str, now: float) -> str:
    """A code that no step within the drift allowance shows."""
    near = {pyotp.TOTP(secret).at(now + d * STEP_S) for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


async def test_failures_from_anywhere_count_together_and_the_lock_outlives_a_restart(
    open_store: OpenStore, enrolments: FileEnrolments
) -> None:
    secret = enrolments.enrol("ann")
    now = time.time()
    wrong = _wrong(secret, now)
    first = TotpChecker(enrolments, open_store())
    for n in range(1, 4):
        assert await first.check("ann", wrong, now) == Failed(n, MAX_FAILURES - n)
    # Another room, node or process: the same record.
    second = TotpChecker(enrolments, open_store())
    assert await second.check("ann", wrong, now) == Failed(4, 1)
    assert await second.check("ann", wrong, now) == Locked(now + LOCKOUT_S, fresh=True)
    restarted = TotpChecker(enrolments, open_store())
    right = pyotp.TOTP(secret).at(now)
    assert await restarted.check("ann", right, now + 1) == Locked(now + LOCKOUT_S, fresh=False)
    # Someone else is not affected; and the lock lifts by itself.
    other = enrolments.enrol("bob")
    assert await restarted.check("bob", pyotp.TOTP(other).at(now), now) == Passed()
    later = now + LOCKOUT_S
    late = TotpChecker(enrolments, open_store())
    assert await late.check("ann", pyotp.TOTP(secret).at(later), later) == Passed()


async def test_a_used_code_is_refused_after_a_restart(
    open_store: OpenStore, enrolments: FileEnrolments
) -> None:
    secret = enrolments.enrol("ann")
    now = time.time()
    code = pyotp.TOTP(secret).at(now)
    assert await TotpChecker(enrolments, open_store()).check("ann", code, now) == Passed()
    again = await TotpChecker(enrolments, open_store()).check("ann", code, now + 1)
    assert again == Failed(1, MAX_FAILURES - 1)
    # So is an older one, still inside the drift allowance.
    earlier = pyotp.TOTP(secret).at(now - STEP_S)
    assert isinstance(
        await TotpChecker(enrolments, open_store()).check("ann", earlier, now), Failed
    )


async def test_records_are_kept_no_longer_than_they_matter(tmp_path: Path) -> None:
    path = tmp_path / "var" / "factors.json"
    enrolments = FileEnrolments()
    secret = enrolments.enrol("ann")
    checker = TotpChecker(enrolments, FileFactorStore(path))
    now = time.time()
    for _ in range(MAX_FAILURES):
        await checker.check("ann", _wrong(secret, now), now)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert json.loads(path.read_text()) == {
        "ann": {"last_failure": now, "locked_until": now + LOCKOUT_S}
    }
    # Bob's check, after Ann's lock lapsed, leaves only Bob's record behind.
    later = now + LOCKOUT_S
    await checker.check("bob", "123456", later)
    assert list(json.loads(path.read_text())) == ["bob"]


async def test_a_redis_record_expires_with_its_lock(redis_server: RedisServer) -> None:
    enrolments = FileEnrolments()
    secret = enrolments.enrol("ann")
    async with connected(redis_server) as client:
        checker = TotpChecker(enrolments, RedisFactorStore(client, prefix="t:"))
        now = time.time()
        await checker.check("ann", _wrong(secret, now), now)
        ttl_ms = await client.pttl("t:factor:ann")
        # The expiry is rounded up to the millisecond (never early) and Redis reads its clock
        # in whole milliseconds: up to one more than the lockout when both share `now`'s ms.
        assert LOCKOUT_S * 1000 - 5_000 < ttl_ms <= LOCKOUT_S * 1000 + 1
        for _ in range(MAX_FAILURES - 1):
            await checker.check("ann", _wrong(secret, now), now)
        saved = await client.get("t:factor:ann")
        assert saved is not None
        assert json.loads(saved)["locked_until"] == now + LOCKOUT_S
        assert await client.pttl("t:factor:ann") > LOCKOUT_S * 1000 - 5_000
        # A success keeps only the spent step, for as long as its code could still match.
        bob = enrolments.enrol("bob")
        assert await checker.check("bob", pyotp.TOTP(bob).at(now), now) == Passed()
        assert 0 < await client.pttl("t:factor:bob") <= 3 * STEP_S * 1000


async def test_two_nodes_checking_the_same_code_at_once_accept_it_once(
    redis_server: RedisServer,
) -> None:
    enrolments = FileEnrolments()
    secret = enrolments.enrol("ann")
    async with connected(redis_server) as a, connected(redis_server) as b:
        nodes = [
            TotpChecker(enrolments, RedisFactorStore(client, prefix="t:")) for client in (a, b)
        ]
        for round_ in range(5):
            now = time.time() + round_ * 4 * STEP_S  # a new code each round
            code = pyotp.TOTP(secret).at(now)
            verdicts = await asyncio.gather(
                *(nodes[i % 2].check("ann", code, now) for i in range(8))
            )
            assert verdicts.count(Passed()) == 1, verdicts
            # No failure lost either: seven replays, counted one by one (and locked at five).
            failures = sorted(v.failures for v in verdicts if isinstance(v, Failed))
            assert failures == list(range(1, MAX_FAILURES))
            assert verdicts.count(Locked(now + LOCKOUT_S, fresh=True)) == 1
            await a.flushdb()
