// Protocol constants shared with the server (protocol/limits.py, protocol/codes.py).
// A node test checks these tables against protocol/SPEC.md, which the server generates.

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = `wealthroom.v${PROTOCOL_VERSION}`;
export const CLIENT_NAME = "wealthroom-web/0.1";

export const Limits = Object.freeze({
  MAX_FRAME_BYTES: 64 * 1024,
  MAX_NAME_CHARS: 64,
  MAX_CHAT_CHARS: 1000,
  MAX_REASON_CHARS: 200,
  MAX_ERROR_CHARS: 300,
  MAX_ROOM_ID_CHARS: 64,
  MAX_CLIENT_CHARS: 64,
  MAX_ENTITIES: 4096,
  MAX_SEAT_CHARS: 32,
  MAX_ID_CHARS: 40,
  MAX_LABEL_CHARS: 32,
  MAX_TITLE_CHARS: 80,
  MAX_QUESTION_CHARS: 500,
  MAX_ANSWER_CHARS: 2000,
  MAX_CHART_ITEMS: 12,
  MAX_PAGES: 200,
  MAX_SLOTS: 200,
  MAX_HOLDINGS: 100,
  MAX_BRIEF_TURNS: 6,
  MAX_BRIEF_TEXT_CHARS: 300,
  MAX_BRIEF_ITEMS: 12,
  MAX_COORD_M: 1000.0,
  MAX_SDP_CHARS: 32 * 1024,
  MAX_ICE_CHARS: 512,
  MAX_NOTICE_CHARS: 600,
  MAX_URL_CHARS: 2048,
  MAX_QR_CHARS: 48 * 1024,
  MAX_INVITE_USES: 10,
  MAX_INVITE_S: 7 * 24 * 3600,
  UINT32_MAX: 2 ** 32 - 1,
  U53_MAX: 2 ** 53 - 1,
});

/** `error.code` values. */
export const ErrorCode = Object.freeze({
  MALFORMED: 100,
  FRAME_TOO_LARGE: 101,
  TEXT_FRAME: 102,
  UNKNOWN_TYPE: 103,
  UNKNOWN_FIELD: 104,
  MISSING_FIELD: 105,
  WRONG_TYPE: 106,
  BAD_VALUE: 107,
  TOO_LONG: 108,
  UNSUPPORTED_VERSION: 109,
  MALFORMED_SDP: 110,
  NOT_JOINED: 200,
  ALREADY_DONE: 201,
  NO_SUCH_MEMBER: 202,
  SEAT_TAKEN: 203,
  NO_SUCH_SEAT: 204,
  MOVED_TOO_FAST: 205,
  WRONG_ENDPOINT: 206,
  NO_SUCH_EXPERT: 207,
  NO_SUCH_PAGE: 208,
  NO_SUCH_SCREEN: 209,
  NO_EXPERT_SPOT: 210,
  NO_MEDIA_SESSION: 211,
  MEDIA_TIMEOUT: 212,
  MEDIA_UNAVAILABLE: 213,
  NO_SUCH_INVITATION: 214,
  TOO_MANY_INVITATIONS: 215,
  NO_SUCH_SLOT: 216,
  SLOT_TAKEN: 217,
  SLOT_PAST: 218,
  SLOT_OVERLAP: 219,
  BOOKING_LIMIT: 220,
  FORBIDDEN: 300,
  RATE_LIMITED: 301,
  STEP_UP_REQUIRED: 302,
  NOT_VERIFIED: 303,
  LOCKED_OUT: 304,
  NOT_YOUR_BOOKING: 305,
  INTERNAL: 500,
});

/** WebSocket close codes: 1xxx from RFC 6455, 4xxx the server's own. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  ROOM_MOVED: 4302, // the room is hosted elsewhere: reconnect to the URL in the reason
  TOO_MANY_ERRORS: 4400,
  TOKEN_EXPIRED: 4401,
  REMOVED: 4403,
  TOKEN_INVALID: 4405,
  ROOM_NOT_ALLOWED: 4406,
  JOIN_TIMEOUT: 4408,
  SLOW_CONSUMER: 4409,
  TOO_MANY_CONNECTIONS: 4410,
  IDLE_TIMEOUT: 4411,
  LAYOUT_MISMATCH: 4412, // the token names a layout other than the live room's
  INVITE_USED_UP: 4413, // the guest link has admitted as many times as it may
  INVITE_REVOKED: 4414, // the guest link was revoked (or its guest removed)
  RATE_LIMITED: 4429,
});

/** Name of a code in one of the tables above, for logs and messages ("4403 REMOVED"). */
export function codeName(table, code) {
  const name = Object.keys(table).find((k) => table[k] === code);
  return name ?? String(code);
}

/**
 * Closes after which reconnecting cannot help: the person left, was removed, or the token
 * is no good any more (a new one must come from the bank).
 */
export const FINAL_CLOSES = new Set([
  CloseCode.NORMAL,
  CloseCode.REMOVED,
  CloseCode.TOKEN_EXPIRED,
  CloseCode.TOKEN_INVALID,
  CloseCode.ROOM_NOT_ALLOWED,
  CloseCode.LAYOUT_MISMATCH,
  CloseCode.INVITE_USED_UP,
  CloseCode.INVITE_REVOKED,
]);

/** A frame that could not be accepted; `code` is an ErrorCode, as the server would answer. */
export class ProtocolError extends Error {
  constructor(code, detail, msgType = null) {
    super(detail);
    this.name = "ProtocolError";
    this.code = code;
    this.msgType = msgType;
  }
}
