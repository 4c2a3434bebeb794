// figure_life.js: breathing, blinking and an expert's gesture as functions of time.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  BLINK_EVERY_MS,
  BLINK_MS,
  BREATH_MS,
  FigureLife,
  GESTURE_MS,
  NEW_ANSWER_AFTER_MS,
  blink,
  breath,
  gesture,
  phaseOf,
} from "../js/figure_life.js";

const sample = (fn, fromMs, toMs, stepMs = 10) => {
  const out = [];
  for (let t = fromMs; t < toMs; t += stepMs) out.push(fn(t));
  return out;
};

describe("phases", () => {
  test("are in [0, 1), the same for an id, and spread over consecutive ids", () => {
    const phases = Array.from({ length: 10 }, (_, i) => phaseOf(i + 1));
    for (const p of phases) assert.ok(p >= 0 && p < 1);
    assert.equal(phaseOf(7), phaseOf(7));
    assert.equal(new Set(phases.map((p) => Math.floor(p * 10))).size >= 6, true, `${phases}`);
  });
});

describe("breathing", () => {
  test("goes in and out once a breath, figures out of step", () => {
    const values = sample((t) => breath(t, 0.3), 0, BREATH_MS);
    assert.ok(Math.max(...values) > 0.99 && Math.min(...values) < -0.99);
    assert.ok(Math.abs(breath(1234, 0.3) - breath(1234 + BREATH_MS, 0.3)) < 1e-9);
    assert.notEqual(breath(1000, 0.1), breath(1000, 0.6));
  });
});

describe("blinking", () => {
  test("shuts the eyes once in each of the figure's periods, briefly", () => {
    for (const phase of [0, 0.25, 0.999]) {
      const every = BLINK_EVERY_MS[0] + (BLINK_EVERY_MS[1] - BLINK_EVERY_MS[0]) * phase;
      const values = sample((t) => blink(t, phase), 0, 4 * every, 5);
      const shut = values.filter((v) => v > 0.5).length * 5;
      assert.ok(Math.max(...values) > 0.9, "the lids close");
      // About half of each blink is past half shut: four blinks, each BLINK_MS / 2.
      assert.ok(shut >= 3 * (BLINK_MS / 2) && shut <= 5 * (BLINK_MS / 2), `${shut} ms shut`);
      for (const v of values) assert.ok(v >= 0 && v <= 1);
    }
  });

  test("figures blink at their own times", () => {
    const at = (phase) => sample((t) => blink(t, phase), 0, 10_000, 5).findIndex((v) => v > 0.5);
    assert.notEqual(at(0.1), at(0.7));
  });
});

describe("gesture", () => {
  test("rises and falls once over GESTURE_MS, and is still outside it", () => {
    assert.equal(gesture(-1), 0);
    assert.equal(gesture(0), 0);
    assert.ok(Math.abs(gesture(GESTURE_MS / 2) - 1) < 1e-9);
    assert.equal(gesture(GESTURE_MS), 0);
    assert.equal(gesture(NaN), 0);
  });

  test("an answer begins with speech after a silence, not at every word", () => {
    const life = new FigureLife(3);
    assert.equal(life.at(0).gesture, 0);
    life.hear(0, 0);
    assert.equal(life.answers, 0);
    life.hear(6, 1000);
    assert.equal(life.answers, 1);
    assert.ok(life.at(1000 + GESTURE_MS / 2).gesture > 0.99);
    // Words with short pauses between them (the mouth shut for 300 ms): the same answer.
    for (let t = 1400; t <= 4700; t += 400) {
      life.hear(0, t - 300);
      life.hear(4, t);
    }
    assert.equal(life.answers, 1);
    assert.equal(life.at(5000).gesture, 0);
    // After a silence longer than NEW_ANSWER_AFTER_MS: a new answer, a new gesture.
    life.hear(5, 4700 + NEW_ANSWER_AFTER_MS + 100);
    assert.equal(life.answers, 2);
  });
});
