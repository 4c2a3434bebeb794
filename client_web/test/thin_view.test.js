// The thin view's pure half: gazes as rotations and back, drag and gyroscope, the pose sent
// for one's own avatar, and the lane chosen from what the receiver measured.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { packPose, unpackPose, yawOf } from "../js/pose.js";
import {
  CLEAN_WINDOWS_UP,
  HOLD_MS,
  MAX_PITCH,
  deviceQuat,
  dragLook,
  gazeOf,
  gyroLook,
  laneState,
  lookQuat,
  nextLane,
  thinPose,
} from "../js/thin_view.js";

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe("gaze", () => {
  test("a gaze and its rotation are one another, whatever the yaw and pitch", () => {
    for (const yaw of [0, 0.5, -2, 3]) {
      for (const pitch of [0, 0.4, -1.1]) {
        const q = lookQuat(yaw, pitch);
        near(Math.hypot(...q), 1);
        const g = gazeOf(q);
        near(g.yaw, yaw);
        near(g.pitch, pitch);
      }
    }
  });

  test("a level gaze has the heading the rest of the page reads (yawOf)", () => {
    near(yawOf(lookQuat(1.2, 0)), 1.2);
  });

  test("dragging right turns the head right (to +X), and pitch stops short of straight up", () => {
    const look = dragLook({ yaw: 0, pitch: 0 }, 100, 0);
    assert.ok(look.yaw < 0);
    assert.ok(gazeOf(lookQuat(look.yaw, 0)) && Math.sin(-look.yaw) > 0, "forward x = -sin(yaw) > 0");
    assert.equal(dragLook({ yaw: 0, pitch: 0 }, 0, -100000).pitch, MAX_PITCH);
    assert.equal(dragLook({ yaw: 0, pitch: 0 }, 0, 100000).pitch, -MAX_PITCH);
  });
});

describe("gyroscope", () => {
  test("a phone held upright facing alpha 0 looks ahead along -Z", () => {
    const g = gazeOf(deviceQuat(0, 90, 0, 0));
    near(g.yaw, 0, 1e-9);
    near(g.pitch, 0, 1e-9);
  });

  test("turning the phone (alpha) turns the head; tilting it back looks up; flat looks down", () => {
    near(gazeOf(deviceQuat(30, 90, 0, 0)).yaw, Math.PI / 6, 1e-9);
    near(gazeOf(deviceQuat(0, 120, 0, 0)).pitch, Math.PI / 6, 1e-9);
    near(gazeOf(deviceQuat(0, 0, 0, 0)).pitch, -Math.PI / 2, 1e-6);
  });

  test("in landscape the screen's angle is taken off: the phone still looks ahead", () => {
    // Held sideways (rotated 90° left, screen angle 90), upright: gamma -90 in the W3C frame.
    const g = gazeOf(deviceQuat(0, 0, -90, 90));
    near(g.pitch, 0, 1e-9);
  });

  test("the drag offset adds to the gyroscope's gaze", () => {
    const look = gyroLook(deviceQuat(0, 90, 0, 0), { yaw: 0.3, pitch: 0.1 });
    near(look.yaw, 0.3);
    near(look.pitch, 0.1);
  });
});

describe("thinPose", () => {
  test("keeps the avatar's head where the room has it and turns it to the gaze", () => {
    const x = packPose({ p: [1.25, 1.2, -0.5], q: [0, 0, 0, 1] });
    const pose = thinPose({ x }, { yaw: 0.7, pitch: -0.2 });
    assert.deepEqual(pose.p, [1.25, 1.2, -0.5]);
    const sent = unpackPose(packPose(pose)).head;
    assert.deepEqual(sent.mm, [1250, 1200, -500]);
    const g = gazeOf(sent.rot);
    near(g.yaw, 0.7, 5e-3);
    near(g.pitch, -0.2, 5e-3);
  });

  test("nothing without an avatar pose", () => {
    assert.equal(thinPose(null, { yaw: 0, pitch: 0 }), null);
    assert.equal(thinPose({}, { yaw: 0, pitch: 0 }), null);
  });
});

describe("nextLane", () => {
  /** Feed windows of `seconds` each with `received` packets, `lost` lost, `fps` frames. */
  function run(state, windows) {
    let s = state;
    let total = s.last ?? { at: 0, packetsReceived: 0, packetsLost: 0, framesDecoded: 0 };
    if (!s.last) s = nextLane(s, total);
    for (const { received, lost = 0, fps = 15, dropped = 0, seconds = 2 } of windows) {
      total = {
        at: total.at + seconds * 1000,
        packetsReceived: total.packetsReceived + received,
        packetsLost: total.packetsLost + lost,
        framesDecoded: total.framesDecoded + fps * seconds,
        framesReceived: (total.framesReceived ?? 0) + (fps + dropped) * seconds,
        framesDropped: (total.framesDropped ?? 0) + dropped * seconds,
      };
      s = nextLane(s, total);
    }
    return s;
  }
  const clean = (n) => Array.from({ length: n }, () => ({ received: 200 }));

  test("a clean link stays high", () => {
    const s = run(laneState("high", 0), clean(10));
    assert.equal(s.quality, "high");
    assert.equal(s.loss, 0);
    assert.equal(s.fps, 15);
  });

  test("heavy loss moves to low, but not before the lane was held", () => {
    const early = run(laneState("high", 0), [{ received: 180, lost: 20 }]);
    assert.equal(early.quality, "high", "a lane is held HOLD_MS first");
    const s = run(laneState("high", 0), [...clean(Math.ceil(HOLD_MS / 2000)), { received: 180, lost: 20 }]);
    assert.equal(s.quality, "low");
    near(s.loss, 0.1);
  });

  test("a device that drops the frames it receives moves to low", () => {
    const s = run(laneState("high", 0), [...clean(4), { received: 200, fps: 9, dropped: 6 }]);
    assert.equal(s.quality, "low");
    near(s.dropped, 0.4);
  });

  test("a slow picture without loss or drops is the server's pace, not the link's: it stays", () => {
    const s = run(laneState("high", 0), [...clean(4), { received: 60, fps: 3 }, { received: 60, fps: 3 }]);
    assert.equal(s.quality, "high");
  });

  test("low goes back up only after enough clean windows in a row", () => {
    let s = run(laneState("low", 0), [...clean(CLEAN_WINDOWS_UP - 1), { received: 180, lost: 20 }]);
    assert.equal(s.quality, "low");
    s = run(s, clean(CLEAN_WINDOWS_UP - 1));
    assert.equal(s.quality, "low");
    s = run(s, clean(1));
    assert.equal(s.quality, "high");
  });

  test("a sample that does not move time on changes nothing", () => {
    const a = nextLane(laneState("high", 0), { at: 5, packetsReceived: 1, packetsLost: 0, framesDecoded: 1 });
    const b = nextLane(a, { at: 5, packetsReceived: 1, packetsLost: 50, framesDecoded: 1 });
    assert.equal(b.quality, "high");
  });
});
