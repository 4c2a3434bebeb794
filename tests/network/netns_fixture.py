"""A troubled link to a network namespace of the test's own: the far end of a real network.

:func:`open_link` makes a namespace (``wrnetem-<pid>-<hex>``, unique per run) and a
point-to-point link into it: two TUN devices carried by ``tests/network/netem_wire.py``, one
end in the root namespace, the other inside, with the two addresses of a /30 in 10.213.0.0/16
picked at random among those no interface here holds. The namespace has that link and its
loopback and nothing else, so whatever runs in it reaches only the root end's address: no
route leads anywhere else. A server bound to :attr:`NetnsLink.server_addr` in this process's
namespace is reached through the link from inside, and directly (locally) from here.

:meth:`NetnsLink.impair` changes the link on the fly (delay, jitter, loss, reordering, a
blackout); :meth:`NetnsLink.exec` is the command line that runs a program inside. Teardown is
unconditional: processes still in the namespace are killed by id, the wire process ends (the
kernel removes both devices with it), the namespace is deleted; namespaces left by a run that
died (its pid gone) are deleted at the next setup.

Where the machine refuses namespaces or TUN devices (no root, no ``ip``, a container without
``CAP_NET_ADMIN``), :class:`LinkUnavailable` says why and the tests skip with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.network.netem_wire import Impairment

REPO = Path(__file__).resolve().parents[2]
PREFIX = "wrnetem-"
POOL = ipaddress.IPv4Network("10.213.0.0/16")
WIRE_READY_S = 10.0

CLEAR = Impairment()
# The trouble of issue 17: each direction delayed 100 ms ± 50 ms (packets overtake), 5 % lost.
ROUGH = Impairment(delay_ms=100, jitter_ms=50, loss=0.05)
BLACKOUT = Impairment(down=True)


class LinkError(Exception):
    """Setting up or taking down the link failed."""


class LinkUnavailable(LinkError):
    """This machine will not make a namespace or a TUN device (the reason is the message)."""


def _ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    if done.returncode != 0:
        raise LinkError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale() -> None:
    """Delete namespaces of earlier runs whose process is gone (a run killed mid-test)."""
    with contextlib.suppress(LinkError):
        for line in _ip("netns", "list").splitlines():
            name = line.split()[0] if line.split() else ""
            if not name.startswith(PREFIX):
                continue
            pid = name.removeprefix(PREFIX).partition("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                _kill_inside(name)
                _ip("netns", "del", name)


def _kill_inside(ns: str) -> None:
    with contextlib.suppress(LinkError):
        for pid in _ip("netns", "pids", ns).split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


def _free_subnet(rng: random.Random) -> ipaddress.IPv4Network:
    taken = [
        ipaddress.ip_interface(line.split()[3]).network
        for line in _ip("-4", "-o", "addr", "show").splitlines()
        if len(line.split()) > 3
    ]
    subnets: list[ipaddress.IPv4Network] = list(POOL.subnets(new_prefix=30))
    for _ in range(100):
        net = rng.choice(subnets)
        if not any(net.overlaps(t) for t in taken):
            return net
    raise LinkError(f"no free /30 left in {POOL}")


@dataclass
class NetnsLink:
    ns: str
    server_addr: str  # the root namespace's end: bind servers here
    client_addr: str  # the namespace's end
    wire: asyncio.subprocess.Process
    now: Impairment = CLEAR

    def exec(self, *argv: str) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.ns, *argv]

    def python(self, module: str, *args: str) -> list[str]:
        """A module of this tree run inside the namespace with this interpreter."""
        return self.exec(sys.executable, "-m", module, *args)

    async def impair(self, trouble: Impairment) -> None:
        """From now on, packets in both directions meet ``trouble`` (``CLEAR``: none)."""
        assert self.wire.stdin is not None
        assert self.wire.stdout is not None
        self.wire.stdin.write(trouble.to_json().encode() + b"\n")
        await self.wire.stdin.drain()
        answer = await asyncio.wait_for(self.wire.stdout.readline(), WIRE_READY_S)
        if answer.strip() != b"ok":
            raise RuntimeError(f"the wire did not take {trouble}: {answer!r}")
        self.now = trouble


def _check_tools() -> None:
    if sys.platform != "linux":
        raise LinkUnavailable("network namespaces are Linux only")
    if shutil.which("ip") is None:
        raise LinkUnavailable("no ip(8) on PATH (apt-get install iproute2)")
    if not os.path.exists("/dev/net/tun"):
        raise LinkUnavailable("no /dev/net/tun: this machine gives no TUN devices")


@contextlib.asynccontextmanager
async def open_link(seed: int | None = None) -> AsyncIterator[NetnsLink]:
    """A fresh namespace with a clear link into it; everything removed on the way out."""
    _check_tools()
    _sweep_stale()
    rng = random.Random(seed)
    tag = secrets.token_hex(3)
    ns = f"{PREFIX}{os.getpid()}-{tag}"
    dev_root, dev_ns = f"wra{tag}", f"wrb{tag}"
    try:
        _ip("netns", "add", ns)
    except LinkError as exc:  # no CAP_SYS_ADMIN (a container, no root): no namespace
        raise LinkUnavailable(str(exc)) from exc
    wire: asyncio.subprocess.Process | None = None
    try:
        net = _free_subnet(rng)
        root_end, ns_end = (str(a) for a in list(net.hosts())[:2])
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        wire = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.network.netem_wire",
            dev_root,
            dev_ns,
            str(rng.randrange(2**32)),
            cwd=REPO,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert wire.stdout is not None
        ready = await asyncio.wait_for(wire.stdout.readline(), WIRE_READY_S)
        if ready.strip() != b"ready":
            raise LinkUnavailable(
                f"the wire could not open its TUN devices (exit {wire.returncode})"
            )
        _ip("link", "set", dev_ns, "netns", ns)
        _ip("addr", "add", root_end, "peer", f"{ns_end}/32", "dev", dev_root)
        _ip("link", "set", dev_root, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", ns_end, "peer", f"{root_end}/32", "dev", dev_ns)
        _ip("-n", ns, "link", "set", dev_ns, "up")
        yield NetnsLink(ns, root_end, ns_end, wire)
    finally:
        _kill_inside(ns)
        if wire is not None:
            await _end(wire)
        with contextlib.suppress(LinkError):
            _ip("netns", "del", ns)


async def _end(wire: asyncio.subprocess.Process) -> None:
    if wire.returncode is None:
        if wire.stdin is not None:
            wire.stdin.close()  # EOF: the wire exits, its devices go with it
        try:
            await asyncio.wait_for(wire.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                wire.kill()
            await wire.wait()


@pytest.fixture
async def netns_link() -> AsyncIterator[NetnsLink]:
    """A fresh link per test; the test skips, saying why, where namespaces are refused."""
    async with contextlib.AsyncExitStack() as stack:
        try:
            link = await stack.enter_async_context(open_link())
        except LinkUnavailable as exc:
            pytest.skip(f"no network namespace on this machine: {exc}")
        yield link
