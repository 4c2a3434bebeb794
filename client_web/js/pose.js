// The packed pose (`x` of an entity): what one avatar's head and hands cost on the wire.
// Little-endian: u8 flags (bits 0-1 hand mode), then per part i16 x3 millimetres and a u32
// "smallest three" rotation; 11 bytes for a head alone, 31 with both hands (SPEC.md).

import { ErrorCode, ProtocolError } from "./protocol.js";

export const HandMode = Object.freeze({ NONE: 0, CONTROLLERS: 1, TRACKED: 2 });

const PART_BYTES = 10;
export const SIZE_HEAD_ONLY = 1 + PART_BYTES;
export const SIZE_WITH_HANDS = 1 + 3 * PART_BYTES;

const ROT_MASK = 0x3ff;
const ROT_MAX = ROT_MASK - 1; // 1022 levels keep 0 exact; 1023 decodes as 1022
const ROT_RANGE = 1 / Math.SQRT2;
const ROT_STEP = (2 * ROT_RANGE) / ROT_MAX;

/**
 * Metres to the packed pose's whole millimetres as the server quantises them (SPEC.md, Packed
 * pose): the product `m * 1000` in binary64, rounded to the nearest integer, ties to even.
 * (Math.round alone sends ties towards +infinity: 2.5 -> 3 where the server writes 2.)
 */
