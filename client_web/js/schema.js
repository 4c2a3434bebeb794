// Field types of the message catalogue, mirroring protocol/schema.py. Each kind checks a value
// read off the wire (`check`) and writes a value the client sends (`write`), with the same
// limits and the same error codes either way; `describe` renders it as SPEC.md does, which
// lets a test compare this catalogue with the server's.

import { WireFloat } from "./msgpack.js";
import { ErrorCode, ProtocolError } from "./protocol.js";

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

function fail(code, detail) {
  return new ProtocolError(code, detail);
}

/** The msgpack type of a decoded value, worded as the Python server words it. */
export function typeName(value) {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number" || typeof value === "bigint") return "int";
  if (value instanceof WireFloat) return "float";
  if (typeof value === "string") return "str";
  if (value instanceof Uint8Array) return "bin";
  if (Array.isArray(value)) return "array";
  if (value instanceof Map) return "map";
  return typeof value;
}

/** Unicode code points in `s`: what the protocol's string lengths count. */
export function codePoints(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Python's `format(x, "g")` for the bounds SPEC.md prints (1000, -1.01, 1e+15). */
function formatG(x) {
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) {
    const [mant, exp] = x.toExponential().split("e");
    const sign = exp.startsWith("-") ? "-" : "+";
    const digits = exp.replace(/^[+-]/, "").padStart(2, "0");
    return `${mant}e${sign}${digits}`;
  }
  return String(x);
}

function isInt(value) {
  return typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value));
}

export class Int {
  constructor(lo = INT64_MIN, hi = UINT64_MAX) {
    this.lo = lo;
    this.hi = hi;
  }
  inRange(value) {
    // Compare as BigInt when either side is one, so 2^64-1 and friends stay exact.
    if (typeof value === "bigint" || typeof this.lo === "bigint" || typeof this.hi === "bigint") {
      const v = BigInt(value);
      return BigInt(this.lo) <= v && v <= BigInt(this.hi);
    }
    return this.lo <= value && value <= this.hi;
  }
  check(value, path) {
    if (!isInt(value)) throw fail(ErrorCode.WRONG_TYPE, `${path}: expected int, got ${typeName(value)}`);
    if (!this.inRange(value)) throw fail(ErrorCode.BAD_VALUE, `${path}: ${value} outside [${this.lo}, ${this.hi}]`);
    return value;
  }
  write(w, value, path) {
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      throw fail(ErrorCode.WRONG_TYPE, `${path}: expected int, got ${typeName(value)}`);
    }
    this.check(value, path);
    w.int(value);
  }
  describe() {
    return `int [${this.lo}, ${this.hi}]`;
  }
}

export class Float {
  constructor(lo, hi) {
    this.lo = lo;
    this.hi = hi;
  }
  check(value, path) {
    let number;
    if (value instanceof WireFloat) number = value.value;
    // JavaScript encoders write 2.0 as the integer 2, so integers are floats too.
    else if (isInt(value)) number = Number(value);
    else throw fail(ErrorCode.WRONG_TYPE, `${path}: expected float, got ${typeName(value)}`);
    return this.bounded(number, path);
  }
  bounded(number, path) {
    if (!Number.isFinite(number)) throw fail(ErrorCode.BAD_VALUE, `${path}: not a finite number`);
    if (!(this.lo <= number && number <= this.hi)) {
      throw fail(ErrorCode.BAD_VALUE, `${path}: ${number} outside [${this.lo}, ${this.hi}]`);
    }
    return number;
  }
  write(w, value, path) {
    if (typeof value !== "number") throw fail(ErrorCode.WRONG_TYPE, `${path}: expected float, got ${typeName(value)}`);
    w.float64(this.bounded(value, path));
  }
  describe() {
    return `float, finite, [${formatG(this.lo)}, ${formatG(this.hi)}]`;
  }
}

export class Str {
  constructor(maxLen, minLen = 0) {
    this.maxLen = maxLen;
    this.minLen = minLen;
  }
  check(value, path) {
    if (typeof value !== "string") throw fail(ErrorCode.WRONG_TYPE, `${path}: expected str, got ${typeName(value)}`);
    const n = codePoints(value);
    if (n > this.maxLen) throw fail(ErrorCode.TOO_LONG, `${path}: ${n} characters, at most ${this.maxLen}`);
    if (n < this.minLen) throw fail(ErrorCode.BAD_VALUE, `${path}: at least ${this.minLen} characters`);
    return value;
  }
  write(w, value, path) {
    w.str(this.check(value, path));
  }
  describe() {
    return `str, ${this.minLen}..${this.maxLen} code points`;
  }
}

export class Bool {
  check(value, path) {
    if (typeof value !== "boolean") throw fail(ErrorCode.WRONG_TYPE, `${path}: expected bool, got ${typeName(value)}`);
    return value;
  }
  write(w, value, path) {
    w.bool(this.check(value, path));
  }
  describe() {
    return "bool";
  }
}

/** A fixed-length array of one kind (a position, a quaternion). */
export class Vec {
  constructor(item, length) {
    this.item = item;
    this.length = length;
  }
  checkShape(value, path) {
    if (!Array.isArray(value)) throw fail(ErrorCode.WRONG_TYPE, `${path}: expected array, got ${typeName(value)}`);
    if (value.length !== this.length) {
      throw fail(ErrorCode.BAD_VALUE, `${path}: expected ${this.length} elements, got ${value.length}`);
    }
  }
  check(value, path) {
    this.checkShape(value, path);
    return value.map((v, i) => this.item.check(v, `${path}[${i}]`));
  }
  write(w, value, path) {
    this.checkShape(value, path);
    w.arrayHeader(value.length);
    value.forEach((v, i) => this.item.write(w, v, `${path}[${i}]`));
  }
  describe() {
    return `array of ${this.length} x (${this.item.describe()})`;
  }
}

