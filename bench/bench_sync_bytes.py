"""Bytes on the wire for scene sync, ours against a naive encoding, in one run.

Drives the real room core in-process (no sockets: the figures are the frames' payload sizes)
with scripted members that acknowledge every frame one tick later, as on a good link:

- a private room with 10 VR members moving head and both hands continuously at 30 Hz;
- the same room when nobody moves;
- a 50-member seminar and a 200-member branch lobby, with and without interest management.

"Naive" is what a straightforward server sends: every tick, every member gets a full msgpack
snapshot of every avatar with float64 positions and rotations and readable keys.

    .venv/bin/python bench/bench_sync_bytes.py [--seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

from protocol import messages as m
from protocol.codec import encode
from protocol.quantise import mm_to_pos, unpack_quat
from rooms.dispatch import frames_of
from rooms.interest import POLICIES, InterestPolicy
from rooms.limits import RoomLimits
from rooms.members import Grant
from rooms.roles import Role
from rooms.room import Room
from scenes.layout import load_layout

TICK_HZ = 30
Vec3 = tuple[float, float, float]
# (member index, its head where it arrived, t) -> the pose to send, if any
Motion = Callable[[int, Vec3, float], m.Pose | None]


@dataclass
class Result:
    name: str
    members: int
    ours_bps: float
    naive_bps: float
    tick_us: float
    encodes_per_tick: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.naive_bps / self.ours_bps if self.ours_bps else math.inf


def _naive_snapshot(room: Room) -> bytes:
    avatars = []
    for e in room.scene.entities.values():
        pose = e.pose

        def part(p: Any) -> dict[str, list[float]]:
            x, y, z, w = unpack_quat(p.rot)
            return {"position": list(mm_to_pos(p.pos)), "rotation": [x, y, z, w]}

        avatars.append(
            {
                "id": e.id,
                "kind": e.kind,
                "member": e.member,
                "name": e.name,
                "role": e.role,
                "seat": e.seat,
                "appearance": {k: v for k, v in vars_of(e.look).items() if v is not None},
                "hand_mode": int(pose.hands),
                "head": part(pose.head),
                "left_hand": part(pose.left) if pose.left else None,
                "right_hand": part(pose.right) if pose.right else None,
            }
        )
    data: bytes = msgpack.packb({"type": "snapshot", "tick": room.scene.tick, "avatars": avatars})
    return data


def vars_of(look: m.Look) -> dict[str, Any]:
    return {f: getattr(look, f) for f in look.__dataclass_fields__}


def run(
    name: str,
    layout: str,
    members: int,
    motion: Motion,
    *,
    seconds: float,
    interest: InterestPolicy | None,
    sit: bool = False,
) -> Result:
    room = Room(
        "bench",
        load_layout(layout),
        tick_hz=TICK_HZ,
        limits=RoomLimits(rate=1e9, burst=1e9, strikes=1e9),
        interest=interest,
    )
    now = 1000.0
    ids = []
    for i in range(members):
        mid = room.connect(Grant(f"u{i}", "bench", Role.GUEST), now)
        room.receive(mid, encode(m.Hello(1)), now)
        room.receive(mid, encode(m.Join(f"Member {i}")), now)
        ids.append(mid)
    if sit:
        free = [
            s.id
            for s in room.scene.layout.seats
            if s.id not in {mb.seat for mb in room.members.values()}
        ]
        for mid, seat in zip(ids, free, strict=False):
            if room.members[mid].seat is None:
                room.receive(mid, encode(m.Sit(seat)), now)
    anchors = [mm_to_pos(room.scene.entities[room.members[mid].entity or 0].pos) for mid in ids]
    # Warm up: everyone has its snapshot and acks it.
    for _ in range(3):
        now += 1 / TICK_HZ
        for out in frames_of(room.tick(now)):
            for mid in out.to:
                room.receive(mid, encode(m.Ack(room.scene.tick)), now)

    ticks = int(seconds * TICK_HZ)
    ours = naive = encodes = errors = 0
    spent = 0.0
    pending_acks: list[tuple[int, int]] = []
    for k in range(ticks):
        now += 1 / TICK_HZ
        t = k / TICK_HZ
        for mid, tick in pending_acks:
            room.receive(mid, encode(m.Ack(tick)), now)
        for i, mid in enumerate(ids):
            pose = motion(i, anchors[i], t)
            if pose is not None:
                # Poses are answered only when refused.
                errors += len(frames_of(room.receive(mid, encode(pose), now)))

        started = time.perf_counter()
        outputs = room.tick(now)
        spent += time.perf_counter() - started
        pending_acks = []
        for out in frames_of(outputs):
            encodes += 1
            ours += len(out.data) * len(out.to)
            pending_acks += [(mid, room.scene.tick) for mid in out.to]
        naive += len(_naive_snapshot(room)) * len(ids)
    per_member = members * seconds
    return Result(
        name,
        members,
        ours / per_member,
        naive / per_member,
        spent / ticks * 1e6,
        encodes / ticks,
        {"refused poses": errors},
    )


def vr_motion(seed: int) -> Motion:
    """Head sway and both hands gesturing, as a seated or standing headset user does."""
    rng = random.Random(seed)
    phases = [rng.random() * 6.28 for _ in range(4096)]

    def motion(i: int, anchor: Vec3, t: float) -> m.Pose:
        ax, ay, az = anchor
        ph = phases[i]
        yaw = 0.4 * math.sin(0.7 * t + ph)
        head = (ax + 0.05 * math.sin(1.3 * t + ph), ay + 0.02 * math.sin(2.1 * t + ph), az)
        q = (0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2))

        def hand(side: float) -> tuple[float, ...]:
            return (
                head[0] + side * 0.25 + 0.1 * math.sin(2.0 * t + ph + side),
                head[1] - 0.45 + 0.1 * math.sin(1.7 * t + ph),
                head[2] - 0.3,
                0.0,
                0.0,
                0.0,
                1.0,
            )

        return m.Pose(head, q, 1, hand(-1.0), hand(1.0))

    return motion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    s = args.seconds

    def still(i: int, anchor: Vec3, t: float) -> None:
        return None

    def stroll(i: int, anchor: Vec3, t: float) -> m.Pose:
        # Lobby visitors walk slow circles around where they came in: head only (phones).
        x, y, z = anchor
        a = 0.5 * t + i
        p = (
            x + 0.6 * math.cos(a) - 0.6 * math.cos(i),
            y,
            z + 0.6 * math.sin(a) - 0.6 * math.sin(i),
        )
        return m.Pose(p, (0.0, math.sin(a / 2), 0.0, math.cos(a / 2)))

    results = [
        run(
            "private room, 10 VR members moving",
            "private_room",
            10,
            vr_motion(1),
            seconds=s,
            interest=None,
        ),
        run(
            "private room, 10 members, nobody moves",
            "private_room",
            10,
            still,
            seconds=s,
            interest=None,
        ),
    ]
    big_rooms: list[tuple[str, str, int, Motion, bool]] = [
        ("seminar, 50 seated VR members", "seminar_room", 50, vr_motion(2), True),
        ("lobby, 200 walking members", "branch_lobby", 200, stroll, False),
    ]
    for title, layout, members, motion, sit in big_rooms:
        for interest in (None, POLICIES[layout]):
            label = "with" if interest else "without"
            name = f"{title}, {label} interest management"
            results.append(
                run(name, layout, members, motion, seconds=s, interest=interest, sit=sit)
            )

    head = ("scenario", "ours B/s", "naive B/s", "ratio", "tick us", "enc/tick", "refused")
    print(
        f"{head[0]:58} {head[1]:>10} {head[2]:>11} {head[3]:>7} {head[4]:>8} {head[5]:>8}"
        f" {head[6]:>7}"
    )
    for r in results:
        print(
            f"{r.name:58} {r.ours_bps:10.0f} {r.naive_bps:11.0f} {r.ratio:6.1f}x"
            f" {r.tick_us:8.0f} {r.encodes_per_tick:8.2f} {r.extra['refused poses']:7d}"
        )
    print(
        "(bytes per member per second, payload only; tick us = room.tick CPU time, this machine;"
        " refused = poses the room answered with an error, e.g. a stroll into furniture)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([vars(r) | {"ratio": r.ratio} for r in results], fh, indent=1)


if __name__ == "__main__":
    main()
