#!/usr/bin/env python3
"""Where a VR pose's server CPU goes: stage timings in-process, and a profile of the real server.

Two parts, both about the sync load of ``bench/bench_sync.py`` (VR members in rooms of 10, head
and both hands at 30 Hz, acks riding on poses):

``stages`` (the default) drives one real :class:`~rooms.room.Room` in this process with the
same pose frames the benchmark's bots send, and times each step of the inbound and outbound
paths on its own, many times over, reporting medians of several rounds in microseconds:

* inbound: WebSocket frame parsing (websockets' sans-I/O protocol, masked client frames),
  msgpack unpack, the schema check, quantisation and the body checks, placement (walkable
  floor, seat, walking budget), the scene update, and ``Room.receive`` end to end;
* outbound: ``Room.tick`` for a room of 10 moving members (one delta, encoded once) and
  WebSocket framing of one state frame.

What this cannot see (asyncio's event loop, the websockets connection objects, the socket
system calls, the per-member writer task) is the real server's CPU per frame minus these
stages; ``profile`` measures that directly.

``profile`` runs ``bench/bench_sync.py`` for N clients, attaches ``py-spy`` (``pip install
py-spy``) to the server process for the middle of the window and sorts the samples into the
same buckets (``--raw`` keeps py-spy's collapsed stacks; ``classify FILE`` re-reads one).

    .venv/bin/python bench/profile_sync.py stages [--rounds 7]
    .venv/bin/python bench/profile_sync.py profile --clients 300 [--raw /tmp/server.txt]
    .venv/bin/python bench/profile_sync.py classify /tmp/server.txt
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from websockets.protocol import Protocol, Side, State  # noqa: E402

from avatars.placement import place  # noqa: E402
from avatars.pose import quantise_pose  # noqa: E402
from protocol import messages as m  # noqa: E402
from protocol.codec import decode, encode, pack, unpack  # noqa: E402
from protocol.pose import AvatarPose, HandMode, Part  # noqa: E402
from protocol.pose_frame import PoseFrame, decode_pose_frame  # noqa: E402
from protocol.quantise import IDENTITY_Q, pack_quat, yaw_quat  # noqa: E402
from rooms.members import Grant  # noqa: E402
from rooms.roles import Role  # noqa: E402
from rooms.room import Room  # noqa: E402
from scenes.layout import load_layout  # noqa: E402

ROOM_SIZE = 10
QUATS = [list(yaw_quat(2 * math.pi * j / 72)) for j in range(72)]
PACKED_QUATS = [pack_quat(yaw_quat(2 * math.pi * j / 72)) for j in range(72)]
IDENTITY = pack_quat(IDENTITY_Q)


# --- stages ----------------------------------------------------------------------------------


class VrRoom:
    """A room of 10 joined VR members who each send one pose per tick, acks riding on it."""

    def __init__(self) -> None:
        self.room = Room("bench-0", load_layout("private_room"))
        self.now = 1_000.0
        self.members: list[int] = []
        for i in range(ROOM_SIZE):
            mid = self.room.connect(Grant(f"bench-{i}", "bench-0", Role.BOT), self.now)
            self.room.receive(mid, encode(m.Hello(1)), self.now)
            self.room.receive(mid, encode(m.Join(f"bot-{i}")), self.now)
            self.members.append(mid)
        self.tick()
        self.k = 0

    def tick(self) -> list[Any]:
        self.now += 1 / 30
        return self.room.tick(self.now)

    def pose_frame(self, member: int, k: int) -> bytes:
        """The frame simulator/load_bot.py sends: head where it stands, hands in reach."""
        ent = self.room.scene.entities[self.room.members[member].entity or 0]
        hx, hy, hz = ent.pose.head.pos
        left = [(hx + k % 1000 - 500) / 1000, (hy - k // 1000) / 1000, hz / 1000]
        right = [(hx + 300) / 1000, (hy - 400) / 1000, hz / 1000]
        return pack(
            {
                "t": "pose",
                "p": [hx / 1000, hy / 1000, hz / 1000],
                "q": QUATS[k % len(QUATS)],
                "hm": 1,
                "lh": [*left, 0.0, 0.0, 0.0, 1.0],
                "rh": [*right, 0.0, 0.0, 0.0, 1.0],
                "ack": self.room.scene.tick,
            }
        )

    def binary_frame(self, member: int, k: int) -> bytes:
        """The same pose as a binary pose frame (what the bots send by default)."""
        ent = self.room.scene.entities[self.room.members[member].entity or 0]
        hx, hy, hz = ent.pose.head.pos
        head = Part((hx, hy, hz), PACKED_QUATS[k % len(PACKED_QUATS)])
        left = Part((hx + k % 1000 - 500, hy - k // 1000, hz), IDENTITY)
        right = Part((hx + 300, hy - 400, hz), IDENTITY)
        packed = AvatarPose(head, HandMode.CONTROLLERS, left, right).pack()
        return PoseFrame(packed, ack=self.room.scene.tick).encode()

    def round(self, *, binary: bool = False) -> list[Any]:
        """One tick's worth of traffic: every member's pose, then the tick."""
        self.k += 1
        room, now = self.room, self.now
        make = self.binary_frame if binary else self.pose_frame
        for mid in self.members:
            room.receive(mid, make(mid, self.k), now)
        return self.tick()


def _median_us(fn: Callable[[], object], n: int, rounds: int) -> tuple[float, float, float]:
    """(median, min, max) over ``rounds`` of the mean µs per call over ``n`` calls."""
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        per_call.append((time.perf_counter_ns() - t0) / n / 1000)
    return statistics.median(per_call), min(per_call), max(per_call)


def _client_frame(payload: bytes) -> bytes:
    """``payload`` as a masked binary frame from a client."""
    client = Protocol(Side.CLIENT, state=State.OPEN)
    client.send_binary(payload)
    return b"".join(client.data_to_send())


def stages(rounds: int, n: int) -> list[tuple[str, float, float, float]]:
    vr = VrRoom()
    for _ in range(30):
        vr.round()
    mid = vr.members[0]
    member = vr.room.members[mid]
    assert member.entity is not None
    entity = vr.room.scene.entities[member.entity]
    frames = [vr.pose_frame(mid, k) for k in range(64)]
    wire = [_client_frame(f) for f in frames]
    msgs = [decode(f) for f in frames]
    wanted = [quantise_pose(msg) for msg in msgs]
    layout, scene = vr.room.scene.layout, vr.room.scene
    i = 0

    def nxt() -> int:
        nonlocal i
        i = (i + 1) & 63
        return i

    server = Protocol(Side.SERVER, state=State.OPEN)

    def ws_in() -> None:
        server.receive_data(wire[nxt()])
        server.events_received()

    def schema() -> None:
        obj = unpack(frames[nxt()])
        m.Pose.SCHEMA.check_map(obj, "pose", skip="t")

    def placement() -> None:
        # A stride budget that never runs dry, so every call does the same work.
        member.stride._tokens = 1e12
        place(layout, entity.pose, wanted[nxt()], seat=None, stride=member.stride, now=vr.now)

    poses = [
        place(layout, entity.pose, w, seat=None, stride=member.stride, now=vr.now) for w in wanted
    ]

    def move() -> None:
        scene.move(member.entity or 0, poses[nxt()])

    def receive() -> None:
        # Time stands still here, so refill the message bucket as the clock would.
        member.messages._tokens = member.messages.capacity
        vr.room.receive(mid, frames[nxt()], vr.now)

    out: list[tuple[str, float, float, float]] = []

    def row(name: str, fn: Callable[[], object], calls: int = n) -> None:
        out.append((name, *_median_us(fn, calls, rounds)))

    row("in: websocket frame parse (sans-I/O)", ws_in)
    row("in: msgpack unpack", lambda: unpack(frames[nxt()]))
    row("in: unpack + schema check", schema)
    row("in: decode (size, unpack, schema)", lambda: decode(frames[nxt()]))
    row("in: quantise + body checks", lambda: quantise_pose(msgs[nxt()]))
    row("in: placement + walking budget", placement)
    row("in: scene move (packed pose, nodes)", move)
    row("in: Room.receive, whole pose", receive)

    # Outbound: a tick of a room where all 10 moved, and the framing of its state frame.
    def tick_after_moves() -> None:
        vr.round()

    rounds_per = max(1, n // 50)
    row("round: 10 x Room.receive + Room.tick", tick_after_moves, rounds_per)

    binary = [vr.binary_frame(mid, k) for k in range(64)]

    def receive_binary() -> None:
        member.messages._tokens = member.messages.capacity
        member.stride._tokens = 1e12
        vr.room.receive(mid, binary[nxt()], vr.now)

    row("in: binary pose frame decode + checks", lambda: decode_pose_frame(binary[nxt()]))
    row("in: Room.receive, binary pose", receive_binary)
    row("round, binary: 10 x Room.receive + tick", lambda: vr.round(binary=True), rounds_per)
    vr.round()
    for _ in range(ROOM_SIZE):
        vr.room.receive(mid, frames[nxt()], vr.now)
    state = next(o.data for o in vr.tick() if hasattr(o, "data"))

    def ws_out() -> None:
        server.send_binary(state)
        server.data_to_send()

    row("out: websocket framing of a state frame", ws_out)
    return out


def _print_stages(rows: list[tuple[str, float, float, float]]) -> None:
    by_name = {name: med for name, med, _, _ in rows}
    print(f"{'stage':<44} {'median us':>9} {'min':>7} {'max':>7}")
    for name, med, lo, hi in rows:
        print(f"{name:<44} {med:>9.2f} {lo:>7.2f} {hi:>7.2f}")
    whole = by_name["round: 10 x Room.receive + Room.tick"]
    recv = by_name["in: Room.receive, whole pose"]
    tick = whole - ROOM_SIZE * recv
    print(
        f"\nRoom.tick of a room of 10 moving members: about {tick:.1f} us "
        f"({tick / ROOM_SIZE:.1f} us per member, that member's one state frame included)"
    )
    if "round, binary: 10 x Room.receive + tick" in by_name:
        per = 30 / ROOM_SIZE  # rounds a second, per member
        for form, key in (
            ("map", "round: 10 x Room.receive + Room.tick"),
            ("binary", "round, binary: 10 x Room.receive + tick"),
        ):
            print(f"room CPU per VR client-second, {form} poses: {by_name[key] * per:.0f} us")


# --- profile of the real server -------------------------------------------------------------

# Buckets, first match wins: (bucket, substrings of a frame's "function (file:line)").
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("binary pose frame checks", ("protocol/pose_frame.py",)),
    (
        "poses judged at the tick",
        ("avatars/pose_batch.py", "rooms/pose_desk.py", "Room.apply_poses", "Room.pose_inputs"),
    ),
    ("pose queue", ("rooms/pose_queue.py",)),
    ("msgpack decode", ("unpack (protocol/codec.py",)),
    ("schema check", ("protocol/schema.py", "decode (protocol/codec.py")),
    ("quantise + body checks", ("avatars/pose.py", "protocol/quantise.py", "protocol/pose.py")),
    ("placement + walking budget", ("avatars/placement.py", "protocol/limits.py")),
    ("scene move (Panda3D nodes)", ("Scene.move", "Scene._place")),
    ("tick: delta + encode", ("Room.tick", "Room._publish", "Scene.advance")),
    (
        "room: receive + handlers",
        ("Room.receive", "Room._on_pose", "Room._take_ack", "Room._queue_pose"),
    ),
    (
        "outbox + websocket send",
        ("Outbox.", "Connection.send", "send_data", "write (", "framed (", "RoomHost._deliver"),
    ),
    ("websocket receive + framing", ("websockets/", "MemberConnection.")),
    ("metrics (prometheus)", ("prometheus_client",)),
    ("asyncio event loop, sockets", ("asyncio/",)),
]


def classify(raw: str) -> tuple[int, collections.Counter[str]]:
    """Sort py-spy's collapsed stacks into buckets by the innermost frame that names one."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n_text = line.rpartition(" ")
        if not stack or not n_text.isdigit():
            continue
        n = int(n_text)
        total += n
        frames = stack.split(";")
        bucket = "other"
        for frame in reversed(frames):
            hit = next((b for b, keys in BUCKETS if any(k in frame for k in keys)), None)
            if hit is not None:
                bucket = hit
                break
        counts[bucket] += n
    return total, counts


