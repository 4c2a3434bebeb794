// Comfort in VR (xr_comfort.js): snap turns of 45 degrees, once per push of the stick and never
// smoothly, turning about the head; seated by default.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { SNAP_TURN, STICK_PRESS, STICK_RELEASE, SnapTurn, referenceSpaceFor, rigFor, turnAbout } from "../js/xr_comfort.js";

const near = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe("snap turn", () => {
  test("is 45 degrees, right turns clockwise seen from above (negative about +Y)", () => {
    near(SNAP_TURN, Math.PI / 4);
    assert.equal(new SnapTurn().update(1), -SNAP_TURN);
    assert.equal(new SnapTurn().update(-1), SNAP_TURN);
  });

  test("a stick held to one side turns once; back to centre re-arms it", () => {
    const snap = new SnapTurn();
    const turns = [0.2, 0.8, 1, 1, 0.9, 0.5, 0.31, 0.3, 0.75].map((x) => snap.update(x));
    assert.deepEqual(turns, [0, -SNAP_TURN, 0, 0, 0, 0, 0, 0, -SNAP_TURN]);
  });

  test("from one side straight to the other turns only after passing the centre", () => {
    const snap = new SnapTurn();
    assert.deepEqual([1, -1, 0, -1].map((x) => snap.update(x)), [-SNAP_TURN, 0, 0, SNAP_TURN]);
  });

  test("no smooth turning: a stick resting off centre, or drifting, never turns", () => {
    const snap = new SnapTurn();
    const xs = Array.from({ length: 500 }, (_, i) => (STICK_PRESS - 0.01) * Math.sin(i / 7));
    assert.ok(xs.every((x) => snap.update(x) === 0));
  });

  test("a missing or broken axis is the centre", () => {
    const snap = new SnapTurn();
    for (const x of [undefined, null, NaN, Infinity]) assert.equal(snap.update(x), 0);
    assert.equal(snap.update(-STICK_PRESS), SNAP_TURN);
    assert.equal(snap.update(NaN), 0); // re-arms: NaN reads as the centre
    assert.equal(snap.update(-1), SNAP_TURN);
    assert.ok(STICK_RELEASE < STICK_PRESS);
  });
});

describe("turning about the head", () => {
  test("the head stays where it is and the view turns by the angle", () => {
    const rig = { x: 1, y: 0.5, z: 2, yaw: 0.3 };
    const head = [1.4, 1.7, 1.1]; // the head is off the rig's origin (the person leans)
    for (const angle of [SNAP_TURN, -SNAP_TURN]) {
      const turned = turnAbout(rig, head[0], head[2], angle);
      near(turned.yaw, rig.yaw + angle);
      near(turned.y, rig.y);
      // The head, at the same offset in the turned rig's frame, lands on itself.
      const local = { x: head[0] - rig.x, z: head[2] - rig.z };
      const c0 = Math.cos(-rig.yaw);
      const s0 = Math.sin(-rig.yaw);
      const inRig = { x: local.x * c0 + local.z * s0, z: -local.x * s0 + local.z * c0 };
      const c = Math.cos(turned.yaw);
      const s = Math.sin(turned.yaw);
      near(turned.x + inRig.x * c + inRig.z * s, head[0]);
      near(turned.z - inRig.x * s + inRig.z * c, head[2]);
    }
  });

  test("eight turns come full circle", () => {
    let rig = { x: 0.2, y: 0, z: -0.7, yaw: 0 };
    for (let i = 0; i < 8; i++) rig = turnAbout(rig, 1, 1, SNAP_TURN);
    near(rig.x, 0.2);
    near(rig.z, -0.7);
    near(rig.yaw, 2 * Math.PI);
  });
});

describe("seated by default", () => {
  test("the local space, and the rig at the avatar's eyes", () => {
    assert.equal(referenceSpaceFor(), "local");
    assert.deepEqual(rigFor([1, 1.2, -2], 0.5), { x: 1, y: 1.2, z: -2, yaw: 0.5 });
    assert.deepEqual(rigFor([1, 1.2, -2], 0.5, { eye: 1.2 }), { x: 1, y: 1.2, z: -2, yaw: 0.5 });
  });

  test("the headset, wherever the person moved it, lands at the avatar's eyes, facing its way", () => {
    const viewer = { x: 0.2, y: 0.05, z: -0.1, yaw: 0.4 };
    for (const yaw of [0, 1, -2.5]) {
      const rig = rigFor([1, 1.2, -2], yaw, { viewer });
      near(rig.yaw + viewer.yaw, yaw);
      const c = Math.cos(rig.yaw);
      const s = Math.sin(rig.yaw);
      near(rig.x + viewer.x * c + viewer.z * s, 1);
      near(rig.y + viewer.y, 1.2);
      near(rig.z - viewer.x * s + viewer.z * c, -2);
    }
  });

  test("standing: the floor space, and the rig on the floor under the eyes", () => {
    assert.equal(referenceSpaceFor({ standing: true }), "local-floor");
    const rig = rigFor([1, 1.65, -2], 0.5, { standing: true, eye: 1.6 });
    near(rig.y, 0.05);
    assert.deepEqual(rigFor([1, 0.3, -2], 0, { standing: true, eye: 1.6 }).y, 0);
  });
});
