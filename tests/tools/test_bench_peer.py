"""The Colyseus peer of bench/bench_peer.py starts, joins its clients and carries their poses.

A smoke test only (no timing is asserted): two load clients for one second against the peer's
own server. The first run installs the peer's npm packages (``npm ci``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.colyseus_peer import PeerPlan, ensure_installed, measure_peer_level, node_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not node_available(), reason="needs Node.js and npm"),
]


async def test_colyseus_peer_carries_poses(tmp_path: Path) -> None:
    ensure_installed()
    plan = PeerPlan(seconds=1.0, warmup=0.5, drain=0.3, room_size=2, log_dir=tmp_path)
    result = await measure_peer_level(2, plan, cpus=None)
    assert result.aborted is None, result.server_log
    assert result.connected == 2
    assert result.bytes_per_client_s > 0
    assert result.client["poses_seen_by_a_peer"] > 0
    assert result.client["undecodable_positions"] == 0
