// The packed-pose decoder against the poses inside the shared vectors' state frames.
//
// protocol/vectors.py builds them from known parts, which gives the expected values below:
//   snapshot, Ann: head (0, 1200, 1100) mm facing +Z, a half turn: q = (0, 1, 0, 0)
//   snapshot, Bo:  head (-1250, 1600, -1100) mm, controllers at (-1500, 1100, -900) and
//                  (-1000, 1100, -900), every part unrotated: q = (0, 0, 0, 1)
//   delta, Bo moved: head (-1200, 1605, -1100) mm with the raw rotation 123456789, whose
//                  components protocol/quantise.py's unpack_quat gives as written below.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { decode } from "../js/codec.js";
import { ErrorCode, ProtocolError } from "../js/protocol.js";
import { HandMode, unpackPose, unpackQuat, yawOf, yawQuat } from "../js/pose.js";

const vectors = JSON.parse(readFileSync(new URL("../../protocol/vectors.json", import.meta.url), "utf8"));

function frame(name) {
  const v = vectors.valid.find((x) => x.name === name);
  return decode(Uint8Array.from(v.hex.match(/../g), (b) => parseInt(b, 16)), v.direction);
}

function close(actual, expected, tolerance = 1e-9) {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= tolerance, `${actual} vs ${expected}`));
}

const IDENTITY = [0, 0, 0, 1];

describe("poses from the vectors", () => {
  test("a seated customer, head only, facing +Z", () => {
    const ann = frame("snapshot").ents.find((e) => e.n === "Ann");
    const pose = unpackPose(ann.x);
    assert.equal(pose.hands, HandMode.NONE);
    assert.deepEqual(pose.head.mm, [0, 1200, 1100]);
    close(pose.head.pos, [0, 1.2, 1.1]);
    close(pose.head.rot, [0, 1, 0, 0]);
    assert.equal(pose.left, null);
    assert.ok(Math.abs(Math.abs(yawOf(pose.head.rot)) - Math.PI) < 1e-9);
  });

  test("an advisor in VR with both controllers", () => {
    const bo = frame("snapshot").ents.find((e) => e.n === "Bo");
    const pose = unpackPose(bo.x);
    assert.equal(pose.hands, HandMode.CONTROLLERS);
    assert.deepEqual(pose.head.mm, [-1250, 1600, -1100]);
    assert.deepEqual(pose.left.mm, [-1500, 1100, -900]);
    assert.deepEqual(pose.right.mm, [-1000, 1100, -900]);
    for (const part of [pose.head, pose.left, pose.right]) close(part.rot, IDENTITY);
  });

  test("a moved head with an arbitrary rotation", () => {
    const pose = unpackPose(frame("delta").ents[0].x);
    assert.deepEqual(pose.head.mm, [-1200, 1605, -1100]);
    close(pose.head.rot, [0.695630720301, -0.545205619936, 0.33764002859, -0.3238023225], 1e-11);
    close([Math.hypot(...pose.head.rot)], [1]);
  });

  test("experts and screens carry the same pose format", () => {
    for (const ent of frame("snapshot-expert-and-screen").ents) {
      assert.deepEqual(unpackPose(ent.x).head.mm, [0, 1200, 1100]);
    }
  });
});

describe("rotations", () => {
  test("the identity and pure yaws survive quantisation exactly", () => {
    // 511 of 1022 is exactly the middle of the range: zero stays zero.
    const middle = (511 << 20) | (511 << 10) | 511;
    close(unpackQuat(((3 << 30) | middle) >>> 0), IDENTITY, 1e-15);
    close(unpackQuat(((1 << 30) | middle) >>> 0), [0, 1, 0, 0], 1e-15);
  });

  test("1023 decodes as 1022", () => {
    const top = ((3 << 30) | (1023 << 20) | (511 << 10) | 511) >>> 0;
    const clamped = ((3 << 30) | (1022 << 20) | (511 << 10) | 511) >>> 0;
    assert.deepEqual(unpackQuat(top), unpackQuat(clamped));
  });

  test("yaw helpers agree", () => {
    for (const yaw of [0, 0.5, -1.2, 3]) assert.ok(Math.abs(yawOf(yawQuat(yaw)) - yaw) < 1e-12);
  });
});

describe("refused poses", () => {
  const code = (bytes) => {
    try {
      unpackPose(bytes);
    } catch (err) {
      assert.ok(err instanceof ProtocolError);
      return err.code;
    }
    return null;
  };
  test("wrong length", () => assert.equal(code(new Uint8Array(12)), ErrorCode.BAD_VALUE));
  test("hand mode 3", () => assert.equal(code(Uint8Array.of(3, ...new Array(30).fill(0))), ErrorCode.BAD_VALUE));
  test("hands without a hand mode", () => assert.equal(code(new Uint8Array(31)), ErrorCode.BAD_VALUE));
  test("a hand mode without hands", () => assert.equal(code(Uint8Array.of(1, ...new Array(10).fill(0))), ErrorCode.BAD_VALUE));
});
