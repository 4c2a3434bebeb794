"""A private ``redis-server`` for the tests: started once per session, emptied for each test.

Import the fixtures by name where they are used (``from tests.redis_fixture import
redis_client, redis_server``). A missing ``redis-server`` fails the tests that need it, with a
message, instead of skipping them: a skipped suite reads as a passing one.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tests.processes import free_port, require, stop

START_DEADLINE_S = 10.0
START_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class RedisServer:
    host: str
    port: int

    def client(self) -> Redis:
        return Redis(host=self.host, port=self.port)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    exe = require("redis-server", "the Redis cluster tests", "redis-server")
    workdir = tmp_path_factory.mktemp("redis")
    proc, port = _start(exe, workdir)
    try:
        yield RedisServer("127.0.0.1", port)
    finally:
        stop(proc)


@asynccontextmanager
async def connected(server: RedisServer) -> AsyncIterator[Redis]:
    """A client on an emptied database, closed afterwards. Per test: a client is bound to the
    event loop it first ran on, and each test has its own loop."""
    client = server.client()
    try:
        await client.flushdb()
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    async with connected(redis_server) as client:
        yield client


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """A redis-server this test may stop and start again on the same port (without
    persistence: it comes back empty, as a Redis that restarted with nothing saved)."""
    port = _free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(tmp_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert _ready(proc, port), "redis-server did not start"
        procs.append(proc)
        return proc

    start.port = port  # type: ignore[attr-defined]
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def _start(exe: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    # redis-server refuses --port 0, so ask the kernel for a free port and take it; another
    # process may grab it in between, which shows as an early exit, and then we try again.
    logs: list[str] = []
    for attempt in range(START_ATTEMPTS):
        port = _free_port()
        logfile = workdir / f"redis-{attempt}.log"
        with logfile.open("wb") as out:
            proc = subprocess.Popen(
                [
                    exe,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(workdir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        if _ready(proc, port):
            return proc, port
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        logs.append(logfile.read_text(errors="replace")[-2000:])
    pytest.fail(
        f"redis-server did not start in {START_ATTEMPTS} attempts; last log:\n{logs[-1]}",
        pytrace=False,
    )


_free_port = free_port


def _ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + START_DEADLINE_S
    probe = SyncRedis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False  # exited: most likely the port was taken after all
            with suppress(RedisConnectionError, RedisTimeoutError):
                if probe.ping():
                    return True
            time.sleep(0.02)
        return False
    finally:
        probe.close()