export class ListOf {
  constructor(item, maxLen) {
    this.item = item;
    this.maxLen = maxLen;
  }
  checkShape(value, path) {
    if (!Array.isArray(value)) throw fail(ErrorCode.WRONG_TYPE, `${path}: expected array, got ${typeName(value)}`);
    if (value.length > this.maxLen) {
      throw fail(ErrorCode.TOO_LONG, `${path}: ${value.length} elements, at most ${this.maxLen}`);
    }
  }
  check(value, path) {
    this.checkShape(value, path);
    return value.map((v, i) => this.item.check(v, `${path}[${i}]`));
  }
  write(w, value, path) {
    this.checkShape(value, path);
    w.arrayHeader(value.length);
    value.forEach((v, i) => this.item.write(w, v, `${path}[${i}]`));
  }
  describe() {
    return `array of at most ${this.maxLen} x (${this.item.describe()})`;
  }
}

/** A string from a fixed set: an enum on the wire. */
export class OneOf {
  constructor(values) {
    this.values = new Set(values);
  }
  check(value, path) {
    if (typeof value !== "string") throw fail(ErrorCode.WRONG_TYPE, `${path}: expected str, got ${typeName(value)}`);
    if (!this.values.has(value)) {
      throw fail(ErrorCode.BAD_VALUE, `${path}: '${value.slice(0, 32)}' is not one of ${[...this.values].sort().join(", ")}`);
    }
    return value;
  }
  write(w, value, path) {
    w.str(this.check(value, path));
  }
  describe() {
    return `one of ${[...this.values].sort().map((v) => `\`${v}\``).join(", ")}`;
  }
}

const COLOUR = /^#[0-9a-fA-F]{6}$/;

/** An sRGB colour as `#rrggbb`; read back in lower case, as the server keeps it. */
export class Colour {
  check(value, path) {
    if (typeof value !== "string") throw fail(ErrorCode.WRONG_TYPE, `${path}: expected str, got ${typeName(value)}`);
    if (!COLOUR.test(value)) throw fail(ErrorCode.BAD_VALUE, `${path}: expected a colour like #1f3a5f`);
    return value.toLowerCase();
  }
  write(w, value, path) {
    this.check(value, path);
    w.str(value);
  }
  describe() {
    return "str `#rrggbb`";
  }
}

/** Opaque binary (msgpack bin): the packed pose. */
export class Bytes {
  constructor(minLen, maxLen) {
    this.minLen = minLen;
    this.maxLen = maxLen;
  }
  check(value, path) {
    if (!(value instanceof Uint8Array)) throw fail(ErrorCode.WRONG_TYPE, `${path}: expected bin, got ${typeName(value)}`);
    if (value.length < this.minLen || value.length > this.maxLen) {
      throw fail(ErrorCode.BAD_VALUE, `${path}: ${value.length} bytes, expected ${this.minLen}..${this.maxLen}`);
    }
    return value;
  }
  write(w, value, path) {
    w.bin(this.check(value, path));
  }
  describe() {
    return `bin, ${this.minLen}..${this.maxLen} bytes`;
  }
}

/** One declared key of a map. */
export function field(key, kind, required = true) {
  return Object.freeze({ key, kind, required });
}

/** A msgpack map with declared string keys; read into a plain object in declaration order. */
export class Struct {
  constructor(name, fields) {
    this.name = name;
    this.fields = fields;
    this.byKey = new Map(fields.map((f) => [f.key, f]));
  }
  check(value, path) {
    if (!(value instanceof Map)) throw fail(ErrorCode.WRONG_TYPE, `${path}: expected map, got ${typeName(value)}`);
    return this.checkMap(value, path, "", {});
  }
  /** `out` receives the fields (the message's `t` is put there first by the codec). */
  checkMap(map, path, skip, out) {
    for (const key of map.keys()) {
      if (!this.byKey.has(key) && key !== skip) {
        throw fail(ErrorCode.UNKNOWN_FIELD, `${path}: unknown field '${key}'`);
      }
    }
    for (const f of this.fields) {
      if (map.has(f.key)) out[f.key] = f.kind.check(map.get(f.key), `${path}.${f.key}`);
      else if (f.required) throw fail(ErrorCode.MISSING_FIELD, `${path}: missing field '${f.key}'`);
    }
    return out;
  }
  present(obj, path) {
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      throw fail(ErrorCode.WRONG_TYPE, `${path}: expected map, got ${typeName(obj)}`);
    }
    return this.fields.filter((f) => obj[f.key] !== undefined && obj[f.key] !== null);
  }
  /** Write `obj`'s fields in declaration order; absent (undefined or null) optional ones left out. */
  writeFields(w, obj, path, skip) {
    for (const key of Object.keys(obj)) {
      if (!this.byKey.has(key) && key !== skip) {
        throw fail(ErrorCode.UNKNOWN_FIELD, `${path}: unknown field '${key}'`);
      }
    }
    const present = this.present(obj, path);
    for (const f of this.fields) {
      if (f.required && !present.includes(f)) throw fail(ErrorCode.MISSING_FIELD, `${path}: missing field '${f.key}'`);
    }
    return present;
  }
  write(w, obj, path) {
    const present = this.writeFields(w, obj, path, "");
    w.mapHeader(present.length);
    for (const f of present) {
      w.str(f.key);
      f.kind.write(w, obj[f.key], `${path}.${f.key}`);
    }
  }
  describe() {
    return `map (${this.name})`;
  }
}
