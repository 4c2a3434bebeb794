// Voices in space: each incoming voice goes through a Web Audio panner (HRTF) placed at its
// speaker's head (a member's avatar, an expert at its spot) and a little of the room's own
// reverberation, sized from the layout; the listener is the member's own head. A voice whose
// level rises above a threshold marks its speaker as speaking.
//
// The functions at the top are pure (tested under Node); `SpatialVoices` runs them on an
// AudioContext.

import { unpackPose } from "./pose.js";

/** Mean absorption of a furnished room of wood, leather and carpet (Sabine's alpha). */
const ABSORPTION = 0.3;
/** Speaking: level (RMS, 0..1) above ON, and stays so until it falls below OFF. */
export const SPEAKING_ON = 0.02;
export const SPEAKING_OFF = 0.008;

/**
 * The reverberation of a layout's room: `rt60` (seconds, Sabine: 0.161 V / (S alpha)) from its
 * bounds, clamped to what a furnished room sounds like, and `wet` (the share of reverberation
 * mixed in: larger rooms sound larger).
 */
export function roomAcoustics(layout) {
  const min = layout?.bounds?.min ?? [-4, 0, -4];
  const max = layout?.bounds?.max ?? [4, 3, 4];
  const [w, h, d] = [0, 1, 2].map((i) => Math.max(1, max[i] - min[i]));
  const volume = w * h * d;
  const surface = 2 * (w * h + w * d + h * d);
  const rt60 = Math.min(1.6, Math.max(0.2, (0.161 * volume) / (surface * ABSORPTION)));
  return { rt60, wet: Math.min(0.35, 0.1 + rt60 * 0.15) };
}

/**
 * An impulse response for `rt60` seconds at `rate` Hz: decaying noise, one array per ear
 * (`random` gives numbers in [0, 1); the two ears differ, which makes the room wide).
 */
export function impulse(rt60, rate, random) {
  const length = Math.max(1, Math.round(rt60 * rate));
  const ears = [new Float32Array(length), new Float32Array(length)];
  // -60 dB over rt60: amplitude e^(-6.91 t / rt60).
  const k = -6.907755 / (rt60 * rate);
  for (const ear of ears) for (let i = 0; i < length; i++) ear[i] = (random() * 2 - 1) * Math.exp(k * i);
  return ears;
}

/** The entity whose head a voice comes from: the offer's `ent` (an expert, an avatar), else
 * the avatar of the member the source names. Null when the room has none. */
export function speakerOf(entry, replica) {
  if (entry.ent !== null && entry.ent !== undefined) return replica.entities.get(entry.ent) ?? null;
  return entry.owner === "member" ? replica.byMember(entry.id) : null;
}

/** Position and orientation of an entity's head: `{pos, forward, up}` (metres), or null. */
export function headFrame(ent) {
  if (!ent?.x) return null;
  const head = unpackPose(ent.x).head;
  const [x, y, z, w] = head.rot;
  // The rotated (0, 0, -1) and (0, 1, 0).
  const forward = [-2 * (x * z + w * y), -2 * (y * z - w * x), -(1 - 2 * (x * x + y * y))];
  const up = [2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)];
  return { pos: head.pos, forward, up };
}

/** Speaking now? With hysteresis, so that a voice between two words stays lit. */
export function speakingNow(level, was) {
  return was ? level > SPEAKING_OFF : level > SPEAKING_ON;
}

/** RMS of time-domain samples (an AnalyserNode's float data). */
export function rms(samples) {
  let sum = 0;
  for (const v of samples) sum += v * v;
  return samples.length ? Math.sqrt(sum / samples.length) : 0;
}

// --- the browser side ------------------------------------------------------------------------------

function setParam(param, value) {
  // Set outright, not glided: a suspended context (no press on the page yet) runs no
  // automation, and the head moves at the tick rate anyway.
  param.value = value;
}

/**
 * The room's voices as Web Audio. `attach(entry, element)` routes an incoming voice (a
 * `RoomMedia` tracks entry, with the `<audio>` that plays it, which is muted here: Chrome feeds
 * a remote stream to Web Audio only while a media element plays it) through its panner;
 * `update(replica, member)` puts each panner at its speaker's head and the listener at the
 * member's own. Without Web Audio (`Context` missing) it does nothing and the elements play.
 */
export class SpatialVoices {
  constructor({ Context = globalThis.AudioContext, random = Math.random } = {}) {
    this.Context = Context;
    this.random = random;
    this.ctx = null;
    this.voices = new Map(); // mid -> {entry, element, source, panner, analyser, buf, at, level, speaking}
    this.acoustics = roomAcoustics(null);
    this.reverb = null;
    this.listenerAt = null;
  }

  get available() {
    return typeof this.Context === "function";
  }

  /** The context, made on first use (a page without voices makes none). */
  context() {
    if (!this.ctx && this.available) {
      this.ctx = new this.Context({ latencyHint: "interactive" });
      this.buildReverb();
    }
    return this.ctx;
  }

