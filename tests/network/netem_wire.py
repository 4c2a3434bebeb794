"""A point-to-point link with netem's troubles, in user space: two TUN devices and a forwarder.

This kernel has no ``sch_netem`` (``CONFIG_NET_SCH_NETEM`` is not set; only htb, tbf and fifo
qdiscs exist), so ``tc qdisc ... netem`` is refused. The link is built from two TUN devices
instead: the fixture moves one into a network namespace, gives each end one address of a /30,
and this process carries every IP packet from one device to the other, doing to it what netem
would: a delay with uniform jitter (packets overtake each other, as netem's tfifo lets them),
independent loss, a share sent at once (netem's ``reorder``), or nothing at all (a blackout).
Both directions get the same treatment, each drawn on its own.

    python -m tests.network.netem_wire A_NAME B_NAME SEED

Prints ``ready`` once both devices exist, then reads one JSON object a line on stdin: the new
impairment (``delay_ms``, ``jitter_ms``, ``loss``, ``reorder``, ``down``), answered ``ok``.
At EOF or on a signal it exits, and the kernel removes both devices with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import random
import struct
import sys
from dataclasses import dataclass, fields

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65_535


@dataclass(frozen=True, slots=True)
class Impairment:
    """What happens to each packet, in each direction (netem's words and units)."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0  # uniform in delay ± jitter
    loss: float = 0.0  # probability a packet is dropped
    reorder: float = 0.0  # probability a packet skips the delay (and overtakes)
    down: bool = False  # a blackout: every packet dropped

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)})


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Wire:
    def __init__(self, a: int, b: int, rng: random.Random) -> None:
        self.fds = (a, b)
        self.rng = rng
        self.now = Impairment()
        self.loop = asyncio.get_running_loop()

    def start(self) -> None:
        a, b = self.fds
        self.loop.add_reader(a, self._carry, a, b)
        self.loop.add_reader(b, self._carry, b, a)

    def _carry(self, src: int, dst: int) -> None:
        for _ in range(64):  # drain what is queued, then let the timers run
            try:
                packet = os.read(src, MAX_PACKET)
            except BlockingIOError:
                return
            now = self.now
            if now.down or (now.loss and self.rng.random() < now.loss):
                continue
            delay = now.delay_ms
            if now.reorder and self.rng.random() < now.reorder:
                delay = 0.0
            elif now.jitter_ms:
                delay += self.rng.uniform(-now.jitter_ms, now.jitter_ms)
            if delay <= 0:
                _write(dst, packet)
            else:
                self.loop.call_later(delay / 1000, _write, dst, packet)


def _write(fd: int, packet: bytes) -> None:
    # A full queue or a device going down loses the packet, as a wire would.
    with contextlib.suppress(OSError):
        os.write(fd, packet)


async def main(a_name: str, b_name: str, seed: int) -> None:
    a, b = open_tun(a_name), open_tun(b_name)
    wire = Wire(a, b, random.Random(seed))
    wire.start()
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    print("ready", flush=True)
    while line := await stdin.readline():
        wire.now = Impairment(**json.loads(line))
        print("ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
