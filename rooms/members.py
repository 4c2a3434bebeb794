"""A member as the room sees it: what its token granted, where it is in the session, its limits."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum

from avatars.placement import stride_budget
from rooms.limits import RoomLimits, TokenBucket
from rooms.roles import Role


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token proves about a connection."""

    subject: str  # stable user id from the bank's identity system
    room: str
    role: Role
    name: str | None = None  # suggested display name
    risk: int | None = None  # suitability profile C1-C5 as 1-5; None: not assessed
    language: str | None = None  # preferred language, "en", "zh" or "yue"
    layout: str | None = None  # the layout the token asks the room to have; None: any
    invite: str | None = None  # a guest's: the invitation whose link admitted them


class Phase(Enum):
    CONNECTED = "connected"  # socket open, no hello yet
    GREETED = "greeted"  # hello accepted, welcome sent
    JOINED = "joined"  # in the room: receives state and reliable frames
    GONE = "gone"


@dataclass(slots=True)
class Member:
    id: int
    grant: Grant
    connected_at: float
    limits: RoomLimits
    phase: Phase = Phase.CONNECTED
    name: str = ""
    entity: int | None = None
    spawn: str | None = None
    seat: str | None = None
    # Ticks of recent frames that carried the whole view; only these may become the baseline.
    full_ticks: deque[int] = field(default_factory=lambda: deque(maxlen=128))
    acked: int | None = None
    pose_n: int | None = None  # newest pose counter seen (data channel poses may overtake)
    last_rate_error: float = float("-inf")
    last_move_error: float = float("-inf")
    last_active: float = field(init=False)
    messages: TokenBucket = field(init=False)
    chats: TokenBucket = field(init=False)
    strikes: TokenBucket = field(init=False)
    stride: TokenBucket = field(init=False)  # walking budget, millimetres

    def __post_init__(self) -> None:
        lim, now = self.limits, self.connected_at
        self.messages = TokenBucket(lim.rate, lim.burst, now)
        self.chats = TokenBucket(lim.chat_rate, lim.chat_burst, now)
        self.strikes = TokenBucket(lim.strike_refill, lim.strikes, now)
        self.stride = stride_budget(now)
        self.last_active = now

    @property
    def role(self) -> Role:
        return self.grant.role
