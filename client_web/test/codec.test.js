// The shared vectors (protocol/vectors.json) through the JavaScript codec, both ways.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { decode as referenceDecode } from "@msgpack/msgpack";

import { Direction, ErrorCode, ProtocolError, decode, encode } from "../js/codec.js";

const vectors = JSON.parse(readFileSync(new URL("../../protocol/vectors.json", import.meta.url), "utf8"));

function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON has no binary type: the vectors write bin as {"bin": "<hex>"}; so do we to compare. */
function jsonable(value) {
  if (value instanceof Uint8Array) return { bin: toHex(value) };
  if (Array.isArray(value)) return value.map(jsonable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonable(v)]));
  }
  return value;
}

/** The reverse: a vector's wire value as the object the client would hand to encode. */
function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === "object") {
    if (Object.keys(value).length === 1 && typeof value.bin === "string") return fromHex(value.bin);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

function codeOf(fn) {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${err}`);
    return err.code;
  }
  return null;
}

describe("valid vectors", () => {
  assert.ok(vectors.valid.length >= 50);
  for (const v of vectors.valid) {
    test(`${v.name} decodes to its wire value`, () => {
      const msg = decode(fromHex(v.hex), v.direction);
      assert.deepEqual(jsonable(msg), v.wire);
    });

    test(`${v.name} re-encodes to the same bytes`, () => {
      const msg = decode(fromHex(v.hex), v.direction);
      assert.equal(toHex(encode(msg, v.direction)), v.hex);
    });

    test(`${v.name} encodes from its wire value`, () => {
      // Built from JSON, where 62.5 and 1.0 are just numbers: float fields still come out
      // as float64, which is what `float64_fields` asks of an encoder.
      assert.equal(toHex(encode(fromJson(v.wire), v.direction)), v.hex);
    });

    test(`${v.name} reads the same with an independent msgpack decoder`, () => {
      const reference = referenceDecode(fromHex(v.hex));
      assert.deepEqual(jsonable(reference), v.wire);
    });
  }
});

describe("invalid vectors", () => {
  assert.ok(vectors.invalid.length >= 40);
  for (const v of vectors.invalid) {
    test(`${v.name} is refused with ${v.error}`, () => {
      assert.equal(codeOf(() => decode(fromHex(v.hex), v.direction)), v.code);
    });
  }

  test("the client's receive direction has vectors of its own", () => {
    assert.ok(vectors.invalid.some((v) => v.direction === Direction.SERVER));
  });

  test("every frame-level vector is refused in the receive direction too", () => {
    // Frames that are broken whatever their type (not msgpack, not a map, no type) fail the
    // same way when they arrive from the server.
    const frameLevel = new Set([ErrorCode.MALFORMED, ErrorCode.MISSING_FIELD, ErrorCode.WRONG_TYPE]);
    for (const v of vectors.invalid.filter((x) => frameLevel.has(x.code) && x.direction === "client")) {
      const code = codeOf(() => decode(fromHex(v.hex), Direction.SERVER));
      if (v.code === ErrorCode.MALFORMED) assert.equal(code, v.code, v.name);
      else assert.notEqual(code, null, v.name);
    }
  });
});

describe("frame rules", () => {
  test("text frames are refused", () => {
    assert.equal(codeOf(() => decode("hello")), ErrorCode.TEXT_FRAME);
  });

  test("frames over the size limit are refused before parsing", () => {
    assert.equal(codeOf(() => decode(new Uint8Array(70_000))), ErrorCode.FRAME_TOO_LARGE);
  });

  test("a float where an int is declared is the wrong type", () => {
    // {"t": "pong", "n": 1.0}
    const frame = fromHex("82a174a4706f6e67a16ecb3ff0000000000000");
    assert.equal(codeOf(() => decode(frame)), ErrorCode.WRONG_TYPE);
  });

  test("an int where a float is declared is accepted", () => {
    const frame = encode({ t: "present", title: "x", labels: ["a"], values: [1] });
    const asInt = fromHex(toHex(frame).replace("cb3ff0000000000000", "01"));
    assert.deepEqual(decode(asInt, Direction.CLIENT).values, [1]);
  });

  test("a uint64 past 2^53 is out of range, not rounded", () => {
    // {"t": "pong", "n": 2^64 - 1}
    const frame = fromHex("82a174a4706f6e67a16ecfffffffffffffffff");
    assert.equal(codeOf(() => decode(frame)), ErrorCode.BAD_VALUE);
  });

  test("string lengths count code points, not UTF-16 units", () => {
    const name = "😀".repeat(64); // 64 code points, 128 UTF-16 units
    assert.equal(decode(encode({ t: "join", name }), Direction.CLIENT).name, name);
    assert.equal(codeOf(() => encode({ t: "join", name: name + "😀" })), ErrorCode.TOO_LONG);
  });

  test("deep nesting is malformed, not a stack overflow", () => {
    // 10,000 arrays, each holding the next: far deeper than any message.
    const deep = new Uint8Array(10_000).fill(0x91);
    assert.equal(codeOf(() => decode(deep)), ErrorCode.MALFORMED);
  });

  test("key order does not matter to the decoder", () => {
    // {"text": "hi", "t": "chat"}: keys in another order than the encoder writes them.
    const frame = fromHex("82a474657874a26869a174a463686174");
    assert.deepEqual(decode(frame, Direction.CLIENT), { t: "chat", text: "hi" });
  });
});

describe("encoding refuses what the server would refuse", () => {
  const cases = [
    [{ t: "teleport" }, ErrorCode.UNKNOWN_TYPE],
    [{ t: "pong", n: 1 }, ErrorCode.UNKNOWN_TYPE], // a server message, not ours to send
    [{ t: "chat", text: "hi", x: 1 }, ErrorCode.UNKNOWN_FIELD],
    [{ t: "chat" }, ErrorCode.MISSING_FIELD],
    [{ t: "chat", text: "" }, ErrorCode.BAD_VALUE],
    [{ t: "ack", tick: 1.5 }, ErrorCode.WRONG_TYPE],
    [{ t: "ack", tick: true }, ErrorCode.WRONG_TYPE],
    [{ t: "pose", p: [NaN, 0, 0], q: [0, 0, 0, 1] }, ErrorCode.BAD_VALUE],
    [{ t: "pose", p: [0, 0], q: [0, 0, 0, 1] }, ErrorCode.BAD_VALUE],
    [{ t: "look", look: { top: "red" } }, ErrorCode.BAD_VALUE],
    [{ t: "verify", code: 123456 }, ErrorCode.WRONG_TYPE],
  ];
  for (const [msg, code] of cases) {
    test(JSON.stringify(msg), () => assert.equal(codeOf(() => encode(msg)), code));
  }

  test("absent optional fields may be undefined or null", () => {
    assert.equal(toHex(encode({ t: "hello", v: 1, client: undefined })), "82a174a568656c6c6fa17601");
    assert.equal(toHex(encode({ t: "hello", v: 1, client: null })), "82a174a568656c6c6fa17601");
  });
});
