// The people of the room: one rigged humanoid (scenes/assets/avatar.glb, written by
// tools/build_avatars.py and shared with the server's renderer), cloned for each figure and
// dressed from the avatar's `look`: the materials named by role take its colours, the
// `broad`/`slim` morph targets its build, the face's its shape, one `hair_<style>` mesh its
// hairstyle, a uniform scale its height. A figure sits by turning its thighs and shins, turns
// its head on the neck, and breathes, blinks, speaks and gestures with morph targets and one
// arm.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import * as SkeletonUtils from "three/addons/utils/SkeletonUtils.js";

export const DEFAULT_LOOK = Object.freeze({
  body: "average",
  height: 170,
  skin: "#c99a7a",
  hair: "short",
  hair_color: "#2b1d14",
  top: "#1f3a5f",
  bottom: "#2d2d2d",
  accent: "#c8a951",
  face: "oval",
});

/** Eye heights the server puts a head at (avatars/placement.py), metres. */
export const EYE_SEATED = 1.2;
export const EYE_STANDING = 1.6;

export const FIGURE_URL = "/scenes/assets/avatar.glb";

/** The model's joints, its hairstyles ("none": no hair mesh) and morph targets. */
export const JOINTS = Object.freeze([
  "hips", "spine", "chest", "neck", "head",
  "upper_arm_l", "forearm_l", "hand_l", "upper_arm_r", "forearm_r", "hand_r",
  "thigh_l", "shin_l", "foot_l", "thigh_r", "shin_r", "foot_r",
]);
export const HAIRSTYLES = Object.freeze(["short", "bob", "long", "bun", "ponytail", "curly"]);
const BODY_TARGETS = ["broad", "slim", "breath"];
const FACE_SHAPES = ["round", "square", "heart", "long"]; // "oval" is the rest shape
const FACE_TARGETS = ["mouth_open", "blink", ...FACE_SHAPES];

// The rest pose of the file: 170 cm, standing, eyes (the head's centre) at 1.61 m, hips at
// 0.92 m. Seated, the hips come down until the eyes are where the server puts a seated head.
const MODEL_HEIGHT_CM = 170;
const REST_EYE = 1.61;
const SEAT_DROP = REST_EYE - EYE_SEATED;
// Seated, the arms come a little forward and the forearms forward and in, hands on the lap.
// Radians: the upper arm forward and in, the forearm forward and in from the elbow.
const SEATED_ARM = { upper: 0.15, inward: 0.05, fore: 0.95, foreInward: 0.3 };
// Every pose of the figure in its own frame (metres, before the height's scale): standing to
// the top of the hair, seated with the knees and feet forward, an arm raised forward.
const FIGURE_BOUNDS = new THREE.Sphere(new THREE.Vector3(0, 0.9, -0.15), 1.1);
// A joint scaled to this is drawn as nothing (0 itself would leave no rotation to read back).
const HIDDEN_SCALE = 1e-3;

const handGeometry = new THREE.SphereGeometry(0.045, 10, 8);
const ringGeometry = new THREE.TorusGeometry(0.42, 0.018, 8, 48);

let model = null; // the loaded scene, which figures are cloned from
let modelPromise = null;
let modelUrl = null;

/**
 * Load the figure model (once: later calls share the first call's promise; a failed load may
 * be tried again). Resolves to the model's scene, which `buildFigure` then clones.
 */
export function loadFigureModel(url = FIGURE_URL) {
  if (!modelPromise) {
    modelPromise = new GLTFLoader().loadAsync(url).then(
      (gltf) => useFigureModel(gltf, url),
      (err) => {
        modelPromise = null;
        throw new Error(`figures (${url}): ${err?.message ?? err}`);
      },
    );
  }
  return modelPromise;
}

/** Take an already parsed glTF (GLTFLoader's result) as the figure model. */
export function useFigureModel(gltf, url = null) {
  const scene = gltf.scene;
  const names = new Set();
  scene.traverse((o) => names.add(o.name));
  const missing = [...JOINTS, "body", "face", ...HAIRSTYLES.map((s) => `hair_${s}`)].filter((n) => !names.has(n));
  if (missing.length) throw new Error(`the figure model lacks ${missing.join(", ")}`);
  model = scene;
  modelUrl = url;
  modelPromise = Promise.resolve(model);
  return model;
}

/** Whether figures can be built now. */
export function figureModelLoaded() {
  return model !== null;
}

function material(colour, { expert = false } = {}) {
  return new THREE.MeshLambertMaterial({
    color: new THREE.Color(colour),
    // Experts are lit from within a little and can fade: they arrive and leave on cue.
    emissive: expert ? new THREE.Color(colour).multiplyScalar(0.25) : new THREE.Color(0),
    transparent: expert,
  });
}