def _print_classified(total: int, counts: collections.Counter[str]) -> None:
    print(f"{'bucket':<30} {'share':>6}   ({total} samples of a busy server)")
    for bucket, n in counts.most_common():
        print(f"{bucket:<30} {100 * n / total:>5.1f}%")


def find_py_spy(given: str | None) -> str | None:
    for candidate in (given, shutil.which("py-spy"), str(Path(sys.executable).parent / "py-spy")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


async def profile(spy: str, clients: int, seconds: float, raw_path: Path | None) -> int:
    bench = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "bench" / "bench_sync.py"),
        "--clients",
        str(clients),
        "--seconds",
        str(seconds),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert bench.stdout is not None
    # The server is the benchmark's child; it is measured once every bot has joined.
    while b"running" not in await bench.stdout.readline():
        pass
    await asyncio.sleep(5)
    children_file = Path(f"/proc/{bench.pid}/task/{bench.pid}/children")
    children = (await asyncio.to_thread(children_file.read_text)).split()
    if not children:
        print("the benchmark started no server", file=sys.stderr)
        return 2
    raw_path = raw_path or Path("/tmp/profile_sync.txt")
    duration = max(1, int(seconds) - 4)
    cmd = [spy, "record", "--pid", children[0], "--duration", str(duration), "--rate", "250"]
    cmd += ["--format", "raw", "--output", str(raw_path), "--nonblocking"]
    await asyncio.to_thread(subprocess.run, cmd, check=False, capture_output=True)
    report = (await bench.stdout.read()).decode()
    await bench.wait()
    print(report[report.find("    N joined") :].split("\nus/msg")[0])
    print(f"py-spy samples: {raw_path}\n")
    _print_classified(*classify(await asyncio.to_thread(raw_path.read_text)))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = p.add_subparsers(dest="cmd")
    st = sub.add_parser("stages", help="time each step in-process (the default)")
    st.add_argument("--rounds", type=int, default=7)
    st.add_argument("--calls", type=int, default=5000)
    pr = sub.add_parser("profile", help="py-spy on the real server under bench_sync.py load")
    pr.add_argument("--clients", type=int, default=300)
    pr.add_argument("--seconds", type=float, default=12.0)
    pr.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    pr.add_argument("--py-spy", help="path to the py-spy executable")
    cl = sub.add_parser("classify", help="sort a py-spy raw file into the buckets")
    cl.add_argument("raw", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "profile":
        spy = find_py_spy(args.py_spy)
        if spy is None:
            print("py-spy not found: pip install py-spy, or pass --py-spy PATH", file=sys.stderr)
            return 2
        return asyncio.run(profile(spy, args.clients, args.seconds, args.raw))
    if args.cmd == "classify":
        _print_classified(*classify(args.raw.read_text()))
        return 0
    _print_stages(stages(getattr(args, "rounds", 7), getattr(args, "calls", 5000)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
