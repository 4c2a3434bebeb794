// Pacing poses: at most `hz` a second on average, so that a headset whose frames come faster
// than that (72, 90, 120 Hz) still sends at the allowed rate. A plain "at least 1/hz since the
// last one" would send on every other frame of a 72 Hz headset at 60 Hz (36 a second), and
// frame-time jitter would cost a 60 Hz display half of its frames the same way.

/** Poses that may leave back to back after a pause: one in hand and one owed. */
const BURST = 2;

export class Pacer {
  constructor(burst = BURST) {
    this.burst = burst;
    this.tokens = burst;
    this.at = null; // when the tokens were last counted (ms)
  }

  /** Whether one may go now (`now` in ms), at `hz` a second. */
  ready(now, hz) {
    if (this.at !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * hz) / 1000);
    this.at = now;
    return this.tokens >= 1;
  }

  /** One went. */
  spend() {
    this.tokens = Math.max(0, this.tokens - 1);
  }
}