/** The meshes under `object` that have morph targets. */
function morphed(object) {
  const meshes = [];
  object.traverse((o) => {
    if (o.isMesh && o.morphTargetDictionary) meshes.push(o);
  });
  return meshes;
}

function setMorph(meshes, name, value) {
  for (const mesh of meshes) {
    const i = mesh.morphTargetDictionary[name];
    if (i !== undefined) mesh.morphTargetInfluences[i] = value;
  }
}

function morphOf(meshes, name) {
  for (const mesh of meshes) {
    const i = mesh.morphTargetDictionary[name];
    if (i !== undefined) return mesh.morphTargetInfluences[i];
  }
  return null;
}

/**
 * A figure for `look` (fields missing take the defaults), cloned from the loaded model (see
 * `loadFigureModel`). Returns `{ root, body, head, hands, materials, headHeight, ... }`: place
 * `root` at the feet and turn it for the body's yaw; `head` is the head joint, to turn for the
 * gaze on the body; `hands` the hand joints (`setHandsShown`); `headHeight` the eyes' height
 * above `root`; `animateFigure` and `setMouth` move the rest.
 */
export function buildFigure(look, { seated = false, expert = false } = {}) {
  if (!model) throw new Error("the figure model is not loaded");
  const l = { ...DEFAULT_LOOK, ...(look ?? {}) };
  const colours = { skin: l.skin, hair: l.hair_color, top: l.top, bottom: l.bottom, accent: l.accent };

  const body = SkeletonUtils.clone(model);
  const scale = (Number(l.height) || MODEL_HEIGHT_CM) / MODEL_HEIGHT_CM;
  body.scale.setScalar(scale);
  const root = new THREE.Group();
  root.add(body);

  // Own materials (by role) for every figure: the look's colours, or the file's for the rest.
  const mats = new Map();
  let skeleton = null;
  body.traverse((o) => {
    if (!o.isMesh) return;
    const role = o.material.name;
    let m = mats.get(role);
    if (!m) {
      m = material(colours[role] ?? o.material.color, { expert });
      m.name = role;
      mats.set(role, m);
    }
    o.material = m;
    // A skinned mesh's bounds are computed once, from its pose at that moment, and a figure
    // sits and gestures after: each mesh gets a sphere that holds the whole figure in any pose
    // it takes, so that figures out of view are culled and figures in view never are.
    if (o.isSkinnedMesh) o.boundingSphere = FIGURE_BOUNDS.clone();
    o.castShadow = false;
    o.receiveShadow = false;
    // One skeleton for all the meshes of a figure: its bones are computed once a frame.
    if (o.isSkinnedMesh) {
      if (skeleton) o.bind(skeleton, o.bindMatrix);
      else skeleton = o.skeleton;
    }
  });

  const hair = HAIRSTYLES.includes(l.hair) ? l.hair : l.hair === "none" ? "none" : DEFAULT_LOOK.hair;
  for (const style of HAIRSTYLES) body.getObjectByName(`hair_${style}`).visible = style === hair;

  const bodyMeshes = morphed(body.getObjectByName("body"));
  const faceMeshes = morphed(body.getObjectByName("face"));
  setMorph(bodyMeshes, "broad", l.body === "broad" ? 1 : 0);
  setMorph(bodyMeshes, "slim", l.body === "slim" ? 1 : 0);
  for (const shape of FACE_SHAPES) setMorph(faceMeshes, shape, l.face === shape ? 1 : 0);

  const bones = {};
  body.traverse((o) => {
    if (o.isBone) bones[o.name] = o;
  });
  const arm = { x: 0, z: 0 }; // the gesturing (left) arm at rest
  if (seated) {
    // Forward is -Z: a thigh turned a quarter about +X points along -Z, its shin down again.
    bones.hips.position.y -= SEAT_DROP;
    for (const side of ["l", "r"]) {
      const s = side === "l" ? 1 : -1; // the left arm is at -X: inward is +Z rotation
      bones[`thigh_${side}`].rotation.x = Math.PI / 2;
      bones[`shin_${side}`].rotation.x = -Math.PI / 2;
      bones[`upper_arm_${side}`].rotation.set(SEATED_ARM.upper, 0, s * SEATED_ARM.inward);
      bones[`forearm_${side}`].rotation.set(SEATED_ARM.fore, 0, s * SEATED_ARM.foreInward);
    }
    arm.x = SEATED_ARM.upper;
    arm.z = SEATED_ARM.inward;
  }

  const materials = [...mats.values()];
  if (expert) {
    const ring = new THREE.Mesh(ringGeometry, new THREE.MeshBasicMaterial({ color: 0x7fd3ff, transparent: true }));
    ring.rotation.x = Math.PI / 2;
    ring.position.y = 0.02;
    root.add(ring);
    materials.push(ring.material);
  }
  return {
    root,
    body,
    skeleton,
    head: bones.head,
    hands: [bones.hand_l, bones.hand_r],
    materials,
    headHeight: (REST_EYE - (seated ? SEAT_DROP : 0)) * scale,
    bones,
    bodyMeshes,
    faceMeshes,
    hair,
    seated,
    arm,
  };
}

