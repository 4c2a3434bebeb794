"""Error and close codes shared with every client (tables mirrored in SPEC.md and vectors.json)."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Code carried by an ``error`` frame. The connection stays open unless a close follows."""

    # 100s: the frame itself could not be accepted.
    MALFORMED = 100
    FRAME_TOO_LARGE = 101
    TEXT_FRAME = 102
    UNKNOWN_TYPE = 103
    UNKNOWN_FIELD = 104
    MISSING_FIELD = 105
    WRONG_TYPE = 106
    BAD_VALUE = 107
    TOO_LONG = 108
    UNSUPPORTED_VERSION = 109
    MALFORMED_SDP = 110  # an answer or ICE candidate that does not parse
    # 200s: the message was well formed but does not fit the session's state.
    NOT_JOINED = 200
    ALREADY_DONE = 201
    NO_SUCH_MEMBER = 202
    SEAT_TAKEN = 203
    NO_SUCH_SEAT = 204
    MOVED_TOO_FAST = 205
    WRONG_ENDPOINT = 206  # a console message sent to a room, or the reverse
    NO_SUCH_EXPERT = 207
    NO_SUCH_PAGE = 208  # unknown, or already taken by another advisor
    NO_SUCH_SCREEN = 209
    NO_EXPERT_SPOT = 210  # the layout has no room for digital experts
    NO_MEDIA_SESSION = 211  # answer or ICE without media started, or for an older offer
    MEDIA_TIMEOUT = 212  # the member's media did not connect in time; start again
    MEDIA_UNAVAILABLE = 213  # this server has no media (or no room left for another peer)
    NO_SUCH_INVITATION = 214  # revoke names no open invitation of this room
    TOO_MANY_INVITATIONS = 215  # the room has as many open invitations as it allows
    NO_SUCH_SLOT = 216  # no appointment slot with that id (or not one you can see)
    SLOT_TAKEN = 217  # the slot is booked by someone else
    SLOT_PAST = 218  # the slot (or the new time) has begun or is over
    SLOT_OVERLAP = 219  # overlaps another slot of the advisor, or another booking of yours
    BOOKING_LIMIT = 220  # as many bookings ahead as a customer may hold
    # 300s: the member may not do this, or not this often.
    FORBIDDEN = 300
    RATE_LIMITED = 301
    STEP_UP_REQUIRED = 302  # verify with the second factor first
    NOT_VERIFIED = 303  # the verification failed; which factor is never said
    LOCKED_OUT = 304  # too many failed verifications; wait, or call the bank
    NOT_YOUR_BOOKING = 305  # another customer's booking, or another advisor's slot
    # 500s: our fault; details stay in the server log.
    INTERNAL = 500


class CloseCode(IntEnum):
    """WebSocket close codes. 1xxx are RFC 6455; 4xxx are ours (4000-4999 is the private range)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    ROOM_MOVED = 4302  # the room is hosted elsewhere: reconnect to the URL in the reason
    TOO_MANY_ERRORS = 4400
    TOKEN_EXPIRED = 4401
    REMOVED = 4403
    TOKEN_INVALID = 4405
    ROOM_NOT_ALLOWED = 4406
    JOIN_TIMEOUT = 4408
    SLOW_CONSUMER = 4409
    TOO_MANY_CONNECTIONS = 4410
    IDLE_TIMEOUT = 4411
    LAYOUT_MISMATCH = 4412  # the token names a layout other than the live room's
    INVITE_USED_UP = 4413  # the guest link has admitted as many times as it may
    INVITE_REVOKED = 4414  # the guest link was revoked (or its guest removed)
    RATE_LIMITED = 4429
