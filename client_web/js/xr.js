// WebXR: an "Enter VR" button when the browser can show immersive VR, the member's head and
// both controllers sent as poses (hand mode 1) at the headset's frame rate within the
// server's rate, teleporting by pointing at a seat and pulling the trigger (`sit`), and
// push-to-talk for questions by voice: the trigger pulled anywhere but at a seat, or the grip
// (squeeze), on either controller, held while speaking. Comfort (xr_comfort.js): seated by
// default, 45-degree snap turns on either thumbstick, and no other motion of the view than
// the person's own, a seat they chose and their turns.

import * as THREE from "three";

import { EYE_SEATED, EYE_STANDING } from "./figures.js";
import { yawOf } from "./pose.js";
import { SnapTurn, referenceSpaceFor, rigFor, turnAbout } from "./xr_comfort.js";

const _pos = new THREE.Vector3();
const _quat = new THREE.Quaternion();
const _scale = new THREE.Vector3();
const _up = new THREE.Vector3(0, 1, 0);
const _head = new THREE.Matrix4();
/** How long poses wait for the answer to a seat asked for; past it, it was refused. */
const ASK_WAIT_MS = 2000;

/** Whether this browser can enter immersive VR (false without WebXR or a headset). */
export async function vrSupported() {
  try {
    return Boolean(navigator.xr) && (await navigator.xr.isSessionSupported("immersive-vr"));
  } catch {
    return false;
  }
}

function partOf(object) {
  return partOfMatrix(object.matrixWorld);
}

function partOfMatrix(matrix) {
  matrix.decompose(_pos, _quat, _scale);
  return [_pos.x, _pos.y, _pos.z, _quat.x, _quat.y, _quat.z, _quat.w].map((v) => Math.round(v * 10000) / 10000);
}

