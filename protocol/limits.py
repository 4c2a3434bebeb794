"""Protocol constants every implementation must agree on (mirrored in SPEC.md), and the
token bucket that enforces the rates."""

from __future__ import annotations

PROTOCOL_VERSION = 1
SUBPROTOCOL = f"wealthroom.v{PROTOCOL_VERSION}"

MAX_FRAME_BYTES = 64 * 1024
MAX_NAME_CHARS = 64
MAX_CHAT_CHARS = 1000
MAX_REASON_CHARS = 200
MAX_ERROR_CHARS = 300
MAX_ROOM_ID_CHARS = 64
MAX_CLIENT_CHARS = 64
MAX_ENTITIES = 4096
MAX_SEAT_CHARS = 32
MAX_ID_CHARS = 40  # persona, product, page and content ids
MAX_LABEL_CHARS = 32
MAX_TITLE_CHARS = 80
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 2000
MAX_CHART_ITEMS = 12
MAX_PAGES = 200
MAX_SLOTS = 200  # appointment slots in one `slots` list
MAX_HOLDINGS = 100
# An advisor's briefing: the last turns of the conversation, each text shortened, so a page
# with its briefing stays a few kilobytes.
MAX_BRIEF_TURNS = 6
MAX_BRIEF_TEXT_CHARS = 300
MAX_BRIEF_ITEMS = 12
# Media signalling: an SDP for a room of ten with data channel is ~8 kB; ICE lines are short.
MAX_SDP_CHARS = 32 * 1024
MAX_ICE_CHARS = 512
MAX_NOTICE_CHARS = 600
# A guest invitation: its link (a signed token after #) and the link's QR code as SVG.
MAX_URL_CHARS = 2048
MAX_QR_CHARS = 48 * 1024
MAX_INVITE_USES = 10
MAX_INVITE_S = 7 * 24 * 3600
# Positions: metres from the room origin on the wire inbound, millimetres outbound.
MAX_COORD_M = 1000.0
MAX_COORD_MM = 1_000_000
UINT32_MAX = 2**32 - 1


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
