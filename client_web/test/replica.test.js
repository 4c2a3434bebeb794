// The client apply rule and the interpolation buffer.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { PoseHistory, TickClock, nlerp4 } from "../js/interpolation.js";
import { Replica } from "../js/replica.js";

const ent = (i, fields = {}) => ({ i, k: "avatar", n: `e${i}`, ...fields });

describe("replica", () => {
  test("a snapshot replaces everything when newer, and only then", () => {
    const r = new Replica();
    assert.ok(r.apply({ t: "snapshot", tick: 10, ents: [ent(1), ent(2)] }));
    assert.deepEqual([...r.entities.keys()], [1, 2]);
    assert.ok(!r.apply({ t: "snapshot", tick: 10, ents: [] }));
    assert.ok(r.apply({ t: "snapshot", tick: 11, ents: [ent(3)] }));
    assert.deepEqual([...r.entities.keys()], [3]);
    assert.equal(r.dropped, 1);
  });

  test("a delta applies when base <= tick < delta.tick", () => {
    const r = new Replica();
    r.apply({ t: "snapshot", tick: 10, ents: [ent(1), ent(2)] });
    assert.ok(!r.apply({ t: "delta", tick: 12, base: 11, ents: [], gone: [] }), "base in the future");
    assert.ok(!r.apply({ t: "delta", tick: 10, base: 8, ents: [], gone: [] }), "stale");
    assert.ok(r.apply({ t: "delta", tick: 12, base: 8, ents: [{ i: 1, n: "renamed" }, ent(4)], gone: [2] }));
    assert.equal(r.tick, 12);
    assert.deepEqual([...r.entities.keys()], [1, 4]);
    assert.equal(r.entities.get(1).n, "renamed");
    assert.equal(r.entities.get(1).k, "avatar", "unchanged fields stay");
  });

  test("byMember finds a member's avatar", () => {
    const r = new Replica();
    r.apply({ t: "snapshot", tick: 1, ents: [ent(1, { m: 7 }), ent(2, { m: 8 })] });
    assert.equal(r.byMember(8).i, 2);
    assert.equal(r.byMember(9), null);
  });
});

describe("interpolation", () => {
  const part = (x) => ({ pos: [x, 0, 0], rot: [0, 0, 0, 1] });

  test("between two ticks, held at the ends", () => {
    const h = new PoseHistory();
    h.push(10, { parts: [part(0)] });
    h.push(20, { parts: [part(1)] });
    assert.equal(h.at(5).parts[0].pos[0], 0);
    assert.equal(h.at(15).parts[0].pos[0], 0.5);
    assert.equal(h.at(25).parts[0].pos[0], 1);
  });

  test("old samples are pruned but one before the window stays", () => {
    const h = new PoseHistory();
    for (let t = 0; t < 10; t++) h.push(t, { parts: [part(t)] });
    h.prune(5.5);
    assert.equal(h.samples[0].tick, 5);
  });

  test("ticks that restart (a new connection) start the history again", () => {
    const h = new PoseHistory();
    h.push(100, { parts: [part(0)] });
    h.push(3, { parts: [part(1)] });
    assert.equal(h.samples.length, 1);
  });

  test("quaternions take the short way round", () => {
    const q = nlerp4([0, 0, 0, 1], [0, 0, 0, -1], 0.5);
    assert.ok(Math.abs(Math.abs(q[3]) - 1) < 1e-12);
  });

  test("the render clock runs a fixed delay behind the newest frame", () => {
    const clock = new TickClock(30);
    clock.observe(300, 10.0);
    assert.ok(Math.abs(clock.renderTick(10.0) - 297) < 1e-9);
    // A late frame does not pull the clock back; an early one pulls it forward.
    clock.observe(301, 10.2);
    assert.ok(Math.abs(clock.renderTick(10.0) - 297) < 0.11);
    clock.observe(310, 10.1);
    assert.ok(clock.renderTick(10.1) > 306.9);
  });
});
