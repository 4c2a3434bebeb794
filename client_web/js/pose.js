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
