// Name tags on screen: where two would cover each other, the upper one moves up clear of it.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { layoutTags } from "../js/name_tags.js";

function overlap(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function lifted(boxes, lifts) {
  return boxes.map((b, i) => ({ ...b, y: b.y + lifts[i] }));
}

describe("laying out name tags", () => {
  test("tags apart stay where they are", () => {
    const boxes = [
      { x: 0, y: 100, w: 80, h: 20 },
      { x: 200, y: 100, w: 80, h: 20 },
      { x: 0, y: 200, w: 80, h: 20 },
    ];
    assert.deepEqual(layoutTags(boxes), [0, 0, 0]);
  });

  test("the upper of two overlapping tags moves up just clear of the lower", () => {
    const boxes = [
      { x: 30, y: 110, w: 80, h: 20 }, // upper
      { x: 0, y: 100, w: 80, h: 20 }, // lower: stays
    ];
    assert.deepEqual(layoutTags(boxes, 2), [12, 0]);
  });

  test("a crowd in large text ends with no two tags overlapping, in one column of space", () => {
    const boxes = Array.from({ length: 6 }, (_, i) => ({ x: 100 + i * 12, y: 300 + (i % 3) * 5, w: 150, h: 36 }));
    const lifts = layoutTags(boxes);
    const out = lifted(boxes, lifts);
    for (let i = 0; i < out.length; i++) for (let j = i + 1; j < out.length; j++) assert.ok(!overlap(out[i], out[j]), `${i} and ${j}`);
    assert.ok(lifts.every((l) => l >= 0));
    assert.ok(Math.max(...lifts) <= 5 * 38 + 10, String(lifts));
  });

  test("moving clear of one tag into another moves on past it", () => {
    const boxes = [
      { x: 0, y: 100, w: 100, h: 20 },
      { x: 50, y: 121, w: 100, h: 20 }, // sits just above the first
      { x: 20, y: 105, w: 60, h: 20 }, // overlaps the first; lifted, it would meet the second
    ];
    const out = lifted(boxes, layoutTags(boxes));
    for (let i = 0; i < 3; i++) for (let j = i + 1; j < 3; j++) assert.ok(!overlap(out[i], out[j]), `${i} and ${j}`);
  });
});
