// Pose pacing (pacing.js): the allowed rate on average, whatever the display's frame rate.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Pacer } from "../js/pacing.js";

/** Poses sent in `seconds` of frames at `fps` (each `jitter` ms early or late in turn). */
function sendAt(fps, hz, { seconds = 10, jitter = 0 } = {}) {
  const pacer = new Pacer();
  let sent = 0;
  const frames = Math.round(fps * seconds);
  for (let i = 0; i < frames; i++) {
    const now = (i * 1000) / fps + (i % 2 ? jitter : -jitter);
    if (pacer.ready(now, hz)) {
      pacer.spend();
      sent++;
    }
  }
  return sent / seconds;
}

test("a headset faster than the rate sends at the rate, not on every other frame", () => {
  for (const fps of [72, 90, 120]) {
    const rate = sendAt(fps, 60);
    assert.ok(rate >= 59 && rate <= 60.3, `${fps} fps: ${rate}/s`);
  }
});

test("frames at the rate, early or late, all go", () => {
  assert.ok(sendAt(60, 60, { jitter: 1.5 }) >= 59.9);
  assert.ok(sendAt(30, 30, { jitter: 3 }) >= 29.9);
});

test("slower frames: one pose each", () => {
  assert.equal(sendAt(15, 60), 15);
});

test("after a pause, two may go at once, no more", () => {
  const pacer = new Pacer();
  pacer.ready(0, 60);
  const burst = [];
  for (let i = 0; i < 4; i++) {
    const ok = pacer.ready(5000, 60);
    if (ok) pacer.spend();
    burst.push(ok);
  }
  assert.deepEqual(burst, [true, true, false, false]);
});

test("a pose that could not leave costs nothing", () => {
  const pacer = new Pacer();
  assert.ok(pacer.ready(0, 30));
  assert.ok(pacer.ready(1, 30)); // not spent: still there
});
