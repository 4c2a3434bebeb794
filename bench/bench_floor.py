"""The socket floor: what N VR members' traffic costs a server process that does nothing else.

Each of N clients sends a pose-sized message (120 bytes) at 30 Hz, and the server writes a
state-frame-sized message (420 bytes) to every client at a 30 Hz tick, over plain TCP on
loopback: the same number of reads and writes the real server makes for N VR members, with no
WebSocket framing, no decoding and no room. Whatever this takes of a core, no server written
in any language on this machine can take less with one TCP connection per member.

The server runs under asyncio's own event loop (the naive baseline) and under uvloop, pinned
to CPU 0; the clients run in another process pinned to CPU 1.

    .venv/bin/python bench/bench_floor.py --clients 500,1000,2000 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path
from typing import cast

from server.event_loop import run_loop

HOST = "127.0.0.1"
POSE_BYTES = 120  # a VR pose with its ack, WebSocket-framed and masked
STATE_BYTES = 420  # a room of 10's delta, WebSocket-framed
HZ = 30
SLOTS = 30  # the clients' sends are spread over this many slots per period


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


async def serve(port: int, seconds: float, expect: int) -> dict[str, float]:
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
    period = 1.0 / HZ
    next_at = loop.time()
    warm_until = next_at + 1.0
    start = r0 = None
    reads0 = writes = 0
    while True:
        next_at += period
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        for transport in conns:
            transport.write(state)
        now = loop.time()
        if start is None and now >= warm_until:
            start, r0, reads0, writes = now, resource.getrusage(resource.RUSAGE_SELF), counts[0], 0
        elif start is not None:
            writes += len(conns)
            if now - start >= seconds:
                break
    assert start is not None
    assert r0 is not None
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = loop.time() - start
    server.close()
    return {
        "cpu": (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / wall,
        "user": (r1.ru_utime - r0.ru_utime) / wall,
        "reads_per_s": (counts[0] - reads0) / wall,
        "writes_per_s": writes / wall,
    }


class _Client(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport.close()  # the server is done: stop writing to it


async def drive(port: int, clients: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.Transport] = []
    for _ in range(clients):
        transport, _ = await loop.create_connection(_Client, HOST, port)
        transports.append(transport)
    pose = b"p" * POSE_BYTES
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


def measure(clients: int, seconds: float, loop: str) -> dict[str, float]:
    port = _free_port()
    me = [sys.executable, str(Path(__file__).resolve())]
    common = ["--port", str(port), "--seconds", str(seconds), "--loop", loop]
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
    args = p.parse_args(argv)
    if args.role == "_serve":
        result = run_loop(serve(args.port, args.seconds, int(args.clients)), args.loop)
        print(json.dumps(result), flush=True)
        return 0
    if args.role == "_drive":
        run_loop(drive(args.port, int(args.clients), args.seconds), args.loop)
        return 0
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    print(f"plain TCP on loopback, {HZ} Hz each way, {POSE_BYTES} B in, {STATE_BYTES} B out")
    head = ("N", "loop", "server CPU", "of it user", "reads/s", "writes/s")
    print("{:>6} {:>8} {:>11} {:>11} {:>9} {:>9}".format(*head))
    for n in (int(c) for c in args.clients.split(",")):
        for loop in loops:
            r = measure(n, args.seconds, loop)
            print(
                f"{n:>6} {loop:>8} {r['cpu']:>10.1%} {r['user']:>11.1%} "
                f"{r['reads_per_s']:>9.0f} {r['writes_per_s']:>9.0f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
