#!/usr/bin/env python3
"""Instructions per VR pose, counted by callgrind: independent of what else the machine runs.

Runs the in-process room of ``bench/profile_sync.py`` (10 VR members, one pose each per tick,
acks riding on poses) under ``valgrind --tool=callgrind`` twice, for ``--rounds`` and for twice
as many rounds, once per pose form; the difference divided by the extra rounds is the cost of
one round (10 poses and one tick) without the start-up. The same rounds with the frames built
but not sent (so the tick has nothing to publish) are subtracted: what is left is the room's
work for 10 poses (validation, placement, scene update) and for publishing them.

    .venv/bin/python bench/callgrind_pose.py [--rounds 200] [--tree PATH]
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
vr = VrRoom()
for _ in range(30):
    vr.round()
mode, rounds = {mode!r}, {rounds}
for _ in range(rounds):
    if mode.endswith("-build"):
        # Only what the clients do (build the frames) and the tick: subtracted from the
        # round, it leaves the server's work.
        vr.k += 1
        make = vr.binary_frame if mode == "binary-build" else vr.pose_frame
        for mid in vr.members:
            make(mid, vr.k)
        vr.tick()
    elif mode == "binary":
        vr.round(binary=True)
    else:
        vr.round()  # as an older tree's profile_sync.py has it
"""


def instructions(mode: str, rounds: int, tree: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "drive.py"
        script.write_text(_DRIVER.format(bench=str(tree / "bench"), mode=mode, rounds=rounds))
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
    args = p.parse_args()
    r = args.rounds
    per: dict[str, float] = {}
    for mode in args.modes.split(","):
        for run in (mode, f"{mode}-build"):
            one, two = instructions(run, r, args.tree), instructions(run, 2 * r, args.tree)
            per[run] = (two - one) / r
            print(f"{run:>13}: {per[run]:,.0f} instructions per round", flush=True)
    for mode in ("map", "binary"):
        if mode in per:
            # The full round's tick publishes 10 moves; the build-only round's tick publishes
            # none: the difference is the poses' work and their share of the tick.
            server = (per[mode] - per[f"{mode}-build"]) / ROOM_SIZE
            print(f"{mode:>6}: {server:,.0f} instructions per pose, its share of the tick included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
