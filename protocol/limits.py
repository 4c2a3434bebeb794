"""Protocol constants every implementation must agree on (mirrored in SPEC.md)."""

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
# Positions: metres from the room origin on the wire inbound, millimetres outbound.
MAX_COORD_M = 1000.0
MAX_COORD_MM = 1_000_000
UINT32_MAX = 2**32 - 1
