// The thin view's pure half: the gaze a member chooses (drag, touch, the phone's gyroscope)
// as the head pose the server draws the room from, and which video lane suits the link.
// No DOM here: tested under Node (test/thin_view.test.js). room_thin.js puts it to work.

import { unpackPose } from "./pose.js";

/** Pitch is kept off the vertical, as the server's camera keeps it (render_track.py). */
export const MAX_PITCH = (80 * Math.PI) / 180;
/** Radians per pixel of drag: a drag across a phone's width turns the head about 100°. */
export const DRAG_RAD_PER_PX = 0.005;

/** The rotation [x, y, z, w] of a gaze: `yaw` about +Y (0 looks along -Z), then `pitch` about X
 * (positive looks up); three.js's Euler(pitch, yaw, 0, "YXZ"). */
export function lookQuat(yaw, pitch) {
  const sy = Math.sin(yaw / 2);
  const cy = Math.cos(yaw / 2);
  const sx = Math.sin(pitch / 2);
  const cx = Math.cos(pitch / 2);
  return [cy * sx, sy * cx, -sy * sx, cy * cx];
}

/** The yaw and pitch a rotation looks along (roll dropped: the horizon stays level). */
export function gazeOf([x, y, z, w]) {
  // The rotated forward vector (0, 0, -1).
  const fx = -2 * (x * z + w * y);
  const fy = -2 * (y * z - w * x);
  const fz = -(1 - 2 * (x * x + y * y));
  return { yaw: Math.atan2(-fx, -fz), pitch: Math.asin(Math.max(-1, Math.min(1, fy))) };
}

function clampPitch(pitch) {
  return Math.max(-MAX_PITCH, Math.min(MAX_PITCH, pitch));
}

/** The gaze after a drag of (dx, dy) pixels: dragging right turns the head right, dragging
 * up looks up, as the desktop's seat view does. */
export function dragLook(look, dx, dy) {
  return { yaw: look.yaw - dx * DRAG_RAD_PER_PX, pitch: clampPitch(look.pitch - dy * DRAG_RAD_PER_PX) };
}

function mul([ax, ay, az, aw], [bx, by, bz, bw]) {
  return [
    aw * bx + ax * bw + ay * bz - az * by,
    aw * by - ax * bz + ay * bw + az * bx,
    aw * bz + ax * by - ay * bx + az * bw,
    aw * bw - ax * bx - ay * by - az * bz,
  ];
}

/**
 * The rotation of the camera behind a phone's screen from a `deviceorientation` event
 * (`alpha`, `beta`, `gamma` in degrees) and the screen's own angle (`screen.orientation.angle`):
 * the W3C frame (Z up, Y north) turned into the room's (Y up, -Z ahead). A phone held upright
 * in portrait, facing alpha 0, looks along -Z.
 */
export function deviceQuat(alpha, beta, gamma, screenAngle = 0) {
  const rad = Math.PI / 180;
  // Euler YXZ of (beta, alpha, -gamma).
  const x = beta * rad;
  const y = alpha * rad;
  const z = -gamma * rad;
  const [c1, c2, c3] = [Math.cos(x / 2), Math.cos(y / 2), Math.cos(z / 2)];
  const [s1, s2, s3] = [Math.sin(x / 2), Math.sin(y / 2), Math.sin(z / 2)];
  const q = [s1 * c2 * c3 + c1 * s2 * s3, c1 * s2 * c3 - s1 * c2 * s3, c1 * c2 * s3 - s1 * s2 * c3, c1 * c2 * c3 + s1 * s2 * s3];
  // From looking out of the back of a phone lying flat to looking out of an upright one.
  const upright = [-Math.SQRT1_2, 0, 0, Math.SQRT1_2];
  const a = (-screenAngle * rad) / 2;
  const screen = [0, 0, Math.sin(a), Math.cos(a)];
  return mul(mul(q, upright), screen);
}

/**
 * The gaze from the gyroscope with what the member dragged added on: `offset` is the yaw and
 * pitch dragged since the gyroscope took over, so both ways of looking around work together.
 */
export function gyroLook(quat, offset) {
  const g = gazeOf(quat);
  return { yaw: g.yaw + offset.yaw, pitch: clampPitch(g.pitch + offset.pitch) };
}

/** The pose to send for an avatar entity (its packed `x` from the replica) looking along
 * `look`: the head stays where the room has it, only its rotation is ours. Null without one. */
export function thinPose(ent, look) {
  if (!ent?.x) return null;
  const head = unpackPose(ent.x).head;
  return { p: head.mm.map((v) => v / 1000), q: lookQuat(look.yaw, look.pitch) };
}

// --- the video lane ----------------------------------------------------------------------------

/** Loss over a window above this moves the picture to the low lane. */
export const LOSS_DOWN = 0.05;
/** ... and it goes back up only after this many windows in a row under LOSS_UP. */
export const LOSS_UP = 0.01;
export const CLEAN_WINDOWS_UP = 5;
/** A share of the frames received dropped unplayed above this (the device cannot decode the
 * high lane in time) also moves it down. The frame rate alone says nothing of the link: the
 * server draws slower when it is busy, and the low lane would not help that. */
export const DROPPED_DOWN = 0.2;
/** A lane is kept at least this long, so that one bad second does not flap it. */
export const HOLD_MS = 8000;

/**
 * Which lane the view should be on, from the receiver's cumulative `inbound-rtp` figures.
 * `state` is what the previous call returned (start with `laneState("high")`); `sample` is
 * `{at (ms), packetsReceived, packetsLost, framesDecoded, framesReceived?, framesDropped?}`.
 * Returns the next state; its `quality` is the lane to ask for, `loss`, `dropped` and `fps`
 * what the last window measured.
 */
export function nextLane(state, sample) {
  const prev = state.last;
  const next = { ...state, last: sample };
  if (!prev || sample.at <= prev.at) return next;
  const received = sample.packetsReceived - prev.packetsReceived;
  const lost = Math.max(0, sample.packetsLost - prev.packetsLost);
  const seconds = (sample.at - prev.at) / 1000;
  next.loss = received + lost > 0 ? lost / (received + lost) : 0;
  next.fps = (sample.framesDecoded - prev.framesDecoded) / seconds;
  const frames = (sample.framesReceived ?? 0) - (prev.framesReceived ?? 0);
  const dropped = (sample.framesDropped ?? 0) - (prev.framesDropped ?? 0);
  next.dropped = frames > 0 ? Math.max(0, dropped) / frames : 0;
  const held = sample.at - state.since >= HOLD_MS;
  if (state.quality === "high") {
    if (held && (next.loss > LOSS_DOWN || next.dropped > DROPPED_DOWN)) return { ...next, quality: "low", since: sample.at, clean: 0 };
    return next;
  }
  next.clean = next.loss < LOSS_UP ? state.clean + 1 : 0;
  if (held && next.clean >= CLEAN_WINDOWS_UP) return { ...next, quality: "high", since: sample.at, clean: 0 };
  return next;
}

/** The state `nextLane` starts from: on `quality` since `at`. */
export function laneState(quality = "high", at = 0) {
  return { quality, since: at, clean: 0, last: null, loss: 0, dropped: 0, fps: 0 };
}
