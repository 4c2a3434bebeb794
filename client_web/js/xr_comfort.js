// Comfort in VR, the pure half (tested under Node; xr.js applies it). Smooth turning and any
// camera motion the person did not make are what make people sick in a headset, so the view
// turns only in fixed steps, on the thumbstick, and the rig is otherwise still: it is placed
// when the member arrives or takes a seat, never to follow the server.

/** One snap turn: 45 degrees, in radians. */
export const SNAP_TURN = Math.PI / 4;
/** The stick turns once past PRESS and turns again only after it came back under RELEASE:
 * a stick held to one side turns once, and a stick resting a little off centre never does. */
export const STICK_PRESS = 0.7;
export const STICK_RELEASE = 0.3;

/**
 * Snap turning on one thumbstick. `update(x)` takes the stick's left-right axis each frame
 * (-1 left .. 1 right) and returns the turn to make now: +SNAP_TURN (left, counter-clockwise
 * seen from above, as three.js turns about +Y), -SNAP_TURN (right), or 0.
 */
export class SnapTurn {
  constructor({ step = SNAP_TURN, press = STICK_PRESS, release = STICK_RELEASE } = {}) {
    this.step = step;
    this.press = press;
    this.release = release;
    this.armed = true;
  }

  update(x) {
    const v = Number.isFinite(x) ? x : 0;
    if (this.armed && Math.abs(v) >= this.press) {
      this.armed = false;
      return v > 0 ? -this.step : this.step;
    }
    if (!this.armed && Math.abs(v) <= this.release) this.armed = true;
    return 0;
  }
}

/**
 * The rig (`{x, y, z, yaw}`) turned by `angle` about the vertical through the head at
 * (`headX`, `headZ`): the person turns on the spot, their head does not swing round the
 * rig's origin.
 */
export function turnAbout(rig, headX, headZ, angle) {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const dx = rig.x - headX;
  const dz = rig.z - headZ;
  return { x: headX + dx * c + dz * s, y: rig.y, z: headZ - dx * s + dz * c, yaw: rig.yaw + angle };
}

/**
 * Where the rig goes so that the headset, now at `viewer` in the rig (`{x, y, z, yaw}`: its
 * position and heading in the reference space), is at the avatar's eyes `pos` facing `yaw`.
 * Seated (the default, the `local` reference space, whose origin is the headset where the
 * session began) the eyes land on the avatar's, whatever the person's height or whether they
 * sit; standing (`local-floor`, the person's real height) the rig stays on the floor under
 * them, the eye height of the avatar's posture (`eye`) below its eyes.
 */
export function rigFor(pos, yaw, { standing = false, eye = 0, viewer = { x: 0, y: 0, z: 0, yaw: 0 } } = {}) {
  const turn = yaw - viewer.yaw;
  const c = Math.cos(turn);
  const s = Math.sin(turn);
  // The viewer's offset in the rig, turned as the rig will be (about +Y).
  const dx = viewer.x * c + viewer.z * s;
  const dz = -viewer.x * s + viewer.z * c;
  const y = standing ? Math.max(0, pos[1] - eye) : pos[1] - viewer.y;
  return { x: pos[0] - dx, y, z: pos[2] - dz, yaw: turn };
}

/** The reference space a comfort mode asks the session for. */
export function referenceSpaceFor({ standing = false } = {}) {
  return standing ? "local-floor" : "local";
}
