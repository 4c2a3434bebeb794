// Stylised people for the room: a few primitives coloured from the avatar's `look` (build,
// height, skin, hair style and colour, outfit). Cheap on purpose: the room must draw on a
// phone and in software WebGL, and a simple figure reads better than an uncanny face.

import * as THREE from "three";

export const DEFAULT_LOOK = Object.freeze({
  body: "average",
  height: 170,
  skin: "#c99a7a",
  hair: "short",
  hair_color: "#2b1d14",
  top: "#1f3a5f",
  bottom: "#2d2d2d",
  accent: "#c8a951",
});

/** Eye heights the server puts a head at (avatars/placement.py), metres. */
export const EYE_SEATED = 1.2;
export const EYE_STANDING = 1.6;

const WIDTH = { slim: 0.34, average: 0.4, broad: 0.48 };

const geometry = {
  box: new THREE.BoxGeometry(1, 1, 1),
  head: new THREE.SphereGeometry(0.11, 16, 12),
  hand: new THREE.SphereGeometry(0.045, 10, 8),
  limb: new THREE.CylinderGeometry(0.5, 0.5, 1, 10),
  torso: new THREE.CylinderGeometry(0.5, 0.42, 1, 14),
  cap: new THREE.SphereGeometry(0.118, 16, 10, 0, Math.PI * 2, 0, Math.PI * 0.55),
  bun: new THREE.SphereGeometry(0.055, 10, 8),
  curl: new THREE.SphereGeometry(0.05, 8, 6),
  ring: new THREE.TorusGeometry(0.42, 0.018, 8, 48),
  eye: new THREE.SphereGeometry(0.011, 10, 8),
};
// Eyes on the face (the head faces -Z), and lids of skin that close over them in a blink.
const EYE_AT = [0.038, 0.0, -0.1];
const LID_SCALE = 1.2;

function material(colour, { expert = false } = {}) {
  return new THREE.MeshLambertMaterial({
    color: new THREE.Color(colour),
    // Experts are lit from within a little and can fade: they arrive and leave on cue.
    emissive: expert ? new THREE.Color(colour).multiplyScalar(0.25) : new THREE.Color(0),
    transparent: expert,
  });
}

function part(geo, mat, [sx, sy, sz], [x, y, z]) {
  const mesh = new THREE.Mesh(geo, mat);
  mesh.scale.set(sx, sy, sz);
  mesh.position.set(x, y, z);
  return mesh;
}

/**
 * A figure for `look` (fields missing take the defaults). Returns `{ root, head, hands,
 * materials, ... }`: place `root` at the feet, turn `head` for the gaze; `hands` are drawn at
 * tracked positions by the caller in VR; `animateFigure` moves the rest.
 */
export function buildFigure(look, { seated = false, expert = false } = {}) {
  const l = { ...DEFAULT_LOOK, ...(look ?? {}) };
  const mats = {
    skin: material(l.skin, { expert }),
    hair: material(l.hair_color, { expert }),
    top: material(l.top, { expert }),
    bottom: material(l.bottom, { expert }),
    accent: material(l.accent, { expert }),
  };
  const root = new THREE.Group();
  const body = new THREE.Group();
  const scale = l.height / 170;
  body.scale.setScalar(scale);
  root.add(body);
  const w = WIDTH[l.body] ?? WIDTH.average;

  // Forward is -Z (yaw 0 looks along -Z). Seated: hips at chair height, thighs forward.
  const hip = seated ? 0.48 : 0.88;
  if (seated) {
    for (const side of [-1, 1]) {
      body.add(part(geometry.limb, mats.bottom, [0.13, 0.42, 0.13], [side * w * 0.24, hip, -0.2]).rotateX(Math.PI / 2));
      body.add(part(geometry.limb, mats.bottom, [0.12, 0.46, 0.12], [side * w * 0.24, 0.23, -0.41]));
    }
  } else {
    for (const side of [-1, 1]) {
      body.add(part(geometry.limb, mats.bottom, [0.13, hip, 0.13], [side * w * 0.24, hip / 2, 0]));
    }
  }
  const torsoH = 0.6;
  const chest = [w, 0.24]; // width and depth, which a breath widens
  const torso = part(geometry.torso, mats.top, [chest[0], torsoH, chest[1]], [0, hip + torsoH / 2, 0]);
  body.add(torso);
  // The accent (tie, scarf): a strip down the front of the jacket.
  body.add(part(geometry.box, mats.accent, [0.06, torsoH * 0.55, 0.02], [0, hip + torsoH * 0.62, -0.125]));
  const shoulder = hip + torsoH - 0.04;
  const hands = [];
  const arms = [];
  for (const side of [-1, 1]) {
    // Each arm hangs from a joint at the shoulder, which a gesture turns.
    const joint = new THREE.Group();
    joint.position.set(side * (w / 2 + 0.05), shoulder, 0);
    const arm = part(geometry.limb, mats.top, [0.1, 0.56, 0.1], [0, -0.28, seated ? -0.08 : 0]);
    if (seated) arm.rotation.x = Math.PI / 7;
    joint.add(arm);
    const hand = part(geometry.hand, mats.skin, [1, 1, 1], [0, -0.58, seated ? -0.2 : 0]);
    joint.add(hand);
    body.add(joint);
    hands.push(hand);
    arms.push(joint);
  }
  body.add(part(geometry.limb, mats.skin, [0.09, 0.1, 0.09], [0, hip + torsoH + 0.04, 0]));

  const head = new THREE.Group();
  head.position.set(0, hip + torsoH + 0.19, 0);
  head.add(new THREE.Mesh(geometry.head, mats.skin));
  const eyeMat = material("#1c1614", { expert });
  const lids = [];
  for (const side of [-1, 1]) {
    const [x, y, z] = EYE_AT;
    head.add(part(geometry.eye, eyeMat, [1, 1, 1], [side * x, y, z]));
    const lid = part(geometry.eye, mats.skin, [LID_SCALE, 0, LID_SCALE], [side * x, y, z - 0.001]);
    lid.visible = false;
    head.add(lid);
    lids.push(lid);
  }
  addHair(head, l.hair, mats.hair);
  body.add(head);

  if (expert) {
    const ring = new THREE.Mesh(geometry.ring, new THREE.MeshBasicMaterial({ color: 0x7fd3ff, transparent: true }));
    ring.rotation.x = Math.PI / 2;
    ring.position.y = 0.02;
    root.add(ring);
    mats.ring = ring.material;
  }
  root.traverse((o) => {
    o.castShadow = false;
    o.receiveShadow = false;
  });
  const materials = [...Object.values(mats), eyeMat];
  return { root, body, head, hands, materials, headHeight: head.position.y * scale, torso, arms, lids, chest };
}

