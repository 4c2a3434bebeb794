"""A server under measurement: ``run_server.py serve`` as a process of its own.

Fresh random secret, a free loopback port, optionally pinned to one CPU and run under cProfile;
its CPU time and memory read from ``/proc``, its counters from ``/metrics``. A server left
running when this process exits is killed (a benchmark stopped halfway must not leave one).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import secrets
import signal
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

_LIVE_SERVERS: set[int] = set()


@atexit.register
def _kill_leftover_servers() -> None:
    for pid in list(_LIVE_SERVERS):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        log_path: Path,
        log_level: str,
        profile: Path | None,
        cpu: int | None,
        env: dict[str, str] | None = None,
        tree: Path = REPO,
        host: str = HOST,
    ):
        self.tree = tree
        self.host = (
            host  # another local address: the end of a test link (tests/network/netns_fixture.py)
        )
        self.port = free_port(host)
        self.env = env or {}
        self.secret = secrets.token_urlsafe(48)
        self.log_path = log_path
        self.log_level = log_level
        self.profile = profile
        self.cpu = cpu
        self.proc: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, limit_s: float = 30.0) -> None:
        env = dict(os.environ)
        env["WEALTHROOM_SECRET"] = self.secret
        env.pop("WEALTHROOM_SECRET_FILE", None)
        env["PYTHONUNBUFFERED"] = "1"
        # Every bot connects from this one address: the per-source handshake limit would
        # turn a load ramp into a test of itself.
        env["WEALTHROOM_HANDSHAKE_RATE"] = "0"
        env.update(self.env)
        cmd = [sys.executable]
        if self.profile is not None:
            cmd += ["-m", "cProfile", "-o", str(self.profile)]
        cmd += [str(self.tree / "run_server.py"), "--log-level", self.log_level]
        cmd += ["serve", "--host", self.host, "--port", str(self.port)]
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd,
                cwd=self.tree,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        _LIVE_SERVERS.add(self.proc.pid)
        if self.cpu is not None:
            os.sched_setaffinity(self.proc.pid, {self.cpu})
        assert self.proc.stdout is not None
        async with asyncio.timeout(limit_s):
            for _ in range(1000):
                line = await self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"server exited early; see {self.log_path}")
                if b"Wealthroom is serving on" in line:
                    break
        self._drain = asyncio.create_task(self._drain_stdout(self.proc.stdout))

    @staticmethod
    async def _drain_stdout(stream: asyncio.StreamReader) -> None:
        while await stream.read(65536):  # ends at EOF, when the server exits
            pass

    async def stop(self, limit_s: float = 15.0) -> int | None:
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), limit_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.wait_for(proc.wait(), 5)
        _LIVE_SERVERS.discard(proc.pid)
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
        return proc.returncode

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of stat(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return math.nan

    async def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters (``name{labels}`` -> value)."""
        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 5)
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            raw = await asyncio.wait_for(reader.read(), 10)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        out: dict[str, float] = {}
        for line in raw.partition(b"\r\n\r\n")[2].decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    out[name] = float(value)
        return out
