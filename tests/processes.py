"""Helper processes the tests start (redis-server, coturn): found, given a port, stopped."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest


def require(exe: str, need: str, package: str) -> str:
    """The path of ``exe``, or fail (not skip: a skipped suite reads as a passing one)."""
    path = shutil.which(exe)
    if path is None:
        pytest.fail(
            f"{exe} is not on PATH; {need} need it (apt-get install {package},"
            " or scripts/system-packages)",
            pytrace=False,
        )
    return path


def free_port() -> int:
    """A port nobody holds now; another process may take it before ours does, which shows
    as an early exit, and the caller tries again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
