// The binary pose frame against the shared vectors: the same frames, packed records and codes
// as the server (protocol/pose_frame.py), and the same quantisation of the map form's floats.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { Direction, decode } from "../js/codec.js";
import { POSE_TAG, decodePoseFrame, encodePoseFrame, isPoseFrame, packPose } from "../js/pose.js";
import { ProtocolError } from "../js/protocol.js";

const vectors = JSON.parse(readFileSync(new URL("../../protocol/vectors.json", import.meta.url), "utf8"));
const frames = vectors.pose_frames;

const fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function codeOf(fn) {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProtocolError) return e.code;
    throw e;
  }
  return null;
}

describe("binary pose frames", () => {
  test("the tag is the one the vectors use, and never starts a msgpack map", () => {
    assert.equal(frames.tag, POSE_TAG);
    assert.ok(!(POSE_TAG >= 0x80 && POSE_TAG <= 0x8f) && POSE_TAG !== 0xde && POSE_TAG !== 0xdf);
  });

  for (const v of frames.valid) {
    test(`${v.name} decodes to its packed pose, counter and ack`, () => {
      const got = decodePoseFrame(fromHex(v.hex));
      assert.equal(toHex(got.packed), v.packed);
      assert.equal(got.n, v.n);
      assert.equal(got.ack, v.ack);
      assert.ok(isPoseFrame(fromHex(v.hex)));
    });
    test(`${v.name} encodes to the same bytes`, () => {
      assert.equal(toHex(encodePoseFrame(fromHex(v.packed), { n: v.n, ack: v.ack })), v.hex);
    });
    test(`${v.name}: the map form's floats quantise to the same record`, () => {
      const pose = decode(fromHex(v.map), Direction.CLIENT);
      assert.equal(toHex(packPose(pose)), v.packed);
    });
  }

  for (const v of frames.invalid) {
    test(`${v.name} is refused with ${v.error}, as the map form is`, () => {
      assert.equal(codeOf(() => decodePoseFrame(fromHex(v.hex))), v.code);
      if (v.map !== null) assert.equal(codeOf(() => decode(fromHex(v.map), Direction.CLIENT)), v.code);
    });
  }
});
