"""One run across a troubled link: a server, a member here, a member beyond the link, a schedule.

The server is a process of its own bound to the link's root end (nothing else listens); the
observer (an advisor with a synthetic microphone and camera) joins from this process, locally,
and posts a chat every :data:`OBSERVER_CHAT_S`; the remote (``tests/network/netns_client.py``) runs
inside the namespace, moves, chats and receives the observer's audio and video through the
link. The link goes through the :class:`Phase` list in order; then it is cleared, the observer
posts ``end``, and the remote reports. Tests judge the :class:`Outcome`; ``bench/bench_netem.py``
prints its figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol import messages as m
from rooms.roles import Role
from server.auth import TokenAuthority
from simulator.client import ClientError, RoomClient
from simulator.media import RtcMedia, SyntheticMicrophone
from simulator.server_process import ServerProcess
from tests.media.peers import PatternTrack
from tests.network.netem_wire import Impairment
from tests.network.netns_fixture import CLEAR, REPO, NetnsLink

ROOM = "netem"
OBSERVER_CHAT_S = 0.2
START_S = 60.0  # the remote's join and its first media frames, on two busy cores
REPORT_S = 90.0
REPORT_BYTES = 2**24  # the report is one JSON line: every pose sent and every frame's time
SERVER_ENV = {
    "WEALTHROOM_AUDIT_PATH": "",
    "WEALTHROOM_TOTP_PATH": "",
    "WEALTHROOM_DEMO_ROOM": "",
    "WEALTHROOM_CHAT_RATE": "50",  # resends after a reconnect come in a burst
    # No STUN or TURN anywhere: the peers find each other on the link's addresses alone.
    "WEALTHROOM_ICE_SERVERS": "[]",
    "WEALTHROOM_MEMBER_ICE_URLS": "[]",
}


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    trouble: Impairment
    seconds: float


@dataclass
class Window:
    name: str
    start: float
    end: float
    trouble: Impairment


@dataclass
class Outcome:
    remote: dict[str, Any]  # the remote's report (tests/network/netns_client.py)
    observer_member: int
    observer_reliable: list[Any]
    observer_sent: list[str]
    windows: list[Window]
    latencies: list[tuple[float, float]]  # (sent at, pose-to-peer seconds)
    converged: bool
    remote_exit: int | None
    remote_log: str = ""
    notes: list[str] = field(default_factory=list)

    def remote_chats(self) -> list[tuple[int, int, str]]:
        """(seq, by, text) of every chat the remote received, in arrival order."""
        return [(s, by, text) for s, t, by, text in self.remote["reliable"] if t == "chat"]

    def latency_ms(self, window: Window) -> list[float]:
        return sorted(1000 * d for t, d in self.latencies if window.start <= t < window.end)

    def blackouts(self) -> list[Window]:
        return [w for w in self.windows if w.trouble.down]

    def media_gap(self, kind: str, blackout: Window) -> tuple[float, float] | None:
        """(freeze, recovery) in seconds around ``blackout``: the wait between the last frame
        before its end and the first after, and from its end to that first frame."""
        times = sorted(self.remote["frames"].get(kind, []))
        after = next((t for t in times if t > blackout.end), None)
        before = [t for t in times if t <= blackout.end]
        if after is None or not before:
            return None
        return after - before[-1], after - blackout.end


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


async def run(
    link: NetnsLink,
    phases: list[Phase],
    workdir: Path,
    *,
    media: bool = True,
    stale: float = 1.5,
) -> Outcome:
    server = ServerProcess(
        workdir / "server.log", "WARNING", None, None, env=SERVER_ENV, host=link.server_addr
    )
    await server.start()
    tokens = TokenAuthority(server.secret.encode())
    url = f"ws://{link.server_addr}:{server.port}/ws/{ROOM}"
    seen: dict[bytes, float] = {}

    def on_state(msg: Any) -> None:
        if isinstance(msg, m.Snapshot | m.Delta):
            now = time.monotonic()
            for ent in msg.ents:
                if ent.x is not None:
                    seen.setdefault(ent.x, now)

    observer: RoomClient | None = None
    peer: RtcMedia | None = None
    remote: asyncio.subprocess.Process | None = None
    remote_log = workdir / "remote.log"
    try:
        token = tokens.mint(room=ROOM, role=Role.ADVISOR, subject="ada", name="Ada")
        observer = await RoomClient.join(url, token, "Ada")
        observer.listeners.append(on_state)
        if media:
            peer = RtcMedia(observer, audio=SyntheticMicrophone(), video=PatternTrack())
            await peer.open()
        guest = tokens.mint(room=ROOM, role=Role.GUEST, subject="remote", name="Remote")
        argv = ["--url", url, "--token", guest, "--end", "end", "--stale", str(stale)]
        with remote_log.open("wb") as log:
            remote = await asyncio.create_subprocess_exec(
                *link.python("tests.network.netns_client", *argv, *(["--media"] if media else [])),
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO)},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                limit=REPORT_BYTES,
            )
        await _event(remote, "joined", START_S)
        if media:
            await _event(remote, "media", START_S)

        sent: list[str] = []
        chatter = asyncio.get_running_loop().create_task(_chat(observer, sent))
        windows: list[Window] = []
        try:
            for phase in phases:
                start = time.monotonic()
                await link.impair(phase.trouble)
                await asyncio.sleep(phase.seconds)  # the schedule of the experiment
                windows.append(Window(phase.name, start, time.monotonic(), phase.trouble))
        finally:
            await link.impair(CLEAR)
            chatter.cancel()
            await asyncio.gather(chatter, return_exceptions=True)
        await observer.chat("end")
        sent.append("end")
        _say(remote, b"finish")
        report = await _event(remote, "report", REPORT_S)
        converged = True
        try:
            await observer.wait_for(lambda c: c.replica.digest() == report["digest"], 15)
        except ClientError:
            converged = False
        latencies = [
            (t, seen[key] - t)
            for hexed, t in report["poses"]
            if (key := bytes.fromhex(hexed)) in seen
        ]
        _say(remote, b"exit")
        code = await _wait(remote, 20)
        return Outcome(
            report,
            observer.member,
            list(observer.reliable),
            sent,
            windows,
            latencies,
            converged,
            code,
            remote_log.read_text(errors="replace"),
        )
    finally:
        if remote is not None and remote.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                remote.kill()
            await remote.wait()
        if peer is not None:
            await peer.close()
        if observer is not None:
            await observer.close()
        await server.stop()


async def _chat(observer: RoomClient, sent: list[str]) -> None:
    i = 0
    while True:
        text = f"o-{i}"
        i += 1
        await observer.chat(text)
        sent.append(text)
        await asyncio.sleep(OBSERVER_CHAT_S)  # pacing


def _say(proc: asyncio.subprocess.Process, line: bytes) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + b"\n")


async def _event(proc: asyncio.subprocess.Process, ev: str, timeout: float) -> dict[str, Any]:
    """The next JSON line from ``proc`` that is event ``ev``."""
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while line := await proc.stdout.readline():
            got: dict[str, Any] = json.loads(line)
            if got.get("ev") == ev:
                return got
    raise RuntimeError(f"the remote ended before {ev!r} (exit {proc.returncode})")


async def _wait(proc: asyncio.subprocess.Process, timeout: float) -> int | None:
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        return None
