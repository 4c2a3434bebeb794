"""A million frames at the decoder: anything but a message or a documented error is a finding.

.venv/bin/python -m fuzzing.fuzz_decoder [--frames 1000000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter

from fuzzing.frames import frames
from protocol.codec import decode
from protocol.codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.messages import Direction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    outcomes: Counter[str] = Counter()
    findings = 0
    started = time.perf_counter()
    for data in frames(args.seed, args.frames):
        for direction in Direction:
            try:
                msg = decode(data, direction)
                outcomes[f"accepted {msg.TYPE}"] += 1
            except ProtocolError as exc:
                outcomes[ErrorCode(exc.code).name] += 1
            except Exception:
                findings += 1
                if findings <= 5:
                    print(f"FINDING for frame {data.hex()}:", file=sys.stderr)
                    traceback.print_exc()
    took = time.perf_counter() - started
    total = sum(outcomes.values()) + findings
    print(f"{args.frames:,} frames x 2 directions = {total:,} decodes in {took:.1f} s")
    for outcome, n in outcomes.most_common():
        print(f"  {outcome:24} {n:>10,}")
    print(f"findings (exceptions other than the documented ones): {findings}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
