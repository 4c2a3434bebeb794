"""The socket floor: what N VR members' traffic costs a server process that does nothing else.

Each of N clients sends a pose-sized message (120 bytes) at 30 Hz, and the server writes a
state-frame-sized message (420 bytes) to every client at a 30 Hz tick, over plain TCP on
loopback: the same number of reads and writes the real server makes for N VR members, with no
WebSocket framing, no decoding and no room. Whatever this takes of a core, no server written
in any language on this machine can take less with one TCP connection per member.

The server runs under asyncio's own event loop (the naive baseline) and under uvloop, pinned
to CPU 0; the clients run in another process pinned to CPU 1.

``--stack`` adds the floor of the required WebSocket library on the same traffic, still with
no room: ``websockets`` reads each member's messages the library's own way (a queue and a
task per connection, ``async for``), ``direct`` the way the server does
(``server/connection.py``: each message handed over in the read callback); both write each
tick's frame with one ``broadcast``. The clients speak WebSocket without a library: an upgrade
request, then pre-masked binary frames of the same sizes.

    .venv/bin/python bench/bench_floor.py --clients 500,1000,2000 --seconds 5
    .venv/bin/python bench/bench_floor.py --clients 200 --loop uvloop --stack tcp,websockets,direct
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from server.connection import MemberConnection
from server.event_loop import run_loop

HOST = "127.0.0.1"
POSE_BYTES = 120  # a VR pose with its ack, WebSocket-framed and masked
STATE_BYTES = 420  # a room of 10's delta, WebSocket-framed
HZ = 30
SLOTS = 30  # the clients' sends are spread over this many slots per period
STACKS = ("tcp", "websockets", "direct")
# A client's binary frame: FIN + opcode, mask bit + length, the mask, the payload.
WS_POSE = bytes([0x82, 0x80 | (POSE_BYTES - 6)]) + b"\x01\x02\x03\x04" + b"p" * (POSE_BYTES - 6)
UPGRADE = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


class _Served(asyncio.Protocol):
    def __init__(
        self, conns: list[asyncio.Transport], counts: list[int], full: asyncio.Event, expect: int
    ) -> None:
        self.conns, self.counts, self.full, self.expect = conns, counts, full, expect

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.conns.append(cast(asyncio.Transport, transport))  # uvloop's is not a subclass
        if len(self.conns) >= self.expect:
            self.full.set()

    def data_received(self, data: bytes) -> None:
        self.counts[0] += 1


async def serve(port: int, seconds: float, expect: int, stack: str) -> dict[str, float]:
    if stack != "tcp":
        return await serve_websockets(port, seconds, expect, direct=stack == "direct")
    loop = asyncio.get_running_loop()
    conns: list[asyncio.Transport] = []
    counts = [0]
    full = asyncio.Event()
    server = await loop.create_server(
        lambda: _Served(conns, counts, full, expect), HOST, port, backlog=4096, reuse_address=True
    )
    print("ready", flush=True)
    async with asyncio.timeout(120):
        await full.wait()
    state = b"s" * STATE_BYTES

    def tick() -> int:
        for transport in conns:
            transport.write(state)
        return len(conns)

    try:
        return await _ticks(seconds, tick, counts)
    finally:
        server.close()


async def serve_websockets(
    port: int, seconds: float, expect: int, *, direct: bool
) -> dict[str, float]:
    conns: list[ServerConnection] = []
    counts = [0]
    full = asyncio.Event()
    done = asyncio.Event()

    def count(_message: bytes | str) -> None:
        counts[0] += 1

    def hold(conn: ServerConnection, _request: Request) -> Response | None:
        if direct:
            assert isinstance(conn, MemberConnection)
            conn.hold_messages()
        return None

    async def handler(ws: ServerConnection) -> None:
        conns.append(ws)
        if len(conns) >= expect:
            full.set()
        if direct:
            assert isinstance(ws, MemberConnection)
            ws.deliver_to(count)
            await done.wait()
            return
        with contextlib.suppress(ConnectionClosed):  # aborted at the end of the run
            async for _ in ws:
                counts[0] += 1

    # The state frame's payload, so that with its 4-byte header it is STATE_BYTES long.
    state = b"s" * (STATE_BYTES - 4)

    def tick() -> int:
        broadcast(conns, state)
        return len(conns)

    async with ws_serve(
        handler,
        HOST,
        port,
        backlog=4096,
        reuse_address=True,
        compression=None,
        process_request=hold,
        create_connection=MemberConnection if direct else ServerConnection,
        ping_interval=None,
    ):
        print("ready", flush=True)
        async with asyncio.timeout(120):
            await full.wait()
        try:
            return await _ticks(seconds, tick, counts)
        finally:
            done.set()
            for ws in conns:
                ws.transport.abort()


async def _ticks(seconds: float, tick: Callable[[], int], counts: list[int]) -> dict[str, float]:
    """Write a tick's frames at HZ; measure the process over ``seconds`` after a warm second."""
    loop = asyncio.get_running_loop()
    period = 1.0 / HZ
    next_at = loop.time()
    warm_until = next_at + 1.0
    start = r0 = None
    reads0 = writes = 0
    while True:
        next_at += period
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        written = tick()
        now = loop.time()
        if start is None and now >= warm_until:
            start, r0, reads0, writes = now, resource.getrusage(resource.RUSAGE_SELF), counts[0], 0
        elif start is not None:
            writes += written
            if now - start >= seconds:
                break
    assert start is not None
    assert r0 is not None
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = loop.time() - start
    return {
        "cpu": (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / wall,
        "user": (r1.ru_utime - r0.ru_utime) / wall,
        "reads_per_s": (counts[0] - reads0) / wall,
        "writes_per_s": writes / wall,
    }


class _Client(asyncio.Protocol):
    def __init__(self, upgrade: bool) -> None:
        self.upgrade = upgrade
        self.open = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self.upgrade:
            cast(asyncio.Transport, transport).write(UPGRADE)
        else:
            self.open.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self.open.done():  # the upgrade's answer (it cannot be anything else here)
            self.open.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport.close()  # the server is done: stop writing to it


async def drive(port: int, clients: int, seconds: float, stack: str) -> None:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.Transport] = []
    upgrade = stack != "tcp"
    for _ in range(clients):
        transport, client = await loop.create_connection(lambda: _Client(upgrade), HOST, port)
        await client.open
        transports.append(transport)
    pose = WS_POSE if upgrade else b"p" * POSE_BYTES
    groups = [transports[i::SLOTS] for i in range(SLOTS)]
    step = 1.0 / (HZ * SLOTS)
    next_at = loop.time()
    stop = next_at + seconds + 3.0
    while next_at < stop:
        for group in groups:
            next_at += step
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            for transport in group:
                if not transport.is_closing():
                    transport.write(pose)
    for transport in transports:
        transport.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _pinned(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if hasattr(os, "sched_setaffinity") else []


def measure(clients: int, seconds: float, loop: str, stack: str = "tcp") -> dict[str, float]:
    port = _free_port()
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--port", str(port), "--seconds", str(seconds), "--loop", loop, "--stack", stack]
    server = subprocess.Popen(
        [*_pinned(0), *me, "_serve", "--clients", str(clients), *common],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "ready"
    driver = subprocess.Popen(
        [*_pinned(1), *me, "_drive", "--clients", str(clients), *common],
    )
    out = server.stdout.read()
    server.wait()
    driver.wait()
    if server.returncode != 0 or not out.strip():
        raise RuntimeError(f"floor server at N={clients} failed (exit {server.returncode})")
    return dict(json.loads(out))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("role", nargs="?", default="bench", choices=["bench", "_serve", "_drive"])
    p.add_argument("--clients", default="500,1000,2000")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--loop", default="both", choices=["both", "asyncio", "uvloop"])
    p.add_argument("--stack", default="tcp", help=f"comma-separated, of {', '.join(STACKS)}")
    args = p.parse_args(argv)
    if args.role == "_serve":
        result = run_loop(serve(args.port, args.seconds, int(args.clients), args.stack), args.loop)
        print(json.dumps(result), flush=True)
        return 0
    if args.role == "_drive":
        run_loop(drive(args.port, int(args.clients), args.seconds, args.stack), args.loop)
        return 0
    stacks = args.stack.split(",")
    if unknown := set(stacks) - set(STACKS):
        p.error(f"unknown --stack {', '.join(sorted(unknown))}")
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    print(f"loopback, {HZ} Hz each way, {POSE_BYTES} B in, {STATE_BYTES} B out, no room")
    head = ("N", "loop", "stack", "server CPU", "of it user", "us/client-s", "reads/s", "writes/s")
    print("{:>6} {:>8} {:>10} {:>11} {:>11} {:>12} {:>9} {:>9}".format(*head))
    for n in (int(c) for c in args.clients.split(",")):
        for loop in loops:
            for stack in stacks:
                r = measure(n, args.seconds, loop, stack)
                print(
                    f"{n:>6} {loop:>8} {stack:>10} {r['cpu']:>10.1%} {r['user']:>11.1%} "
                    f"{r['cpu'] * 1e6 / n:>12,.0f} "
                    f"{r['reads_per_s']:>9.0f} {r['writes_per_s']:>9.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
