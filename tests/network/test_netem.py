"""Sync and media across a real, troubled link: a member inside a network namespace of the test.

The remote member (``tests/network/netns_client.py``) runs beyond a link that loses 5 % of its
packets and delays each by 100 ms ± 50 ms (so they overtake each other), then goes dark for
2 s; the observer sits next to the server. Judged are the properties that must hold whatever
the timing: every reliable message arrives exactly once and in order on both sides (across a
reconnect with ``join.since`` where the blackout ends the connection), both replicas end the
same, and the observer's audio and video reach the remote again after the blackout. The
figures (pose-to-peer latency, freeze and recovery times) are printed by
``bench/bench_netem.py``, never asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol import messages as m
from tests.network.netem_run import Outcome, Phase, run
from tests.network.netns_fixture import BLACKOUT, CLEAR, ROUGH, NetnsLink, netns_link

__all__ = ["netns_link"]  # fixture, used by name

pytestmark = pytest.mark.netem


def assert_exactly_once_in_order(outcome: Outcome) -> None:
    remote = outcome.remote
    assert remote["errors"] == [], remote["errors"]
    seqs = [seq for seq, *_ in remote["reliable"]]
    assert len(seqs) == len(set(seqs)), "a reliable message reached the remote twice"
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a reliable message was lost"
    heard = [text for _, by, text in outcome.remote_chats() if by == outcome.observer_member]
    assert heard == outcome.observer_sent, "the observer's chats, at the remote"

    ours = outcome.observer_reliable
    own_seqs = [r.seq for r in ours]
    assert own_seqs == list(range(own_seqs[0], own_seqs[0] + len(own_seqs)))
    members = set(remote["members"])
    told = [r.text for r in ours if isinstance(r, m.ChatPosted) and r.by in members]
    assert told == remote["sent"], "the remote's chats, at the observer: each once, in order"
    # Both sides agree message for message where their ledgers overlap.
    theirs = {seq: (kind, text) for seq, kind, _, text in remote["reliable"]}
    for r in ours:
        if r.seq in theirs:
            assert theirs[r.seq] == (r.TYPE, getattr(r, "text", None)), r

    assert outcome.converged, "the replicas differ after the trouble"
    assert outcome.remote_exit == 0, outcome.remote_log[-2000:]


def assert_media_recovers(outcome: Outcome) -> None:
    (blackout,) = outcome.blackouts()
    for kind in ("audio", "video"):
        assert outcome.media_gap(kind, blackout) is not None, f"no {kind} after the blackout"


async def test_chats_cross_loss_jitter_and_a_blackout_once_each_in_order(
    netns_link: NetnsLink, tmp_path: Path
) -> None:
    # The remote gives up a connection silent for 1.5 s: the blackout ends it, and the remote
    # comes back with join.since and sends again what never came back.
    outcome = await run(
        netns_link,
        [
            Phase("clear", CLEAR, 1.5),
            Phase("rough", ROUGH, 4.0),
            Phase("blackout", BLACKOUT, 2.0),
            Phase("after", CLEAR, 1.5),
        ],
        tmp_path,
        stale=1.5,
    )
    assert outcome.remote["reconnects"] >= 1, "the blackout should have ended the connection"
    assert outcome.remote["fence_missed"] == 0, "the room never let the vanished member go"
    assert_exactly_once_in_order(outcome)
    assert outcome.remote["media_sessions"] == outcome.remote["reconnects"] + 1
    assert_media_recovers(outcome)


async def test_a_blackout_shorter_than_the_watchdog_is_ridden_out(
    netns_link: NetnsLink, tmp_path: Path
) -> None:
    # TCP carries the WebSocket across 2 s of nothing, and ICE and DTLS the media: the same
    # connection and the same peer resume.
    outcome = await run(
        netns_link,
        [Phase("clear", CLEAR, 1.5), Phase("blackout", BLACKOUT, 2.0), Phase("after", CLEAR, 2.0)],
        tmp_path,
        stale=8.0,
    )
    assert outcome.remote["reconnects"] == 0
    assert outcome.remote["media_sessions"] == 1
    assert_exactly_once_in_order(outcome)
    assert_media_recovers(outcome)
