"""The profile's buckets: each py-spy stack counts once, under the innermost frame that names
a bucket, so a pose frame's checks called from the room are not the room's own time."""

from __future__ import annotations

from bench.profile_sync import classify

ROOM = "Room.receive (rooms/room.py:433)"
FRAME = "decode_pose_frame (protocol/pose_frame.py:70)"
LOOP = "Runner.run (asyncio/runners.py:118)"
PARSE = "parse (websockets/frames.py:120)"


def test_each_stack_counts_under_its_innermost_bucket() -> None:
    raw = "\n".join(
        [
            f"main;{LOOP};{ROOM};{FRAME} 7",
            f"main;{LOOP};{ROOM} 3",
            f"main;{LOOP};{PARSE} 5",
            f"main;{LOOP} 2",
            "main;somewhere_else (x.py:1) 1",
            "not a sample line",
        ]
    )
    total, counts = classify(raw)
    assert total == 18
    assert counts == {
        "binary pose frame checks": 7,
        "room: receive + handlers": 3,
        "websocket receive + framing": 5,
        "asyncio event loop, sockets": 2,
        "other": 1,
    }