  /** Size the reverberation to the room the layout describes. */
  setLayout(layout) {
    this.acoustics = roomAcoustics(layout);
    if (this.ctx) this.buildReverb();
  }

  buildReverb() {
    const ctx = this.ctx;
    const { rt60, wet } = this.acoustics;
    const ears = impulse(rt60, ctx.sampleRate, this.random);
    const buffer = ctx.createBuffer(2, ears[0].length, ctx.sampleRate);
    ears.forEach((ear, i) => buffer.copyToChannel(ear, i));
    if (!this.reverb) {
      const convolver = ctx.createConvolver();
      const gain = ctx.createGain();
      convolver.connect(gain).connect(ctx.destination);
      this.reverb = { convolver, gain };
    }
    this.reverb.convolver.buffer = buffer;
    this.reverb.gain.gain.value = wet;
  }

  /** Let the context play (browsers hold it until the page has been used once). */
  resume() {
    return this.ctx?.state === "suspended" ? this.ctx.resume().catch(() => {}) : Promise.resolve();
  }

  attach(entry, element) {
    const old = this.voices.get(entry.mid);
    if (old && old.entry.stream === entry.stream) {
      old.entry = entry;
      return true;
    }
    this.detach(entry.mid);
    const ctx = this.context();
    if (!ctx) return false;
    const source = ctx.createMediaStreamSource(entry.stream);
    // createPanner rather than the constructor: older Safari has only the former.
    const panner = Object.assign(ctx.createPanner(), {
      panningModel: "HRTF",
      distanceModel: "inverse",
      refDistance: 1,
      maxDistance: 30,
      rolloffFactor: 1,
    });
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    source.connect(panner);
    panner.connect(ctx.destination);
    if (this.reverb) panner.connect(this.reverb.convolver);
    element.muted = true; // heard through the panner
    this.voices.set(entry.mid, {
      entry,
      element,
      source,
      panner,
      analyser,
      buf: new Float32Array(analyser.fftSize),
      at: null,
      level: 0,
      speaking: false,
    });
    return true;
  }

  detach(mid) {
    const voice = this.voices.get(mid);
    if (!voice) return;
    voice.source.disconnect();
    voice.panner.disconnect();
    voice.analyser.disconnect();
    this.voices.delete(mid);
  }

  /** Every panner to its speaker's head, the listener to `member`'s; levels measured. */
  update(replica, member) {
    const ctx = this.ctx;
    if (!ctx) return;
    const own = headFrame(member === null ? null : replica.byMember(member));
    if (own) {
      const l = ctx.listener;
      const [px, py, pz] = own.pos;
      const [fx, fy, fz] = own.forward;
      const [ux, uy, uz] = own.up;
      if (l.positionX) {
        for (const [param, value] of [
          [l.positionX, px],
          [l.positionY, py],
          [l.positionZ, pz],
          [l.forwardX, fx],
          [l.forwardY, fy],
          [l.forwardZ, fz],
          [l.upX, ux],
          [l.upY, uy],
          [l.upZ, uz],
        ])
          setParam(param, value);
      } else {
        l.setPosition(px, py, pz);
        l.setOrientation(fx, fy, fz, ux, uy, uz);
      }
      this.listenerAt = own.pos;
    }
    for (const voice of this.voices.values()) {
      const head = headFrame(speakerOf(voice.entry, replica));
      if (head) {
        const [x, y, z] = head.pos;
        setParam(voice.panner.positionX, x);
        setParam(voice.panner.positionY, y);
        setParam(voice.panner.positionZ, z);
        voice.at = head.pos;
      }
      voice.level = this.measure(voice);
      voice.speaking = speakingNow(voice.level, voice.speaking);
    }
  }

  /** Each voice: where its panner is put and its speaker is, its level, whether it speaks. */
  summary(replica) {
    return [...this.voices.values()].map((v) => {
      const speaker = speakerOf(v.entry, replica);
      return {
        mid: v.entry.mid,
        src: v.entry.src,
        entity: speaker?.i ?? null,
        panner: v.at,
        target: [v.panner.positionX.value, v.panner.positionY.value, v.panner.positionZ.value],
        head: headFrame(speaker)?.pos ?? null,
        listener: this.listenerAt,
        level: v.level,
        speaking: v.speaking,
        heard: this.measure(v),
      };
    });
  }

  /** The level reaching the panner at this moment (`level` keeps the one measured when states
   * last arrived); zero while the context is suspended, as nothing plays then. */
  measure(voice) {
    voice.analyser.getFloatTimeDomainData(voice.buf);
    return rms(voice.buf);
  }

  /** Entity ids whose voice is speaking now. */
  speakingEntities(replica) {
    const out = new Set();
    for (const v of this.voices.values()) {
      const speaker = v.speaking ? speakerOf(v.entry, replica) : null;
      if (speaker) out.add(speaker.i);
    }
    return out;
  }

  get state() {
    return this.ctx?.state ?? "none";
  }
}
