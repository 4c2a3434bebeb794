"""Per-member limits, pure: the caller passes the time."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.limits import MAX_FRAME_BYTES


@dataclass(frozen=True, slots=True)
class RoomLimits:
    max_frame_bytes: int = MAX_FRAME_BYTES
    # Enough for poses at 60 Hz plus acks and chat; a headset client caps its pose rate to fit.
    rate: float = 120.0
    burst: float = 240.0
    chat_rate: float = 5.0
    chat_burst: float = 10.0
    # Repeat offenders: each bad frame costs a strike; strikes refill slowly; none left closes.
    strikes: float = 20.0
    strike_refill: float = 1.0
    join_timeout_s: float = 10.0
    reliable_log: int = 2000


class TokenBucket:
    """Classic token bucket. Time may jump backwards (wall clock); that refills nothing."""

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._last = now

    def take(self, now: float, cost: float = 1.0) -> bool:
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= cost:
            self._tokens -= cost
            return True
        return False