/** Breathing, blinking and a gesture (see figure_life.js) on a figure. */
export function animateFigure(figure, { breath, lids, gesture }) {
  setMorph(figure.bodyMeshes, "breath", breath);
  setMorph(figure.faceMeshes, "blink", lids);
  // The left hand (the figure faces -Z, so its left is -X) comes forward and a little out.
  const arm = figure.bones.upper_arm_l;
  arm.rotation.x = figure.arm.x + 0.9 * gesture;
  arm.rotation.z = figure.arm.z - 0.25 * gesture;
}

/** Open the mouth: 0 shut, 1 as wide as it goes. */
export function setMouth(figure, open) {
  setMorph(figure.faceMeshes, "mouth_open", open);
}

/** Draw the figure's own hands, or not (in VR the tracked hands are drawn instead). */
export function setHandsShown(figure, shown) {
  for (const hand of figure.hands) hand.scale.setScalar(shown ? 1 : HIDDEN_SCALE);
}

/** Draw the figure's head, or not (its owner's, in the way of their own eyes). */
export function setHeadShown(figure, shown) {
  figure.head.scale.setScalar(shown ? 1 : HIDDEN_SCALE);
}

export function headShown(figure) {
  return figure.root.visible && figure.head.scale.x > HIDDEN_SCALE * 10;
}

const _a = new THREE.Vector3();
const _b = new THREE.Vector3();
const round = (v) => Math.round(v * 1000) / 1000;

/** What a figure shows, as drawn now (for tests): where it comes from, its hairstyle, its
 * morph weights, its thighs' direction and its facing in the room. */
export function describeFigure(figure) {
  figure.root.updateWorldMatrix(true, true);
  const along = (from, to) => _b.setFromMatrixPosition(to.matrixWorld).sub(_a.setFromMatrixPosition(from.matrixWorld)).normalize().toArray().map(round);
  const b = figure.bones;
  const morphs = (meshes, names) => Object.fromEntries(names.map((n) => [n, round(morphOf(meshes, n) ?? NaN)]));
  let skinned = 0;
  figure.body.traverse((o) => {
    if (o.isSkinnedMesh) skinned += 1;
  });
  const forward = _a.set(0, 0, -1).transformDirection(figure.root.matrixWorld).toArray().map(round);
  return {
    model: modelUrl,
    skinned,
    joints: JOINTS.filter((n) => b[n]?.isBone).length,
    hair: figure.hair,
    hairShown: HAIRSTYLES.filter((s) => figure.body.getObjectByName(`hair_${s}`).visible),
    body: morphs(figure.bodyMeshes, BODY_TARGETS),
    face: morphs(figure.faceMeshes, FACE_TARGETS),
    seated: figure.seated,
    thighs: [along(b.thigh_l, b.shin_l), along(b.thigh_r, b.shin_r)],
    forward,
    drawn: figure.root.visible,
    head: headShown(figure),
    hands: figure.hands.map((h) => h.scale.x > HIDDEN_SCALE * 10),
    scale: round(figure.body.scale.x),
    headHeight: round(figure.headHeight),
  };
}

/** A loose hand drawn where a VR controller is. */
export function buildHand(look) {
  const l = { ...DEFAULT_LOOK, ...(look ?? {}) };
  return new THREE.Mesh(handGeometry, material(l.skin));
}

/** Fade a figure in or out (experts): 0 invisible, 1 solid. */
export function setFigureOpacity(figure, opacity) {
  for (const m of figure.materials) {
    m.opacity = opacity;
    m.depthWrite = opacity > 0.99;
  }
  figure.root.visible = opacity > 0.01;
}

/** Let go of a figure's own materials; the geometry is the model's, shared by every figure. */
export function disposeFigure(figure) {
  for (const m of figure.materials) m.dispose();
  figure.skeleton?.dispose(); // its bone texture, the figure's own
}
