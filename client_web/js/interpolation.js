// Smooth motion from 30 Hz state frames: every entity is drawn a little in the past (about
// 100 ms), between the two state frames around that moment, so a late or lost frame costs
// nothing visible. Poses come from the server as ticks; the render clock maps wall time to
// ticks from the frames' arrival times.

/** How far behind the newest state we draw, in seconds. */
export const RENDER_DELAY_S = 0.1;
/** How much history to keep per entity, in seconds. */
const HISTORY_S = 1.0;

/**
 * Estimates the server's tick at a wall-clock time from frame arrivals. The offset follows
 * the earliest arrivals (least delayed frames) and drifts up slowly, so jitter does not
 * shake the picture while a changed path still gets adopted within a few seconds.
 */
export class TickClock {
  constructor(tickHz) {
    this.tickHz = tickHz;
    this.offset = null; // wall seconds * hz - tick
  }

  observe(tick, nowS) {
    const sample = nowS * this.tickHz - tick;
    if (this.offset === null || sample < this.offset || sample - this.offset > this.tickHz) {
      // First frame, an earlier-than-expected one, or a jump (server restart, long stall).
      this.offset = sample;
    } else {
      this.offset += (sample - this.offset) * 0.02;
    }
  }

  /** The (fractional) tick to draw at wall time `nowS`. */
  renderTick(nowS) {
    if (this.offset === null) return -1;
    return nowS * this.tickHz - this.offset - RENDER_DELAY_S * this.tickHz;
  }
}

/**
 * One entity's recent poses by tick: `{tick, parts}`, where parts is the head and, in VR, the
 * left and right hands, each `{pos: [x,y,z], rot: [x,y,z,w]}`.
 */
export class PoseHistory {
  constructor() {
    this.samples = [];
  }

  push(tick, sample) {
    const last = this.samples[this.samples.length - 1];
    if (last && tick <= last.tick) {
      // A snapshot after a reconnect restarts the ticks: begin again.
      if (tick < last.tick) this.samples = [];
      else this.samples.pop();
    }
    this.samples.push({ tick, ...sample });
  }

  prune(oldestTick) {
    // Keep one sample at or before the oldest tick we may still draw.
    let drop = 0;
    while (drop + 1 < this.samples.length && this.samples[drop + 1].tick <= oldestTick) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** Pose at fractional `tick`: held at the ends, interpolated between samples. */
  at(tick) {
    const s = this.samples;
    if (s.length === 0) return null;
    if (tick <= s[0].tick) return s[0];
    const last = s[s.length - 1];
    if (tick >= last.tick) return last;
    let i = s.length - 2;
    while (i > 0 && s[i].tick > tick) i--;
    const a = s[i];
    const b = s[i + 1];
    const f = (tick - a.tick) / (b.tick - a.tick);
    if (a.parts.length !== b.parts.length) return f < 0.5 ? a : b; // hands came or went
    const parts = a.parts.map((pa, k) => {
      const pb = b.parts[k];
      return { pos: lerp3(pa.pos, pb.pos, f), rot: nlerp4(pa.rot, pb.rot, f) };
    });
    return { tick, parts };
  }
}

/** History length in ticks at `tickHz`. */
export function historyTicks(tickHz) {
  return Math.ceil(HISTORY_S * tickHz);
}

export function lerp3(a, b, f) {
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/** Normalised linear interpolation of quaternions, shortest way round: plenty at 30 Hz. */
export function nlerp4(a, b, f) {
  const dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
  const s = dot < 0 ? -1 : 1;
  const q = [0, 1, 2, 3].map((i) => a[i] + (s * b[i] - a[i]) * f);
  const n = Math.hypot(...q) || 1;
  return q.map((c) => c / n);
}
