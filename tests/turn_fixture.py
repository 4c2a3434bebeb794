"""A private TURN relay (Debian's coturn) for the media tests: one per session.

It checks members' time-limited logins with a shared secret (``use-auth-secret``), as a
bank's relay would, and relays between loopback addresses (which relays refuse by default).
A missing ``turnserver`` fails the tests that need it, with a message, rather than skipping.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port, require, stop

START_DEADLINE_S = 10.0
START_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class TurnServer:
    port: int
    secret: str

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"


@pytest.fixture(scope="session")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    exe = require("turnserver", "the TURN relay tests", "coturn")
    workdir = tmp_path_factory.mktemp("turn")
    secret = "turn-secret-for-the-tests-0123456789"
    logs: list[str] = []
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        logfile = workdir / f"turn-{attempt}.log"
        proc = subprocess.Popen(
            [
                exe, "-n", "--no-cli", "--no-tls", "--no-dtls",
                "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1",
                "--listening-port", str(port),
                "--min-port", "49152", "--max-port", "65535",
                "--use-auth-secret", "--static-auth-secret", secret,
                "--realm", "wealthroom.test", "--allow-loopback-peers", "--fingerprint",
                "--no-tcp-relay", "--simple-log", "--log-file", str(logfile),
                "--pidfile", str(workdir / f"turn-{attempt}.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        if _ready(proc, port):
            try:
                yield TurnServer(port, secret)
            finally:
                stop(proc)
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        logs.append(_tail(logfile))
    pytest.fail(f"turnserver did not start; last log:\n{logs[-1]}", pytrace=False)


def _ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    """Until the relay accepts a TCP connection on its port (it listens on UDP and TCP)."""
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"
