"""Fuzz frames at a live server while two honest members use the same room.

The server runs as its own process with the rate limits lifted and strikes raised (so that
fuzz frames reach the decoder and the room instead of being dropped at the door). Fuzzing
clients join the room and send generated and mutated frames as fast as they can; now and then
one sends a text frame or a frame over the hard size limit. Meanwhile one member moves and
another counts the state frames it receives. Pass: the server is up and healthy at the end,
the honest members were never closed and never got an error, and their tick rate held.

    .venv/bin/python -m fuzzing.fuzz_server [--frames 1000000] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from websockets.exceptions import ConnectionClosed

from fuzzing.frames import frames
from rooms.roles import Role
from server.auth import TokenAuthority
from simulator.client import RoomClient
from simulator.server_process import HOST, ServerProcess

ROOM = "fuzz"


class Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.closes: Counter[int] = Counter()
        self.errors: Counter[int] = Counter()


async def fuzzer(
    worker: int, url: str, tokens: TokenAuthority, tally: Tally, target: int, seed: int
) -> None:
    source = frames(seed + worker, 10**9)
    session = 0
    while tally.sent < target:
        session += 1
        token = tokens.mint(room=ROOM, role=Role.BOT, subject=f"fuzz-{worker}-{session}")
        client = await RoomClient.join(url, token, f"fuzz {worker}", auto_ack=False)
        try:
            for n, data in enumerate(source):
                if tally.sent >= target or client.closed:
                    break
                if session % 20 == 0 and n == 100:
                    await client.send_raw(b"\x00" * (5 * 65536))  # over the hard limit: 1009
                elif n % 997 == 0:
                    await client.send_raw(data.hex())  # a text frame
                else:
                    await client.send_raw(data)
                tally.sent += 1
                if n % 64 == 0:
                    await asyncio.sleep(0)  # let the honest members' tasks run here too
        except ConnectionClosed:
            pass
        await client.close()
        tally.closes[client.close_code or 0] += 1
        for err in client.errors:
            tally.errors[err.code] += 1


async def state_rate(watcher: RoomClient, seconds: float) -> float:
    start, t0 = watcher.state_frames, time.monotonic()
    await asyncio.sleep(seconds)
    return (watcher.state_frames - start) / (time.monotonic() - t0)


async def mover(client: RoomClient, stop: asyncio.Event) -> None:
    k = 0
    while not stop.is_set():
        k += 1
        lean = 0.2 * math.sin(k / 15)
        await client.pose((lean, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0))
        await asyncio.sleep(1 / 30)


async def run(args: argparse.Namespace) -> int:
    audit_dir = tempfile.mkdtemp(prefix="fuzz-audit-")
    os.environ.update(
        {
            "WEALTHROOM_RATE": "1000000",
            "WEALTHROOM_BURST": "1000000",
            "WEALTHROOM_CHAT_RATE": "1000000",
            "WEALTHROOM_STRIKES": "1000000000",
            "WEALTHROOM_MAX_CONNECTIONS_PER_SUBJECT": "64",
            "WEALTHROOM_AUDIT_PATH": str(Path(audit_dir) / "audit.jsonl"),
        }
    )
    server = ServerProcess(Path(audit_dir) / "server.log", "WARNING", None, None)
    await server.start()
    try:
        tokens = TokenAuthority(server.secret.encode())
        url = f"ws://{HOST}:{server.port}/ws/{ROOM}"
        customer = tokens.mint(room=ROOM, role=Role.CUSTOMER, subject="honest-customer")
        guest = tokens.mint(room=ROOM, role=Role.GUEST, subject="honest-guest")
        moving = await RoomClient.join(url, customer, "Mover")
        watcher = await RoomClient.join(url, guest, "Watcher")
        stop = asyncio.Event()
        motion = asyncio.create_task(mover(moving, stop))
        before = await state_rate(watcher, 3.0)

        tally = Tally()
        started = time.monotonic()
        samples: list[float] = []
        workers = [
            asyncio.create_task(fuzzer(w, url, tokens, tally, args.frames, args.seed))
            for w in range(args.clients)
        ]
        while not all(w.done() for w in workers):
            samples.append(await state_rate(watcher, 2.0))
            print(f"  {tally.sent:>9,} frames sent, watcher at {samples[-1]:.1f} state frames/s")
        await asyncio.gather(*workers)
        took = time.monotonic() - started
        after = await state_rate(watcher, 3.0)
        stop.set()
        await motion

        alive = server.proc is not None and server.proc.returncode is None
        metrics = await server.metrics() if alive else {}
        honest_ok = not (moving.closed or watcher.closed or moving.errors or watcher.errors)
        print(f"\n{tally.sent:,} fuzz frames in {took:.0f} s ({tally.sent / took:,.0f}/s)")
        print(f"fuzz connections closed, by code: {dict(sorted(tally.closes.items()))}")
        print(f"error frames received by fuzzers, by code: {dict(sorted(tally.errors.items()))}")
        print(f"server alive and answering: {alive and bool(metrics)}")
        print(f"honest members untouched (no close, no error): {honest_ok}")
        low = min(samples) if samples else math.nan
        print(
            f"watcher state frames/s: before {before:.1f}, during min {low:.1f}"
            f" / median {sorted(samples)[len(samples) // 2] if samples else math.nan:.1f},"
            f" after {after:.1f}"
        )
        await moving.close()
        await watcher.close()
        return 0 if alive and metrics and honest_ok else 1
    finally:
        await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
