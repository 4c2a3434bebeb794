// The client's copy of the room, rebuilt from snapshot and delta frames (scenes/replica.py).
//
// Apply rule, the same in every client: a snapshot replaces everything when it is newer; a
// delta applies when base <= tick < delta.tick and is dropped otherwise (stale or reordered).
// A delta carries the current value of every field changed since its base, so applying it to
// any state between base and its tick gives exactly the server's state at its tick.

const FIELDS = ["k", "m", "n", "r", "a", "s", "x", "p", "sp", "e", "l", "c", "mic", "cam", "mo"];

export class Replica {
  constructor() {
    this.tick = -1;
    /** @type {Map<number, object>} entity id -> entity record, complete */
    this.entities = new Map();
    this.dropped = 0;
  }

  /** Apply a decoded snapshot or delta; true when applied (and so to be acknowledged). */
  apply(frame) {
    if (frame.t === "snapshot") {
      if (frame.tick <= this.tick) {
        this.dropped++;
        return false;
      }
      this.entities = new Map(frame.ents.map((e) => [e.i, { ...e }]));
      this.tick = frame.tick;
      return true;
    }
    if (!(frame.base <= this.tick && this.tick < frame.tick)) {
      this.dropped++;
      return false;
    }
    for (const id of frame.gone) this.entities.delete(id);
    for (const e of frame.ents) {
      const old = this.entities.get(e.i);
      if (old === undefined) {
        this.entities.set(e.i, { ...e });
        continue;
      }
      for (const key of FIELDS) if (e[key] !== undefined) old[key] = e[key];
    }
    this.tick = frame.tick;
    return true;
  }

  /** Forget everything: a new connection starts from a snapshot. */
  reset() {
    this.tick = -1;
    this.entities = new Map();
  }

  byMember(member) {
    for (const e of this.entities.values()) if (e.m === member) return e;
    return null;
  }
}
