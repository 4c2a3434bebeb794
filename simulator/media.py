"""Thin-client bots: the hook they will plug into once rooms carry media. Not built.

A thin client draws nothing itself. It would receive the room as audio and video from the
server's media hub (``server/media/``: fan-out, shared VP8/Opus encoders, aiortc glue) and
send its microphone and camera back. The hub exists, but rooms have no media signalling yet:
``protocol/SPEC.md`` has no offer, answer or ICE messages, so a bot has nothing to negotiate
with. A bot that pretended (a silent track, a made-up stream) would only test itself, so
scenarios that ask for ``"device": "thin"`` are refused with :data:`NOT_YET`.

When signalling lands, a thin bot is a :class:`simulator.bot.Bot` whose link also carries a
:class:`MediaSession`: ``open`` negotiates over the room's WebSocket, and the runner reads
``stats`` for the report (frames and bytes received per track, the first-frame delay, freezes)
beside the pose-to-peer latency. ``simulator/scenario.py`` then accepts the device, and the
verdict gains a media check (every viewer got frames from every source it should see).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

NOT_YET = (
    "thin-client bots need media signalling in rooms, which is not built yet "
    "(see simulator/media.py)"
)


@dataclass(frozen=True, slots=True)
class TrackStats:
    source: str  # the member (or expert's speech) the track comes from
    kind: str  # "audio" or "video"
    frames: int
    bytes: int
    first_frame_s: float | None  # from open() to the first decoded frame
    freezes: int  # gaps over 500 ms between frames


class MediaSession(Protocol):
    """One thin bot's media, negotiated over its room link."""

    async def open(self) -> None: ...

    def stats(self) -> list[TrackStats]: ...

    async def close(self) -> None: ...
