"""Per-member limits, pure: the caller passes the time."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.limits import MAX_FRAME_BYTES, TokenBucket

__all__ = ["RoomLimits", "TokenBucket"]


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
    # A member who does nothing (acks and pings keep a connection, not a person, alive) for
    # this long is closed: an unattended session in a bank must not stay open.
    idle_timeout_s: float = 900.0
    reliable_log: int = 2000
    # Digital experts: how many stand in the room at once (also capped by the layout's expert
    # spots), how long one stays without a question for it, how long appearing/leaving takes.
    max_experts: int = 4
    expert_idle_s: float = 300.0
    expert_transition_s: float = 0.6
    # Media signalling: a browser gathers a handful of candidates per network interface.
    ice_per_offer: int = 32
    # Recordings: how long the shell keeps them; members are told in the consent notice.
    retention_days: int = 2555
