"""run_server.py as a newcomer uses it: real processes, real ports."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

from rooms.roles import Role
from server.auth import TokenAuthority
from tests.conftest import SECRET

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "WEALTHROOM_SECRET": SECRET.decode(), "PYTHONUNBUFFERED": "1"}


async def _run(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        *args,
        env=ENV,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_token_command_mints_a_token_the_server_accepts() -> None:
    code, out, _ = await _run("token", "--room", "family-li", "--role", "guest", "--name", "Li")
    assert code == 0
    grant = TokenAuthority(SECRET).verify(out.strip(), room="family-li")
    assert (grant.room, grant.role, grant.name) == ("family-li", Role.GUEST, "Li")


async def test_token_command_refuses_a_bad_room_id() -> None:
    code, _, err = await _run("token", "--room", "../etc", "--role", "guest")
    assert code == 2
    assert "invalid room id" in err


async def test_serve_opens_the_demo_room_and_a_visitor_can_chat_in_it() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        "serve",
        "--port",
        "0",
        env=ENV,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        banner: list[str] = []
        while not banner or "Press Ctrl-C" not in banner[-1]:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "server exited before it was ready"
            banner.append(line.decode())
        text = "".join(banner)
        base = re.search(r"serving on (http://\S+)", text)
        assert base is not None
        assert "Demo room 'demo' is open" in text
        port = base.group(1).rsplit(":", 1)[1]

        def health() -> dict[str, object]:
            with urllib.request.urlopen(f"{base.group(1)}/healthz", timeout=5) as resp:
                result: dict[str, object] = json.load(resp)
                return result

        assert (await asyncio.to_thread(health))["status"] == "ok"
        code, out, err = await _run(
            "visit",
            "--port",
            port,
            "--name",
            "Ann",
            "--say",
            "hello from the CLI",
            "--seconds",
            "1",
        )
        assert code == 0, err
        assert "joined" in out
        assert "Ann: hello from the CLI" in out
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert "stopping" in rest.decode()
