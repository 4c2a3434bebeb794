#!/usr/bin/env python3
"""Instructions per VR pose, counted by callgrind: independent of what else the machine runs.

Runs the in-process room of ``bench/profile_sync.py`` (10 VR members, one pose each per tick,
acks riding on poses) under ``valgrind --tool=callgrind`` twice, for ``--rounds`` and for twice
as many rounds, once per pose form; the difference divided by the extra rounds is the cost of
one round (10 poses and one tick) without the start-up. The same rounds with the frames built
but not sent (so the tick has nothing to publish) are subtracted: what is left is the room's
work for 10 poses (validation, placement, scene update) and for publishing them.

``--rooms N`` drives N such rooms on one pose desk, as a node holds them: each round every room
receives its poses, then every room ticks (the first judges all rooms' binary poses at once).
A tree from before the desk drives the same rooms, each judging its own.

    .venv/bin/python bench/callgrind_pose.py [--rounds 200] [--rooms 1] [--tree PATH]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOM_SIZE = 10

_DRIVER = """
import sys
sys.path.insert(0, {bench!r})
from profile_sync import VrRoom
vrs = [VrRoom() for _ in range({rooms})]
try:
    from rooms.pose_desk import PoseDesk
except ImportError:  # an older tree: each room judges its own poses
    pass
else:
    desk = PoseDesk()
    for vr in vrs:
        vr.room.share_desk(desk)
for vr in vrs:
    for _ in range(30):
        vr.round()
mode, rounds = {mode!r}, {rounds}
for _ in range(rounds):
    for vr in vrs:
        vr.k += 1
        if mode.endswith("-build"):
            # Only what the clients do (build the frames): subtracted from the round, it
            # leaves the server's work.
            make = vr.binary_frame if mode == "binary-build" else vr.pose_frame
            for mid in vr.members:
                make(mid, vr.k)
        else:
            make = vr.binary_frame if mode == "binary" else vr.pose_frame
            for mid in vr.members:
                vr.room.receive(mid, make(mid, vr.k), vr.now)
    for vr in vrs:
        vr.tick()  # the first judges every room's poses when they share a desk
"""


def instructions(mode: str, rounds: int, tree: Path, rooms: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "drive.py"
        driver = _DRIVER.format(bench=str(tree / "bench"), mode=mode, rounds=rounds, rooms=rooms)
        script.write_text(driver)
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        cmd += [sys.executable, str(script)]
        done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(done.stderr[-2000:])
        return int(found.group(1))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--tree", type=Path, default=REPO)
    p.add_argument("--modes", default="map,binary")
    p.add_argument("--rooms", type=int, default=1, help="rooms of 10 on one node (one desk)")
    args = p.parse_args()
    r = args.rounds
    per: dict[str, float] = {}
    for mode in args.modes.split(","):
        for run in (mode, f"{mode}-build"):
            one = instructions(run, r, args.tree, args.rooms)
            two = instructions(run, 2 * r, args.tree, args.rooms)
            per[run] = (two - one) / r
            print(f"{run:>13}: {per[run]:,.0f} instructions per round", flush=True)
    for mode in ("map", "binary"):
        if mode in per:
            # The full round's tick publishes 10 moves; the build-only round's tick publishes
            # none: the difference is the poses' work and their share of the tick.
            server = (per[mode] - per[f"{mode}-build"]) / (ROOM_SIZE * args.rooms)
            print(f"{mode:>6}: {server:,.0f} instructions per pose, its share of the tick included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