/** Breathing, blinking and a gesture (see figure_life.js) on a figure. */
export function animateFigure(figure, { breath, lids, gesture }) {
  const [w, depth] = figure.chest;
  figure.torso.scale.x = w * (1 + 0.012 * breath);
  figure.torso.scale.z = depth * (1 + 0.03 * breath);
  for (const lid of figure.lids) {
    lid.visible = lids > 0.05;
    lid.scale.y = LID_SCALE * lids;
  }
  // The left hand (the figure faces -Z, so its left is -X) comes forward and a little out.
  const joint = figure.arms[0];
  joint.rotation.x = 0.9 * gesture;
  joint.rotation.z = -0.25 * gesture;
}

// Caps of hair tilt back, so that the hairline sits above the eyes and the hair falls lower
// at the back of the head.
const HAIRLINE_TILT = 0.45;

function addHair(head, style, mat) {
  const add = (geo, s, p, r = [geo === geometry.cap ? HAIRLINE_TILT : 0, 0, 0]) => {
    const m = part(geo, mat, s, p);
    m.rotation.set(...r);
    head.add(m);
  };
  switch (style) {
    case "none":
      return;
    case "short":
      add(geometry.cap, [1, 0.9, 1.02], [0, 0.01, 0.005]);
      return;
    case "bob":
      add(geometry.cap, [1.08, 1.25, 1.08], [0, -0.02, 0.01]);
      return;
    case "long":
      add(geometry.cap, [1.05, 1.1, 1.05], [0, 0, 0.005]);
      add(geometry.box, [0.22, 0.3, 0.06], [0, -0.12, 0.09]);
      return;
    case "bun":
      add(geometry.cap, [1, 0.95, 1.02], [0, 0.01, 0.005]);
      add(geometry.bun, [1, 1, 1], [0, 0.08, 0.1]);
      return;
    case "ponytail":
      add(geometry.cap, [1, 0.95, 1.02], [0, 0.01, 0.005]);
      add(geometry.limb, [0.05, 0.22, 0.05], [0, -0.04, 0.14], [0.35, 0, 0]);
      return;
    case "curly":
      for (let i = 0; i < 9; i++) {
        const a = (i / 9) * Math.PI * 2;
        add(geometry.curl, [1, 1, 1], [Math.cos(a) * 0.09, 0.06 + (i % 2) * 0.02, Math.sin(a) * 0.09]);
      }
      add(geometry.cap, [1.02, 0.9, 1.02], [0, 0.02, 0]);
      return;
    default:
      add(geometry.cap, [1, 0.9, 1.02], [0, 0.01, 0.005]);
  }
}

/** A loose hand drawn where a VR controller is. */
export function buildHand(look) {
  const l = { ...DEFAULT_LOOK, ...(look ?? {}) };
  return new THREE.Mesh(geometry.hand, material(l.skin));
}

/** Fade a figure in or out (experts): 0 invisible, 1 solid. */
export function setFigureOpacity(figure, opacity) {
  for (const m of figure.materials) {
    m.opacity = opacity;
    m.depthWrite = opacity > 0.99;
  }
  figure.root.visible = opacity > 0.01;
}

export function disposeFigure(figure) {
  for (const m of figure.materials) m.dispose();
}
