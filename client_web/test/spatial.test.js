// The pure half of spatial.js: the room's reverberation from its layout, the impulse response,
// whose head a voice comes from, a head's frame, and speaking with hysteresis.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { packPose } from "../js/pose.js";
import { Replica } from "../js/replica.js";
import { SPEAKING_OFF, SPEAKING_ON, headFrame, impulse, rms, roomAcoustics, speakerOf, speakingNow } from "../js/spatial.js";
import { lookQuat } from "../js/thin_view.js";

const near = (a, b, eps = 1e-3) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe("roomAcoustics", () => {
  test("the private room rings shorter than the branch lobby", () => {
    const small = roomAcoustics({ bounds: { min: [-4.5, 0, -3.5], max: [4.5, 3, 3.5] } });
    const large = roomAcoustics({ bounds: { min: [-12, 0, -10], max: [12, 5, 10] } });
    assert.ok(small.rt60 < large.rt60);
    assert.ok(small.wet < large.wet);
    // Sabine for 9 x 3 x 7 m with alpha 0.3: 0.161 * 189 / (222 * 0.3) = 0.457 s.
    near(small.rt60, 0.457);
  });

  test("no layout yet: a room of ordinary size", () => {
    const a = roomAcoustics(null);
    assert.ok(a.rt60 >= 0.2 && a.rt60 <= 1.6);
  });
});

describe("impulse", () => {
  test("decays by 60 dB over rt60, one array per ear", () => {
    const ears = impulse(0.5, 1000, () => 1);
    assert.equal(ears.length, 2);
    assert.equal(ears[0].length, 500);
    near(ears[0][0], 1);
    near(ears[0][499], 0.001, 2e-4);
  });
});

describe("speakerOf and headFrame", () => {
  const replica = new Replica();
  replica.apply({
    t: "snapshot",
    tick: 1,
    ents: [
      { i: 5, k: "avatar", m: 2, x: packPose({ p: [1, 1.2, 0.5], q: lookQuat(Math.PI / 2, 0) }) },
      { i: 9, k: "expert", x: packPose({ p: [-2, 1.6, -1], q: [0, 0, 0, 1] }) },
    ],
  });

  test("a member's voice comes from their avatar, an expert's from the entity the offer names", () => {
    assert.equal(speakerOf({ owner: "member", id: 2, ent: null }, replica).i, 5);
    assert.equal(speakerOf({ owner: "expert", id: 9, ent: 9 }, replica).i, 9);
    assert.equal(speakerOf({ owner: "member", id: 3, ent: null }, replica), null);
  });

  test("a head's frame: where it is, where it looks, which way is up", () => {
    const f = headFrame(replica.entities.get(5));
    assert.deepEqual(f.pos, [1, 1.2, 0.5]);
    // Yaw 90° to the left: looking along -X.
    near(f.forward[0], -1);
    near(f.forward[2], 0);
    near(f.up[1], 1);
    assert.equal(headFrame({}), null);
  });
});

describe("speaking", () => {
  test("lights above ON, stays lit until below OFF", () => {
    assert.equal(speakingNow((SPEAKING_ON + SPEAKING_OFF) / 2, false), false);
    assert.equal(speakingNow(SPEAKING_ON * 1.1, false), true);
    assert.equal(speakingNow((SPEAKING_ON + SPEAKING_OFF) / 2, true), true);
    assert.equal(speakingNow(SPEAKING_OFF / 2, true), false);
  });

  test("rms", () => {
    near(rms(new Float32Array([0.5, -0.5, 0.5, -0.5])), 0.5);
    assert.equal(rms(new Float32Array(0)), 0);
  });
});
