// The rule vectors of protocol/vectors.json (protocol/rule_vectors.py) through the JavaScript
// client: frames a decoder must still read, which code a frame breaking several rules gets,
// how positions round and rotations decode, and the session scripts' frames and answers.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { Direction, ProtocolError, decode } from "../js/codec.js";
import { HOLDING, ICE_SERVER, OFFERED_TRACK, PAGE, SERVER_MESSAGES } from "../js/messages.js";
import { MAX_NESTING } from "../js/msgpack.js";
import { decodePoseFrame, isPoseFrame, metresToMm, unpackQuat } from "../js/pose.js";
import { CloseCode, ErrorCode } from "../js/protocol.js";

const vectors = JSON.parse(readFileSync(new URL("../../protocol/vectors.json", import.meta.url), "utf8"));
const spec = readFileSync(new URL("../../protocol/SPEC.md", import.meta.url), "utf8");

function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function frame(vec) {
  if (vec.text !== undefined) return vec.text;
  const one = fromHex(vec.hex);
  const out = new Uint8Array(one.length * (vec.repeat ?? 1));
  for (let i = 0; i < out.length; i += one.length) out.set(one, i);
  return out;
}

/** What a server reads a client frame as: a binary pose frame by its tag, else msgpack. */
function decodeClientFrame(bytes) {
  return isPoseFrame(bytes) ? decodePoseFrame(bytes) : decode(bytes, Direction.CLIENT);
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

describe("frames a decoder must read", () => {
  assert.ok(vectors.accepted.length >= 5);
  for (const v of vectors.accepted) {
    test(`${v.name}: ${v.rule}`, () => {
      assert.deepEqual(decode(frame(v), v.direction), v.wire);
    });
  }
});

describe("precedence: one code for a frame breaking several rules", () => {
  assert.ok(vectors.precedence.length >= 20);
  for (const v of vectors.precedence) {
    test(`${v.name}: ${v.rule} -> ${v.error}`, () => {
      assert.equal(ErrorCode[v.error], v.code);
      assert.equal(codeOf(() => decode(frame(v), v.direction)), v.code);
    });
  }

  test("the nesting limit is the one SPEC.md states", () => {
    assert.ok(spec.includes(`nested more than ${MAX_NESTING} deep`));
  });
});

describe("packed pose", () => {
  test("positions: metres to millimetres, ties to even, as the server quantises", () => {
    for (const v of vectors.positions) assert.equal(metresToMm(v.m), v.mm, `${v.m} m`);
  });

  test("rotations decode as the server decodes them", () => {
    for (const v of vectors.rotations) {
      const q = unpackQuat(v.packed);
      q.forEach((c, i) => assert.ok(Math.abs(c - v.q[i]) <= 1e-12, `${v.packed}: ${q} vs ${v.q}`));
    }
  });
});

describe("session scripts", () => {
  assert.ok(vectors.sessions.length >= 8);
  for (const s of vectors.sessions) {
    test(`${s.name}: ${s.rule}`, () => {
      for (const step of s.steps) {
        // Codes 100-108 judge the frame alone: this decoder must give the same one. A frame it
        // refuses otherwise can only be one the room never read (over the rate, or closed).
        const code = codeOf(() => decodeClientFrame(fromHex(step.send)));
        const codec = step.replies
          .map((r) => r.split(":"))
          .filter(([kind, name]) => kind !== "close" && ErrorCode[name] >= 100 && ErrorCode[name] <= 108);
        // `judged: "room"`: a value the room refuses after decoding (a hand out of reach, an
        // ack ahead of the room): the decoder must accept the frame.
        if (step.judged === "room") assert.equal(code, null, step.send);
        else if (codec.length > 0) assert.equal(code, ErrorCode[codec[0][1]], step.send);
        else if (code !== null) {
          const unread = step.dropped || step.replies.length === 0 || step.replies.some((r) => r.endsWith(":RATE_LIMITED"));
          assert.ok(unread, `${step.send}: refused by this decoder, answered by the room`);
        }
        for (const reply of [...step.replies, ...(step.others ?? [])]) {
          const [kind, name] = reply.includes(":") ? reply.split(":") : ["message", reply];
          if (kind === "close") assert.ok(name in CloseCode, reply);
          else if (kind === "message") assert.ok(SERVER_MESSAGES.has(name), reply);
          else assert.ok(name in ErrorCode, reply);
        }
      }
    });
  }

  test("every frame a session says the room refuses by phase or permission decodes", () => {
    const byState = new Set(["NOT_JOINED", "ALREADY_DONE", "FORBIDDEN", "WRONG_ENDPOINT", "NOT_VERIFIED", "LOCKED_OUT"]);
    for (const s of vectors.sessions) {
      for (const step of s.steps) {
        const codes = step.replies.filter((r) => r.startsWith("error:")).map((r) => r.slice(6));
        if (codes.some((c) => byState.has(c))) {
          assert.equal(codeOf(() => decodeClientFrame(fromHex(step.send))), null, `${s.name}: ${step.send}`);
        }
      }
    }
  });
});

describe("room layouts", () => {
  test("a refused layout claim closes with a code this client knows; a kept one is welcomed", () => {
    assert.ok(vectors.layouts.length >= 5);
    for (const v of vectors.layouts) {
      if (v.close !== undefined) assert.equal(CloseCode[v.close], v.code, v.name);
      else assert.ok(v.welcome === v.live || v.welcome === (v.claim ?? v.default), v.name);
    }
    assert.ok(vectors.layouts.some((v) => v.close === "LAYOUT_MISMATCH"));
  });
});

describe("nested maps", () => {
  const section = (title) => {
    const start = spec.indexOf(`### ${title}`);
    assert.ok(start >= 0, `SPEC.md has no section ${title}`);
    const rest = spec.slice(start);
    const end = rest.indexOf("\n### ", 4);
    return rest
      .slice(0, end)
      .split("\n")
      .filter((l) => l.startsWith("| `"))
      .map((l) =>
        l
          .replaceAll("\\|", "\u0000")
          .split("|")
          .slice(1, 4)
          .map((c) => c.trim().replaceAll("\u0000", "|")),
      );
  };
  for (const struct of [HOLDING, PAGE, OFFERED_TRACK, ICE_SERVER]) {
    test(`map ${struct.name} is the one SPEC.md defines`, () => {
      const title = spec.match(new RegExp(`### (Map \`${struct.name}\` \\(in [^\\n]*\\))`))?.[1];
      assert.ok(title, `SPEC.md defines map ${struct.name}`);
      const rows = struct.fields.map((f) => [`\`${f.key}\``, f.kind.describe(), f.required ? "yes" : "no"]);
      assert.deepEqual(rows, section(title));
    });
  }
});
