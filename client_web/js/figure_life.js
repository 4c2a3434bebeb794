// Small signs of life on the figures: breathing, blinking and, when a digital expert begins to
// answer, a hand raised a little. Functions of time and of a figure's own phase, so that the
// people in a room do not breathe and blink in step, and the same figure always moves the same
// way; nothing here touches three.js (figures.js applies it).

export const BREATH_MS = 4200; // a calm breath, in and out
export const BLINK_MS = 160;
export const BLINK_EVERY_MS = [3000, 5000]; // each figure blinks at its own pace in this range
export const GESTURE_MS = 1400;
// Speech after this long a silence is a new answer (an expert's mouth closes between words).
export const NEW_ANSWER_AFTER_MS = 1500;

/** A figure's phase in [0, 1) from its entity id (a multiplicative hash: ids are small and
 * consecutive, their phases should not be). */
export function phaseOf(id) {
  return (Math.imul(id >>> 0, 2654435761) >>> 0) / 2 ** 32;
}

/** How far the chest is through its breath: -1 (out) to 1 (in). */
export function breath(timeMs, phase) {
  return Math.sin(2 * Math.PI * (timeMs / BREATH_MS + phase));
}

/** How closed the eyelids are: 0 open, 1 shut; a blink closes and opens in BLINK_MS. */
export function blink(timeMs, phase) {
  const [shortest, longest] = BLINK_EVERY_MS;
  const every = shortest + (longest - shortest) * phase;
  const into = (((timeMs + phase * every) % every) + every) % every;
  if (into >= BLINK_MS) return 0;
  return 1 - Math.abs((2 * into) / BLINK_MS - 1);
}

/** How far the hand is raised `sinceMs` after an answer began: 0 to 1 and back. */
export function gesture(sinceMs) {
  if (!(sinceMs >= 0) || sinceMs >= GESTURE_MS) return 0;
  return Math.sin((Math.PI * sinceMs) / GESTURE_MS) ** 2;
}

/** One figure's life: fed the mouth level (`mo`) it is shown with, it notes when an answer
 * begins (speech after a silence) and says how the figure moves at a given time. */
export class FigureLife {
  constructor(id) {
    this.phase = phaseOf(id);
    this.voicedAt = null; // when the mouth was last open
    this.answerAt = null; // when the newest answer began
    this.answers = 0;
  }

  hear(mo, nowMs) {
    if (!(mo > 0)) return;
    if (this.voicedAt === null || nowMs - this.voicedAt > NEW_ANSWER_AFTER_MS) {
      this.answerAt = nowMs;
      this.answers += 1;
    }
    this.voicedAt = nowMs;
  }

  at(nowMs) {
    return {
      breath: breath(nowMs, this.phase),
      lids: blink(nowMs, this.phase),
      gesture: this.answerAt === null ? 0 : gesture(nowMs - this.answerAt),
    };
  }
}
