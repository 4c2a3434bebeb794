// The msgpack subset the Wealthroom protocol uses, read and written strictly.
//
// Why not a general msgpack library: the protocol needs what they hide. A decoder must tell a
// float from an integer (an int field holding 1.0 is WRONG_TYPE, as in Python), must refuse
// invalid UTF-8 and extension types, and an encoder must write a float field that happens to
// hold a whole number (a pose's 0.0) as float64, or the bytes differ from every other
// implementation's. So this module reads into plain JS values with floats boxed in
// `WireFloat`, and writes from values the schema has already typed (see codec.js).

import { ErrorCode, ProtocolError } from "./protocol.js";

/** A msgpack float as read off the wire: kept apart from integers until the schema decides. */
export class WireFloat {
  constructor(value) {
    this.value = value;
  }
}

/**
 * How many arrays and maps may nest, the message's own map included (SPEC.md, Encoding rules):
 * the protocol needs five, and 1024 is where the server's msgpack library stops, so a frame
 * between the two gets the same code (WRONG_TYPE from the schema) from both implementations.
 */
export const MAX_NESTING = 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function malformed(detail) {
  return new ProtocolError(ErrorCode.MALFORMED, detail);
}

/**
 * Parse exactly one msgpack value from `bytes` (a Uint8Array). Maps become `Map`s with string
 * keys, floats `WireFloat`s, integers numbers (or BigInts past 2^53), bin `Uint8Array`s.
 * Throws a MALFORMED ProtocolError for anything else, trailing bytes included.
 */
export function unpack(bytes) {
  const reader = new Reader(bytes);
  const value = reader.value(0);
  if (reader.pos !== bytes.length) {
    throw malformed("trailing bytes after the message");
  }
  return value;
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > this.bytes.length) {
      throw malformed("not a valid msgpack message (truncated)");
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8() {
    return this.view.getUint8(this.need(1));
  }
  u16() {
    return this.view.getUint16(this.need(2));
  }
  u32() {
    return this.view.getUint32(this.need(4));
  }

  value(depth) {
    const b = this.u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.str(b & 0x1f);
    if (b >= 0x90 && b <= 0x9f) return this.array(b & 0x0f, depth);
    if (b >= 0x80 && b <= 0x8f) return this.map(b & 0x0f, depth);
    const v = this.view;
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return this.bin(this.u8());
      case 0xc5:
        return this.bin(this.u16());
      case 0xc6:
        return this.bin(this.u32());
      case 0xca:
        return new WireFloat(v.getFloat32(this.need(4)));
      case 0xcb:
        return new WireFloat(v.getFloat64(this.need(8)));
      case 0xcc:
        return this.u8();
      case 0xcd:
        return this.u16();
      case 0xce:
        return this.u32();
      case 0xcf:
        return wide(v.getBigUint64(this.need(8)));
      case 0xd0:
        return v.getInt8(this.need(1));
      case 0xd1:
        return v.getInt16(this.need(2));
      case 0xd2:
        return v.getInt32(this.need(4));
      case 0xd3:
        return wide(v.getBigInt64(this.need(8)));
      case 0xd9:
        return this.str(this.u8());
      case 0xda:
        return this.str(this.u16());
      case 0xdb:
        return this.str(this.u32());
      case 0xdc:
        return this.array(this.u16(), depth);
      case 0xdd:
        return this.array(this.u32(), depth);
      case 0xde:
        return this.map(this.u16(), depth);
      case 0xdf:
        return this.map(this.u32(), depth);
      default:
        // 0xc1 is reserved; 0xc7-0xc9 and 0xd4-0xd8 are extension types (timestamps included).
        if ((b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8)) {
          throw malformed("msgpack extension types are not allowed");
        }
        throw malformed(`not a valid msgpack message (byte 0x${b.toString(16)})`);
    }
  }

  str(length) {
    const at = this.need(length);
    try {
      return utf8.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw malformed("invalid UTF-8 in a string");
    }
  }

  bin(length) {
    const at = this.need(length);
    return this.bytes.slice(at, at + length);
  }

  /** A container at `depth` (the message's map at 0) is the (depth + 1)-th level. */
  nest(depth) {
    if (depth >= MAX_NESTING) throw malformed("msgpack nesting too deep");
  }

  array(length, depth) {
    this.nest(depth);
    // Each element takes at least one byte: a length past the end is a lie, refuse it early
    // instead of allocating for it.
    if (length > this.bytes.length - this.pos) this.need(length);
    const out = new Array(length);
    for (let i = 0; i < length; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(length, depth) {
    this.nest(depth);
    if (length * 2 > this.bytes.length - this.pos) this.need(length * 2);
    const out = new Map();
    for (let i = 0; i < length; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string") {
        throw malformed("map keys must be strings");
      }
      out.set(key, this.value(depth + 1));
    }
    return out;
  }
}