export function metresToMm(m) {
  const x = m * 1000;
  const r = Math.round(x);
  // `+ 0` turns -0 (Math.round(-0.5)) into 0.
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

/** A uint32 "smallest three" rotation as a unit quaternion [x, y, z, w]. */
export function unpackQuat(packed) {
  const largest = (packed >>> 30) & 0b11;
  const a = Math.min((packed >>> 20) & ROT_MASK, ROT_MAX) * ROT_STEP - ROT_RANGE;
  const b = Math.min((packed >>> 10) & ROT_MASK, ROT_MAX) * ROT_STEP - ROT_RANGE;
  const c = Math.min(packed & ROT_MASK, ROT_MAX) * ROT_STEP - ROT_RANGE;
  const implied = Math.sqrt(Math.max(0, 1 - a * a - b * b - c * c));
  switch (largest) {
    case 0:
      return [implied, a, b, c];
    case 1:
      return [a, implied, b, c];
    case 2:
      return [a, b, implied, c];
    default:
      return [a, b, c, implied];
  }
}

function part(view, offset) {
  const mm = [view.getInt16(offset, true), view.getInt16(offset + 2, true), view.getInt16(offset + 4, true)];
  return {
    mm,
    pos: mm.map((v) => v / 1000),
    rot: unpackQuat(view.getUint32(offset + 6, true)),
  };
}

/**
 * Decode a packed pose into `{ hands, head, left, right }`, each part `{ mm, pos, rot }`
 * (millimetres, metres, quaternion x y z w); `left`/`right` are null without hands.
 * Throws BAD_VALUE for a length or flags the server would never write.
 */
export function unpackPose(bytes) {
  if (bytes.length !== SIZE_HEAD_ONLY && bytes.length !== SIZE_WITH_HANDS) {
    throw new ProtocolError(ErrorCode.BAD_VALUE, `pose: ${bytes.length} bytes, expected 11 or 31`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint8(0);
  if (flags & ~0b11 || flags === 3) {
    throw new ProtocolError(ErrorCode.BAD_VALUE, `pose: invalid flags 0x${flags.toString(16)}`);
  }
  if ((flags === HandMode.NONE) !== (bytes.length === SIZE_HEAD_ONLY)) {
    throw new ProtocolError(ErrorCode.BAD_VALUE, "pose: length does not match the hand mode");
  }
  const head = part(view, 1);
  if (flags === HandMode.NONE) return { hands: flags, head, left: null, right: null };
  return { hands: flags, head, left: part(view, 1 + PART_BYTES), right: part(view, 1 + 2 * PART_BYTES) };
}

/** Heading about +Y (radians) of a quaternion; 0 looks along -Z. */
export function yawOf([x, y, z, w]) {
  return Math.atan2(2 * (w * y + x * z), 1 - 2 * (x * x + y * y));
}

/** Rotation about +Y as a quaternion [x, y, z, w]. */
export function yawQuat(yaw) {
  return [0, Math.sin(yaw / 2), 0, Math.cos(yaw / 2)];
}

// --- quantising and the binary pose frame (SPEC.md, "Binary pose") ---------------------------

const ROT_SCALE = ROT_MAX / (2 * ROT_RANGE);
const MIN_NORM2 = 0.25;
const REFINE_BELOW = 0.7; // left-out components under this get the closest levels
const I16 = 32767;

/**
 * A rotation [x, y, z, w] as the uint32 "smallest three" the server writes for it (the same
 * levels as protocol/quantise.py's pack_quat, the closest-levels rule included).
 * Throws BAD_VALUE for a norm under 0.5 or NaN, as the server does.
 */
export function packQuat(q) {
  const [x, y, z, w] = q;
  const n2 = x * x + y * y + z * z + w * w;
  if (!(n2 >= MIN_NORM2)) throw new ProtocolError(ErrorCode.BAD_VALUE, "rotation is not a unit quaternion");
  const abs = q.map(Math.abs);
  let largest = 3;
  if (abs[0] >= abs[1] && abs[0] >= abs[2] && abs[0] >= abs[3]) largest = 0;
  else if (abs[1] >= abs[2] && abs[1] >= abs[3]) largest = 1;
  else if (abs[2] >= abs[3]) largest = 2;
  const big = q[largest];
  const k = (big >= 0 ? 1 : -1) / Math.sqrt(n2);
  const clamp = (c) => Math.min(ROT_RANGE, Math.max(-ROT_RANGE, c));
  const [a, b, c] = q.filter((_, i) => i !== largest).map((v) => clamp(v * k));
  let levels = [a, b, c].map((v) => roundHalfEven((v + ROT_RANGE) * ROT_SCALE));
  if (big * k < REFINE_BELOW) levels = closestLevels([a, b, c], big * k, levels);
  return ((largest << 30) | (levels[0] << 20) | (levels[1] << 10) | levels[2]) >>> 0;
}

function roundHalfEven(x) {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

function dotOf([a, b, c], t, [la, lb, lc]) {
  const x = la * ROT_STEP - ROT_RANGE;
  const y = lb * ROT_STEP - ROT_RANGE;
  const z = lc * ROT_STEP - ROT_RANGE;
  const rest = 1 - x * x - y * y - z * z;
  return a * x + b * y + c * z + t * (rest > 0 ? Math.sqrt(rest) : 0);
}

function closestLevels(abc, t, levels) {
  let best = dotOf(abc, t, levels);
  let chosen = levels;
  const around = abc.map((v) => {
    const f = (v + ROT_RANGE) * ROT_SCALE;
    return [...new Set([Math.floor(f), Math.min(Math.ceil(f), ROT_MAX)])];
  });
  for (const la of around[0]) {
    for (const lb of around[1]) {
      for (const lc of around[2]) {
        const dot = dotOf(abc, t, [la, lb, lc]);
        if (dot > best) {
          best = dot;
          chosen = [la, lb, lc];
        }
      }
    }
  }
  return chosen;
}

function writePart(view, offset, pos, q) {
  for (let i = 0; i < 3; i++) view.setInt16(offset + 2 * i, Math.max(-I16, Math.min(I16, metresToMm(pos[i]))), true);
  view.setUint32(offset + 6, packQuat(q), true);
}

/**
 * The packed pose (11 or 31 bytes) for a map-form pose `{p, q, hm?, lh?, rh?}` in metres, as the
 * server quantises it. The server still checks reach and walking.
 */
export function packPose(pose) {
  const hands = pose.hm ?? HandMode.NONE;
  const out = new Uint8Array(hands === HandMode.NONE ? SIZE_HEAD_ONLY : SIZE_WITH_HANDS);
  const view = new DataView(out.buffer);
  view.setUint8(0, hands);
  writePart(view, 1, pose.p, pose.q);
  if (hands !== HandMode.NONE) {
    writePart(view, 1 + PART_BYTES, pose.lh.slice(0, 3), pose.lh.slice(3));
    writePart(view, 1 + 2 * PART_BYTES, pose.rh.slice(0, 3), pose.rh.slice(3));
  }
  return out;
}

export const POSE_TAG = 0x50;
const HAS_N = 0b0100;
const HAS_ACK = 0b1000;

/** The binary pose frame: tag, flags, the packed record's parts, then n and ack if given. */
export function encodePoseFrame(packed, { n = null, ack = null } = {}) {
  const size = 1 + packed.length + (n !== null ? 4 : 0) + (ack !== null ? 4 : 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = POSE_TAG;
  out[1] = packed[0] | (n !== null ? HAS_N : 0) | (ack !== null ? HAS_ACK : 0);
  out.set(packed.subarray(1), 2);
  let at = 1 + packed.length;
  if (n !== null) {
    view.setUint32(at, n >>> 0, true);
    at += 4;
  }
  if (ack !== null) view.setUint32(at, ack >>> 0, true);
  return out;
}

/** Is this binary frame a pose frame (not a msgpack map)? */
export function isPoseFrame(bytes) {
  return bytes.length > 0 && bytes[0] === POSE_TAG;
}

/**
 * Check a binary pose frame by itself, as the server does: `{ packed, n, ack }` (n and ack null
 * when absent), or a ProtocolError with the code the map form would get.
 */
export function decodePoseFrame(bytes) {
  const fail = (code, msg) => {
    throw new ProtocolError(code, `pose frame: ${msg}`);
  };
  if (bytes.length < 2) fail(ErrorCode.MALFORMED, "no flags byte");
  const flags = bytes[1];
  if (flags & 0xf0) fail(ErrorCode.MALFORMED, "reserved flag bits");
  const mode = flags & 0b11;
  if (mode === 3) fail(ErrorCode.BAD_VALUE, "hand mode 3");
  const end = 2 + (mode ? 3 : 1) * PART_BYTES;
  const want = end + (flags & HAS_N ? 4 : 0) + (flags & HAS_ACK ? 4 : 0);
  if (bytes.length !== want) fail(ErrorCode.MALFORMED, `${bytes.length} bytes, expected ${want}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 2; at < end; at += PART_BYTES) {
    for (let i = 0; i < 3; i++) {
      if (view.getInt16(at + 2 * i, true) === -32768) fail(ErrorCode.BAD_VALUE, "position outside +-32767 mm");
    }
    const rot = view.getUint32(at + 6, true);
    const levels = [(rot >>> 20) & ROT_MASK, (rot >>> 10) & ROT_MASK, rot & ROT_MASK];
    if (levels.some((v) => v > ROT_MAX)) fail(ErrorCode.BAD_VALUE, "rotation level 1023");
    const sum = levels.reduce((s, v) => s + (2 * v - ROT_MAX) ** 2, 0);
    if (sum > 2 * ROT_MAX * ROT_MAX) fail(ErrorCode.BAD_VALUE, "rotation is not a unit quaternion");
  }
  const packed = new Uint8Array(end - 1);
  packed[0] = mode;
  packed.set(bytes.subarray(2, end), 1);
  let at = end;
  let n = null;
  let ack = null;
  if (flags & HAS_N) {
    n = view.getUint32(at, true);
    at += 4;
  }
  if (flags & HAS_ACK) ack = view.getUint32(at, true);
  return { packed, n, ack };
}