export class VrMode {
  /**
   * `room`: the RoomScene; `session`: the RoomSession (poses, sit); `onChange(presenting)`;
   * `onTalk(source, on)`: push-to-talk pressed or let go (`source` names the controller and
   * its button, so that two held at once let go only with the last); `standing`: the
   * person's real height on the floor instead of the seated default.
   */
  constructor(room, session, onChange, onTalk = null, { standing = false } = {}) {
    this.room = room;
    this.session = session;
    this.onChange = onChange;
    this.onTalk = onTalk;
    this.standing = standing;
    this.xrSession = null;
    this.controllers = [];
    this.seatPlaced = null;
    this.turns = 0; // snap turns made: for tests
    this.asked = null; // {seat, until}: a seat (or "" to stand) asked for and not yet had
    this.lastHead = null;
    const renderer = room.renderer;
    for (const i of [0, 1]) {
      const controller = renderer.xr.getController(i);
      const grip = renderer.xr.getControllerGrip(i);
      const entry = { controller, grip, handedness: null, connected: false, source: null, seat: null, talking: new Set(), snap: new SnapTurn() };
      controller.addEventListener("connected", (e) => {
        entry.handedness = e.data.handedness;
        entry.source = e.data;
        entry.connected = true;
      });
      controller.addEventListener("disconnected", () => {
        entry.connected = false;
        entry.source = null;
        for (const button of [...entry.talking]) this.talk(entry, i, button, false);
      });
      // The trigger sits at the seat it points at when pulled (on release); pulled anywhere
      // else it talks while held, as the grip does. Sitting goes on `selectend`, not `select`:
      // runtimes disagree on whether `select` comes before `selectstart` or at the release.
      controller.addEventListener("selectstart", () => {
        entry.seat = this.seatAt(controller);
        if (!entry.seat) this.talk(entry, i, "trigger", true);
      });
      controller.addEventListener("selectend", () => {
        if (entry.seat) this.ask({ t: "sit", seat: entry.seat });
        entry.seat = null;
        this.talk(entry, i, "trigger", false);
      });
      controller.addEventListener("squeezestart", () => this.talk(entry, i, "grip", true));
      controller.addEventListener("squeezeend", () => this.talk(entry, i, "grip", false));
      // A short ray shows where the controller points.
      const ray = new THREE.Line(
        new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(0, 0, 0), new THREE.Vector3(0, 0, -3)]),
        new THREE.LineBasicMaterial({ color: 0xc8a951 }),
      );
      controller.add(ray);
      grip.add(new THREE.Mesh(new THREE.SphereGeometry(0.035, 10, 8), new THREE.MeshLambertMaterial({ color: 0xdddddd })));
      room.rig.add(controller, grip);
      this.controllers.push(entry);
    }
    this.raycaster = new THREE.Raycaster();
    const previous = room.onFrame;
    room.onFrame = (t) => {
      previous?.(t);
      if (this.xrSession) this.frame();
    };
  }

  async toggle() {
    if (this.xrSession) {
      await this.xrSession.end();
      return;
    }
    const space = referenceSpaceFor({ standing: this.standing });
    const session = await navigator.xr.requestSession("immersive-vr", { optionalFeatures: [space] });
    const renderer = this.room.renderer;
    renderer.xr.enabled = true;
    renderer.xr.setReferenceSpaceType(space);
    await renderer.xr.setSession(session);
    this.xrSession = session;
    // Headset frames can come at 72-120 Hz; poses go at that rate, within the server's limit.
    this.session.maxPoseHz = session.frameRate ?? 90;
    this.seatPlaced = null;
    this.asked = null;
    this.lastHead = null;
    this.onChange(true);
    session.addEventListener("end", () => {
      this.xrSession = null;
      this.session.maxPoseHz = 30;
      renderer.xr.enabled = false;
      this.room.setViewMode(this.room.viewMode);
      this.onChange(false);
    });
  }

  /**
   * Put the rig at the member's place when it changes: arrival, and a seat taken or left.
   * Nothing else moves it but snap turns: the server's echo of our own pose never does.
   * `viewer`: the headset in the reference space, which lands at the avatar's eyes.
   */
  placeRig(viewer) {
    const head = this.room.ownHead();
    const seat = this.room.ownSeat();
    if (!head || this.seatPlaced === seat) return;
    this.seatPlaced = seat;
    this.asked = null;
    const eye = seat ? EYE_SEATED : EYE_STANDING;
    const at = rigFor(head.pos, yawOf(head.rot), { standing: this.standing, eye, viewer: viewer ?? undefined });
    this.setRig(at);
    this.room.camera.position.set(0, 0, 0);
    this.room.camera.quaternion.identity();
  }

  /**
   * Ask the room for a seat (`sit`) or to stand (`stand`). Until the answer arrives no pose
   * leaves: one drawn from the old place would reach the room after it moved us, and the
   * view would be put back where it was.
   */
  ask(msg) {
    if (!this.session.send(msg)) return;
    this.asked = { seat: msg.t === "sit" ? msg.seat : "", until: performance.now() + ASK_WAIT_MS };
  }

  setRig({ x, y, z, yaw }) {
    const rig = this.room.rig;
    rig.position.set(x, y, z);
    rig.quaternion.setFromAxisAngle(_up, yaw);
    rig.updateMatrixWorld(true);
  }

  /** A thumbstick pushed left or right turns the view by one step about the head. */
  snapTurn(head) {
    for (const entry of this.controllers) {
      const axes = entry.connected ? entry.source?.gamepad?.axes : null;
      // xr-standard puts the thumbstick on axes 2 and 3; a touchpad alone on 0 and 1.
      const x = axes ? (axes.length > 2 ? axes[2] : axes[0]) : 0;
      const angle = entry.snap.update(x);
      if (!angle || this.seatPlaced === null) continue;
      const rig = this.room.rig;
      const from = { x: rig.position.x, y: rig.position.y, z: rig.position.z, yaw: yawOf(rig.quaternion.toArray()) };
      this.setRig(turnAbout(from, head[0], head[2], angle));
      this.turns++;
    }
  }

  /** The headset in the reference space this frame, `{x, y, z, yaw, matrix}`, or null. */
  viewerPose() {
    const xr = this.room.renderer.xr;
    const viewer = xr.getFrame()?.getViewerPose(xr.getReferenceSpace());
    if (!viewer) return null;
    const { position: p, orientation: o } = viewer.transform;
    return { x: p.x, y: p.y, z: p.z, yaw: yawOf([o.x, o.y, o.z, o.w]), matrix: viewer.transform.matrix };
  }

  /**
   * The head in the room: the viewer's pose (between the eyes) in the rig. The XR camera is
   * not it: with a single view (a phone, a runtime showing one eye) it is that eye's.
   */
  headPart(viewer) {
    if (!viewer) return partOf(this.room.renderer.xr.getCamera());
    this.room.rig.updateMatrixWorld();
    return partOfMatrix(_head.fromArray(viewer.matrix).premultiply(this.room.rig.matrixWorld));
  }

  frame() {
    const viewer = this.viewerPose();
    this.placeRig(viewer);
    const head = this.headPart(viewer);
    this.lastHead = head;
    if (this.asked && this.asked.until < performance.now()) this.asked = null; // refused
    if (!this.asked) this.sendPose(head);
    // After the pose: this frame's camera was drawn from the rig before the turn.
    this.snapTurn(head);
  }

  sendPose(head) {
    const pose = { p: head.slice(0, 3), q: head.slice(3) };
    const left = this.controllers.find((c) => c.connected && c.handedness === "left");
    const right = this.controllers.find((c) => c.connected && c.handedness === "right");
    if (left && right && left.grip.visible && right.grip.visible) {
      pose.hm = 1;
      pose.lh = partOf(left.grip);
      pose.rh = partOf(right.grip);
    }
    this.session.offerPose(pose);
  }

  /** The rig and the headset's view in the room, and the snap turns made: for tests. */
  view() {
    const rig = this.room.rig;
    const presenting = Boolean(this.xrSession);
    return {
      presenting,
      space: referenceSpaceFor({ standing: this.standing }),
      rig: [...rig.position.toArray(), ...rig.quaternion.toArray()],
      head: presenting ? this.lastHead : null, // as last drawn (and sent, unless asking)
      camera: presenting ? partOf(this.room.renderer.xr.getCamera()) : null, // as last drawn
      turns: this.turns,
    };
  }

  /** The seat a controller points at, or null. */
  seatAt(controller) {
    controller.updateMatrixWorld();
    const origin = new THREE.Vector3().setFromMatrixPosition(controller.matrixWorld);
    const direction = new THREE.Vector3(0, 0, -1).applyQuaternion(controller.getWorldQuaternion(new THREE.Quaternion()));
    this.raycaster.set(origin, direction);
    const hit = this.raycaster.intersectObjects(this.room.seatMarkers, false)[0];
    return hit?.object.userData.seat ?? null;
  }

  /** Push-to-talk on controller `index`'s `button` ("trigger" or "grip"). */
  talk(entry, index, button, on) {
    if (on === entry.talking.has(button)) return;
    if (on) entry.talking.add(button);
    else entry.talking.delete(button);
    this.onTalk?.(`xr${index}.${button}`, on);
  }
}
