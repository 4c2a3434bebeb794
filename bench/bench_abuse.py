"""What one abusive client costs a server: memory under each flood, audit bytes per refusal.

    python bench/bench_abuse.py [--seconds 10] [--baseline-tree PATH]

Each flood runs against a fresh server process (``run_server.py serve``) and is measured from
outside: the server's resident memory sampled every 100 ms, whether and when the server cut
the connection, and the audit log's size after a clean stop. With ``--baseline-tree`` (a
checkout of an earlier commit) every flood runs against that tree's server too, alternating
in the same window, and both columns are printed side by side.

The floods:
- ping: a joined guest sends pings as fast as it can and never reads the pongs;
- fragments: a joined guest opens a message and sends empty continuation frames;
- headers: 40 handshakes of 1 MB of headers (120 x 8 KiB);
- refused: 3,000 handshakes with a garbage token (audit bytes each, after a clean stop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from rooms.roles import Role
from server.auth import TokenAuthority
from simulator.rogue import RogueClient
from simulator.server_process import HOST, REPO, ServerProcess


@dataclass
class Figures:
    rss_start: float = 0.0
    rss_peak: float = 0.0
    rss_end: float = 0.0
    sent_mb: float = 0.0
    cut: bool | None = None
    cut_after_s: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def cells(self) -> list[str]:
        grew = f"+{self.rss_peak - self.rss_start:.0f} MiB (peak {self.rss_peak:.0f})"
        if self.cut is None:
            cut = "-"
        elif self.cut:
            cut = f"cut after {self.cut_after_s:.1f} s, {self.sent_mb:.0f} MB sent"
        else:
            cut = f"not cut ({self.sent_mb:.0f} MB sent)"
        return [grew, cut, *self.extra.values()]


class Sampler:
    """The server's peak resident memory while a flood runs."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.peak = server.rss_mb()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss_mb())
            await asyncio.sleep(0.1)  # a sampling period, not a synchronisation

    def __enter__(self) -> Sampler:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


Flood = Callable[[ServerProcess, TokenAuthority, Figures, float], Awaitable[None]]


async def _stream(
    server: ServerProcess,
    tokens: TokenAuthority,
    figures: Figures,
    seconds: float,
    batch: Callable[[RogueClient], bytes],
    opening: Callable[[RogueClient], bytes] = lambda _client: b"",
) -> None:
    token = tokens.mint(room="demo", role=Role.GUEST, subject=f"rogue-{secrets.token_hex(4)}")
    client = await RogueClient.open(HOST, server.port, token)
    started = time.monotonic()
    try:
        client.writer.write(opening(client))
        sent, cut = await client.flood(batch(client), max_bytes=1 << 40, max_s=seconds)
        if not cut:
            # Still open at our end: did the server at least close it at its end?
            with contextlib.suppress(ConnectionError, TimeoutError):
                figures.extra["close"] = f"server sent close {await client.read_close(2.0)}"
    finally:
        client.close()
    figures.sent_mb = sent / 1e6
    figures.cut = cut
    figures.cut_after_s = time.monotonic() - started if cut else None


async def ping_flood(
    server: ServerProcess, tokens: TokenAuthority, figures: Figures, seconds: float
) -> None:
    await _stream(server, tokens, figures, seconds, lambda c: c.pings())


async def fragment_flood(
    server: ServerProcess, tokens: TokenAuthority, figures: Figures, seconds: float
) -> None:
    await _stream(
        server,
        tokens,
        figures,
        seconds,
        lambda c: c.empty_fragments(1000),
        opening=lambda c: c.empty_fragments(1, first=True),
    )


async def header_flood(
    server: ServerProcess, tokens: TokenAuthority, figures: Figures, seconds: float
) -> None:
    statuses: dict[str, int] = {}
    head = "\r\n".join(
        [
            "GET /ws/demo HTTP/1.1",
            f"Host: {HOST}:{server.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
            *(f"X-Pad-{i}: {'a' * 8000}" for i in range(120)),
        ]
    ).encode()
    for _ in range(40):
        reader, writer = await asyncio.open_connection(HOST, server.port)
        status = "reset"
        try:
            writer.write(head + b"\r\n\r\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 5)
            status = line.decode(errors="replace").split(" ")[1] if line else "closed"
        except (ConnectionError, TimeoutError, IndexError):
            pass
        finally:
            writer.transport.abort()
        statuses[status] = statuses.get(status, 0) + 1
    figures.extra["answers"] = ", ".join(f"{k} x{v}" for k, v in sorted(statuses.items()))


async def refused_flood(
    server: ServerProcess, tokens: TokenAuthority, figures: Figures, seconds: float
) -> None:
    count = 3000
    for i in range(count):
        reader, writer = await asyncio.open_connection(HOST, server.port)
        writer.write(
            (
                f"GET /ws/made-up-{i} HTTP/1.1\r\nHost: {HOST}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wealthroom.v1\r\n"
                "Authorization: Bearer garbage\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await asyncio.wait_for(reader.read(256), 5)
        writer.transport.abort()
    figures.extra["handshakes"] = str(count)


FLOODS: dict[str, Flood] = {
    "ping": ping_flood,
    "fragments": fragment_flood,
    "headers": header_flood,
    "refused": refused_flood,
}


async def measure(tree: Path, name: str, seconds: float, workdir: Path) -> Figures:
    audit = workdir / f"audit-{name}-{secrets.token_hex(3)}.jsonl"
    env = {
        "WEALTHROOM_AUDIT_PATH": str(audit),
        "WEALTHROOM_AUDIT_KEY": secrets.token_urlsafe(48),
        "WEALTHROOM_TOTP_PATH": "",
        "WEALTHROOM_MEDIA": "false",
    }
    server = ServerProcess(workdir / f"server-{name}.log", "WARNING", None, None, env, tree)
    await server.start()
    tokens = TokenAuthority(server.secret.encode())
    figures = Figures(rss_start=server.rss_mb())
    try:
        with Sampler(server) as sampler:
            await FLOODS[name](server, tokens, figures, seconds)
            await asyncio.sleep(1.0)  # let a cut connection's memory go back
            figures.rss_peak = sampler.peak
        figures.rss_end = server.rss_mb()
    finally:
        await server.stop()
    if name == "refused":
        size = audit.stat().st_size if audit.exists() else 0
        figures.extra["audit bytes"] = f"{size:,} ({size / 3000:.1f} per handshake)"
    return figures


async def main(args: argparse.Namespace) -> int:
    trees = {"now": REPO}
    if args.baseline_tree is not None:
        trees = {"baseline": args.baseline_tree.resolve(), **trees}
    names = args.only or list(FLOODS)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            for label, tree in trees.items():
                figures = await measure(tree, name, args.seconds, Path(tmp))
                print(f"| {name} | {label} | " + " | ".join(figures.cells()) + " |", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=10.0, help="length of each streaming flood")
    p.add_argument("--baseline-tree", type=Path, help="a checkout to measure beside this one")
    p.add_argument("--only", nargs="*", choices=list(FLOODS), help="some floods only")
    return p


if __name__ == "__main__":
    print("| flood | server | memory | connection | more |")
    print("|---|---|---|---|---|")
    sys.exit(asyncio.run(main(parser().parse_args())))
