// Camera panels and name tags step aside from the wall screen, to its nearer side.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { COMPACT, boxAround, chooseRail, overlaps, sideStep } from "../js/screen_clear.js";

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

  test("a way that leaves the view loses to one that stays in it", () => {
    const hud = { x: 0, y: 200, w: 290, h: 120 };
    const box = { x: 310, y: 250, w: 60, h: 40 };
    const bounds = { x: 0, y: 0, w: 800, h: 500 };
    // Left would be nearer, but past the list at the left edge it leaves the view.
    const dx = sideStep(box, [screen, hud], 4, bounds);
    assert.equal(dx, 660 + 4 - 310);
    assert.equal(sideStep(box, [screen, hud], 4), 660 + 4 - 310);
  });

  test("the box around projected corners", () => {
    assert.deepEqual(boxAround([{ x: 3, y: 9 }, { x: 1, y: 4 }, { x: 7, y: 5 }]), { x: 1, y: 4, w: 6, h: 5 });
    assert.equal(boxAround([]), null);
  });

  const stage = { x: 0, y: 50, w: 600, h: 500 };
  const tiles = { w: 292, h: 166 };
  const at = (x, y) => ({ x, y, ...tiles });
  const bottomRight = at(600 - 16 - 292, 50 + 500 - 92 - 166);

  test("tiles clear of the screen stay on their rail", () => {
    const screen = { x: 100, y: 60, w: 200, h: 100 };
    const choice = chooseRail({ here: bottomRight, stage, rail: "right-bottom", compact: false, bottomGap: 92 }, [screen]);
    assert.deepEqual(choice, { rail: "right-bottom", compact: false });
  });

  test("tiles over the screen at the bottom right go to the bottom left", () => {
    const screen = { x: 320, y: 250, w: 250, h: 120 };
    const choice = chooseRail({ here: bottomRight, stage, rail: "right-bottom", compact: false, bottomGap: 92 }, [screen]);
    assert.deepEqual(choice, { rail: "left-bottom", compact: false });
  });

  test("a screen too big for any side makes the tiles compact, on a side they then clear", () => {
    const screen = { x: 250, y: 150, w: 200, h: 300 };
    const choice = chooseRail({ here: bottomRight, stage, rail: "right-bottom", compact: false, bottomGap: 92 }, [screen]);
    assert.equal(choice.compact, true);
    const w = tiles.w * COMPACT;
    assert.ok(w + 16 < screen.x);
    assert.equal(choice.rail, "left-bottom");
  });
});
