// Camera panels and name tags step aside from the wall screen, to its nearer side.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { boxAround, overlaps, sideStep } from "../js/screen_clear.js";

const screen = { x: 300, y: 200, w: 360, h: 200 };

describe("keeping the wall screen clear", () => {
  test("a box clear of the screen stays", () => {
    assert.equal(sideStep({ x: 10, y: 210, w: 100, h: 40 }, [screen]), 0);
    assert.equal(sideStep({ x: 400, y: 450, w: 100, h: 40 }, [screen]), 0);
  });

  test("a box over the left half moves left of the screen, over the right half right", () => {
    const left = { x: 380, y: 250, w: 100, h: 40 };
    const dxL = sideStep(left, [screen], 4);
    assert.equal(dxL, 300 - 4 - 480);
    assert.ok(!overlaps({ ...left, x: left.x + dxL }, screen));
    const right = { x: 540, y: 250, w: 100, h: 40 };
    const dxR = sideStep(right, [screen], 4);
    assert.equal(dxR, 660 + 4 - 540);
    assert.ok(!overlaps({ ...right, x: right.x + dxR }, screen));
  });

  test("a box that would land on a second screen moves past it too", () => {
    const other = { x: 150, y: 200, w: 140, h: 200 };
    const box = { x: 310, y: 250, w: 60, h: 40 };
    const dx = sideStep(box, [screen, other], 4);
    for (const s of [screen, other]) assert.ok(!overlaps({ ...box, x: box.x + dx }, s, 4), dx);
  });

  test("the box around projected corners", () => {
    assert.deepEqual(boxAround([{ x: 3, y: 9 }, { x: 1, y: 4 }, { x: 7, y: 5 }]), { x: 1, y: 4, w: 6, h: 5 });
    assert.equal(boxAround([]), null);
  });
});
