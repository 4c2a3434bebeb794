// Strict codec, the JavaScript twin of protocol/codec.py: one message per binary frame, a
// msgpack map whose `t` names its type. `decode` returns a fully checked plain object or throws
// a ProtocolError carrying the code the server would answer with; `encode` checks the message
// the same way and writes keys in catalogue order, so the bytes equal the server's.

import { Writer, unpack } from "./msgpack.js";
import { CLIENT_MESSAGES, SERVER_MESSAGES } from "./messages.js";
import { ErrorCode, Limits, ProtocolError } from "./protocol.js";

export { CloseCode, ErrorCode, FINAL_CLOSES, ProtocolError, SUBPROTOCOL, PROTOCOL_VERSION, codeName } from "./protocol.js";

const TYPE_KEY = "t";

/** Frames we send go to the server ("client" direction); frames we read come from it. */
export const Direction = Object.freeze({ CLIENT: "client", SERVER: "server" });

function table(direction) {
  if (direction === Direction.CLIENT) return CLIENT_MESSAGES;
  if (direction === Direction.SERVER) return SERVER_MESSAGES;
  throw new TypeError(`unknown direction ${direction}`);
}

function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("a frame is bytes");
}

/**
 * Decode and check one frame sent in `direction` (by default, one from the server).
 * Bin fields come back as Uint8Array, colours in lower case, absent optional fields absent.
 */
export function decode(data, direction = Direction.SERVER, { maxBytes = Limits.MAX_FRAME_BYTES } = {}) {
  if (typeof data === "string") {
    throw new ProtocolError(ErrorCode.TEXT_FRAME, "text frames are not accepted; send one binary msgpack frame");
  }
  const bytes = asBytes(data);
  if (bytes.length > maxBytes) {
    throw new ProtocolError(ErrorCode.FRAME_TOO_LARGE, `frame of ${bytes.length} bytes, at most ${maxBytes}`);
  }
  if (bytes.length === 0) throw new ProtocolError(ErrorCode.MALFORMED, "empty frame");
  const obj = unpack(bytes);
  if (!(obj instanceof Map)) throw new ProtocolError(ErrorCode.MALFORMED, "a message must be a msgpack map");
  if (!obj.has(TYPE_KEY)) throw new ProtocolError(ErrorCode.MISSING_FIELD, "missing field 't' (message type)");
  const type = obj.get(TYPE_KEY);
  if (typeof type !== "string") throw new ProtocolError(ErrorCode.WRONG_TYPE, "field 't' must be a string");
  const schema = table(direction).get(type);
  if (schema === undefined) {
    throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, `unknown message type '${type.slice(0, 32)}'`);
  }
  try {
    return schema.checkMap(obj, type, TYPE_KEY, { t: type });
  } catch (err) {
    // Tag the error with the message type, as the server's error frames name it.
    if (err instanceof ProtocolError && err.msgType === null) err.msgType = type;
    throw err;
  }
}

/**
 * Encode `message` (a plain object with `t`) as a frame sent in `direction` (by default, to
 * the server). Throws a ProtocolError for anything the other side would refuse.
 */
export function encode(message, direction = Direction.CLIENT) {
  const type = message?.[TYPE_KEY];
  const schema = typeof type === "string" ? table(direction).get(type) : undefined;
  if (schema === undefined) {
    throw new ProtocolError(ErrorCode.UNKNOWN_TYPE, `unknown message type '${String(type).slice(0, 32)}'`);
  }
  const w = new Writer();
  try {
    const present = schema.writeFields(w, message, type, TYPE_KEY);
    w.mapHeader(present.length + 1);
    w.str(TYPE_KEY);
    w.str(type);
    for (const f of present) {
      w.str(f.key);
      f.kind.write(w, message[f.key], `${type}.${f.key}`);
    }
  } catch (err) {
    if (err instanceof ProtocolError && err.msgType === null) err.msgType = type;
    throw err;
  }
  return w.result();
}

/** Whether a server message type is reliable (carries `seq`). */
export { RELIABLE } from "./messages.js";
