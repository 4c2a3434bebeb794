"""Sync and media across a troubled link: pose-to-peer latency, media freezes, reconnects.

A real server process, an observer beside it, a remote member inside a network namespace of
its own behind a link with netem's troubles (``tests/network/netns_fixture.py``; in user
space, as this kernel has no sch_netem). Two runs, each on a fresh link:

- conditions: clear, delay 100 ± 50 ms, 5 % loss, reordering (a quarter of the packets skip a
  100 ms delay), delay and loss together, a 2 s blackout, clear again; the remote gives up a
  connection silent for 1.5 s, so the blackout costs it a reconnect with ``join.since``;
- ride-out: clear, the same blackout, clear; the remote waits 8 s, so TCP, ICE and DTLS carry
  the same connection and the same peer through it.

Pose-to-peer: from the remote's ``pose`` send to the first state frame at the observer that
shows it, grouped by the condition the pose was sent under. Freeze: the wait between the last
audio (video) frame the remote decoded before the blackout ended and the first one after;
recovery: from the end of the blackout to that frame. Needs root (``ip netns``).

    .venv/bin/python -m bench.bench_netem [--seconds 6] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from protocol import messages as m
from tests.network.netem_run import Outcome, Phase, percentile, run
from tests.network.netem_wire import Impairment
from tests.network.netns_fixture import BLACKOUT, CLEAR, ROUGH, open_link

DELAY = Impairment(delay_ms=100, jitter_ms=50)
LOSS = Impairment(loss=0.05)
REORDER = Impairment(delay_ms=100, reorder=0.25)
NAMES = {
    "clear": "clear",
    "delay": "delay 100 ± 50 ms",
    "loss": "loss 5 %",
    "reorder": "reorder 25 % (100 ms delay)",
    "rough": "delay 100 ± 50 ms + loss 5 %",
    "blackout": "blackout 2 s",
    "after": "clear, after the blackout",
}


def conditions(seconds: float) -> list[Phase]:
    return [
        Phase("clear", CLEAR, seconds),
        Phase("delay", DELAY, seconds),
        Phase("loss", LOSS, seconds),
        Phase("reorder", REORDER, seconds),
        Phase("rough", ROUGH, seconds),
        Phase("blackout", BLACKOUT, 2.0),
        Phase("after", CLEAR, seconds),
    ]


def ride_out(seconds: float) -> list[Phase]:
    return [
        Phase("clear", CLEAR, seconds),
        Phase("blackout", BLACKOUT, 2.0),
        Phase("after", CLEAR, seconds),
    ]


def lost_and_doubled(sent: list[str], got: list[str]) -> tuple[int, int]:
    counts = Counter(got)
    lost = sum(1 for text in sent if counts[text] == 0)
    doubled = sum(n - 1 for n in counts.values() if n > 1)
    return lost, doubled


def summary(outcome: Outcome) -> dict[str, Any]:
    remote = outcome.remote
    members = set(remote["members"])
    to_remote = [t for _, by, t in outcome.remote_chats() if by == outcome.observer_member]
    to_observer = [
        r.text for r in outcome.observer_reliable if isinstance(r, m.ChatPosted) and r.by in members
    ]
    lost_in, doubled_in = lost_and_doubled(outcome.observer_sent, to_remote)
    lost_out, doubled_out = lost_and_doubled(remote["sent"], to_observer)
    seqs = [seq for seq, *_ in remote["reliable"]]
    phases = []
    for window in outcome.windows:
        samples = outcome.latency_ms(window)
        phases.append(
            {
                "condition": NAMES[window.name],
                "poses": len(samples),
                "p50_ms": percentile(samples, 50),
                "p99_ms": percentile(samples, 99),
            }
        )
    media = {}
    for blackout in outcome.blackouts():
        for kind in ("audio", "video"):
            gap = outcome.media_gap(kind, blackout)
            media[kind] = {"freeze_s": gap[0], "recovery_s": gap[1]} if gap else None
    return {
        "phases": phases,
        "media": media,
        "reconnects": remote["reconnects"],
        "resent": remote["resent"],
        "chats": len(outcome.observer_sent) + len(remote["sent"]),
        "lost": lost_in + lost_out,
        "duplicated": doubled_in + doubled_out,
        "in_order": seqs == sorted(set(seqs)) and to_remote == outcome.observer_sent,
        "converged": outcome.converged,
    }


async def measure(seconds: float) -> dict[str, Any]:
    results = {}
    for name, phases, stale in (
        ("conditions", conditions(seconds), 1.5),
        ("ride_out", ride_out(seconds), 8.0),
    ):
        async with open_link() as link:
            with tempfile.TemporaryDirectory() as tmp:
                outcome = await run(link, phases, Path(tmp), stale=stale)
        results[name] = {"stale_s": stale, **summary(outcome)}
    return results


def show(results: dict[str, Any]) -> None:
    for name, r in results.items():
        print(f"\n{name}: the remote reconnects after {r['stale_s']} s of silence")
        print(f"{'condition':34} {'poses':>6} {'p50 ms':>7} {'p99 ms':>7}")
        for p in r["phases"]:
            if not p["poses"]:  # newest state wins: what waited out a blackout was overtaken
                print(f"{p['condition']:34} {0:6d} {'-':>7} {'-':>7}")
                continue
            print(f"{p['condition']:34} {p['poses']:6d} {p['p50_ms']:7.0f} {p['p99_ms']:7.0f}")
        for kind, gap in r["media"].items():
            if gap is None:
                print(f"{kind}: did not recover")
            else:
                print(
                    f"{kind}: freeze {gap['freeze_s']:.2f} s, recovery {gap['recovery_s']:.2f} s"
                    " after the blackout"
                )
        print(
            f"reconnects {r['reconnects']}, chats resent {r['resent']}; reliable: {r['chats']}"
            f" chats, lost {r['lost']}, duplicated {r['duplicated']}, in order {r['in_order']};"
            f" replicas converged {r['converged']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="each condition's length")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = asyncio.run(measure(args.seconds))
    show(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