/** 64-bit integers: a number when JavaScript holds it exactly, else a BigInt (out of range). */
function wide(big) {
  const n = Number(big);
  return Number.isSafeInteger(n) ? n : big;
}

/** Appends msgpack encodings to a growing buffer. The caller chooses each value's type. */
export class Writer {
  constructor(size = 256) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.pos = 0;
  }

  room(n) {
    if (this.pos + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.pos + n) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(b) {
    this.room(1);
    this.bytes[this.pos++] = b;
  }

  /** The finished frame (a copy sized to fit). */
  result() {
    return this.bytes.slice(0, this.pos);
  }

  nil() {
    this.byte(0xc0);
  }

  bool(value) {
    this.byte(value ? 0xc3 : 0xc2);
  }

  /** An integer in its smallest encoding: unsigned formats for >= 0, signed below (as msgpack-python). */
  int(n) {
    if (!Number.isSafeInteger(n)) {
      throw new RangeError(`not a safe integer: ${n}`);
    }
    const v = this.view;
    if (n >= 0) {
      if (n <= 0x7f) return this.byte(n);
      if (n <= 0xff) return this.head(0xcc, 1, () => v.setUint8(this.pos, n));
      if (n <= 0xffff) return this.head(0xcd, 2, () => v.setUint16(this.pos, n));
      if (n <= 0xffffffff) return this.head(0xce, 4, () => v.setUint32(this.pos, n));
      return this.head(0xcf, 8, () => v.setBigUint64(this.pos, BigInt(n)));
    }
    if (n >= -32) return this.byte(n + 0x100);
    if (n >= -0x80) return this.head(0xd0, 1, () => v.setInt8(this.pos, n));
    if (n >= -0x8000) return this.head(0xd1, 2, () => v.setInt16(this.pos, n));
    if (n >= -0x80000000) return this.head(0xd2, 4, () => v.setInt32(this.pos, n));
    return this.head(0xd3, 8, () => v.setBigInt64(this.pos, BigInt(n)));
  }

  /** Always float64, even for whole numbers: the bytes every implementation writes. */
  float64(x) {
    this.head(0xcb, 8, () => this.view.setFloat64(this.pos, x));
  }

  str(s) {
    const data = utf8Encoder.encode(s);
    const n = data.length;
    if (n <= 31) this.byte(0xa0 | n);
    else if (n <= 0xff) this.head(0xd9, 1, () => this.view.setUint8(this.pos, n));
    else if (n <= 0xffff) this.head(0xda, 2, () => this.view.setUint16(this.pos, n));
    else this.head(0xdb, 4, () => this.view.setUint32(this.pos, n));
    this.raw(data);
  }

  bin(data) {
    const n = data.length;
    if (n <= 0xff) this.head(0xc4, 1, () => this.view.setUint8(this.pos, n));
    else if (n <= 0xffff) this.head(0xc5, 2, () => this.view.setUint16(this.pos, n));
    else this.head(0xc6, 4, () => this.view.setUint32(this.pos, n));
    this.raw(data);
  }

  arrayHeader(n) {
    if (n <= 15) this.byte(0x90 | n);
    else if (n <= 0xffff) this.head(0xdc, 2, () => this.view.setUint16(this.pos, n));
    else this.head(0xdd, 4, () => this.view.setUint32(this.pos, n));
  }

  mapHeader(n) {
    if (n <= 15) this.byte(0x80 | n);
    else if (n <= 0xffff) this.head(0xde, 2, () => this.view.setUint16(this.pos, n));
    else this.head(0xdf, 4, () => this.view.setUint32(this.pos, n));
  }

  head(type, size, write) {
    this.room(1 + size);
    this.bytes[this.pos++] = type;
    write();
    this.pos += size;
  }

  raw(data) {
    this.room(data.length);
    this.bytes.set(data, this.pos);
    this.pos += data.length;
  }
}
