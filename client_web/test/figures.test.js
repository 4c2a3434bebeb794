// The people of the room from the avatar model itself (scenes/assets/avatar.glb), posed and
// dressed as the page draws them: no WebGL needed, the skinning is computed on the CPU.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { before, describe, test } from "node:test";

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

import {
  EYE_SEATED,
  HAIRSTYLES,
  JOINTS,
  animateFigure,
  buildFigure,
  describeFigure,
  disposeFigure,
  figureModelLoaded,
  headShown,
  setHandsShown,
  setHeadShown,
  setMouth,
  useFigureModel,
} from "../js/figures.js";

// A seated figure's joints, in the room's frame: the same numbers in the Python test.
const SEATED_JOINTS = {
  hand_l: [-0.14, 0.606, -0.257],
  hand_r: [0.14, 0.606, -0.257],
  forearm_l: [-0.211, 0.713, -0.042],
  foot_l: [-0.1, 0.08, -0.41],
};

const GLB = new URL("../../scenes/assets/avatar.glb", import.meta.url);

before(async () => {
  const bytes = readFileSync(GLB);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const gltf = await new GLTFLoader().parseAsync(buffer, "");
  useFigureModel(gltf, GLB.href);
});

/** The box around the figure's skinned vertices (posed, with its morphs) of the meshes under
 * `name` (of material `role`), in the room: what the GPU would draw. */
function drawn(figure, name = null, role = null) {
  figure.root.updateMatrixWorld(true);
  figure.skeleton.update();
  const box = new THREE.Box3();
  const v = new THREE.Vector3();
  const under = name ? figure.body.getObjectByName(name) : figure.body;
  under.traverse((o) => {
    if (!o.isSkinnedMesh || !o.visible || (role && o.material.name !== role)) return;
    const n = o.geometry.attributes.position.count;
    for (let i = 0; i < n; i++) {
      o.getVertexPosition(i, v);
      box.expandByPoint(v.applyMatrix4(o.matrixWorld));
    }
  });
  return box;
}

function worldOf(object) {
  return new THREE.Vector3().setFromMatrixPosition(object.matrixWorld);
}

describe("figures from the avatar model", () => {
  test("the model is loaded, with every joint, and the joints' rest rotations are none", () => {
    assert.ok(figureModelLoaded());
    const f = buildFigure({});
    assert.deepEqual(Object.keys(f.bones).sort(), [...JOINTS].sort());
    for (const bone of Object.values(f.bones)) assert.ok(bone.quaternion.equals(new THREE.Quaternion()), bone.name);
  });

  test("standing, 170 cm: feet on the floor, the head's centre at headHeight, facing -Z", () => {
    const f = buildFigure({ height: 170 });
    const all = drawn(f);
    assert.ok(Math.abs(all.min.y) < 0.01, `feet at ${all.min.y}`);
    assert.ok(Math.abs(all.max.y - 1.74) < 0.03, `top of the head at ${all.max.y}`);
    const face = drawn(f, "face");
    assert.ok(Math.abs((face.min.y + face.max.y) / 2 - f.headHeight) < 0.02);
    assert.ok(Math.abs(f.headHeight - 1.61) < 1e-9);
    // The toes (and the accent on the jacket's front) are towards -Z.
    const shoes = drawn(f, "body", "shoes");
    assert.ok(shoes.min.z < -0.15 && shoes.max.z < 0.1, JSON.stringify(shoes));
  });

  test("height scales the whole figure", () => {
    const f = buildFigure({ height: 204 });
    assert.ok(Math.abs(drawn(f).max.y - 1.74 * 1.2) < 0.04);
    assert.ok(Math.abs(f.headHeight - 1.61 * 1.2) < 1e-9);
  });

  test("seated: eyes at the seated height, thighs forward, shins down, feet on the floor", () => {
    const f = buildFigure({}, { seated: true });
    assert.ok(Math.abs(f.headHeight - EYE_SEATED) < 1e-9);
    const face = drawn(f, "face");
    assert.ok(Math.abs((face.min.y + face.max.y) / 2 - EYE_SEATED) < 0.02);
    const all = drawn(f);
    assert.ok(Math.abs(all.min.y) < 0.01, `feet at ${all.min.y}`);
    const d = describeFigure(f);
    for (const thigh of d.thighs) {
      assert.ok(thigh[2] < -0.99, `thigh along ${thigh}`);
    }
    const b = f.bones;
    assert.ok(worldOf(b.foot_l).z < -0.35);
    assert.ok(Math.abs(worldOf(b.foot_l).x - worldOf(b.shin_l).x) < 1e-6);
    assert.ok(worldOf(b.shin_l).y - worldOf(b.foot_l).y > 0.4);
    // Hands on the lap: in front of the hips, a little above the thighs, not beside them.
    for (const hand of f.hands) {
      const at = worldOf(hand);
      assert.ok(at.z < -0.2 && at.y > 0.5 && at.y < 0.72 && Math.abs(at.x) < 0.22, at.toArray().join());
    }
    // Where the server's renderer puts the same joints (tests/scenes/test_avatar_rig.py).
    for (const [bone, where] of Object.entries(SEATED_JOINTS)) {
      const at = worldOf(b[bone]).toArray();
      assert.ok(at.every((c, i) => Math.abs(c - where[i]) < 0.002), `${bone} at ${at}`);
    }
  });

  test("every pose stays inside the bounds that decide whether a figure is drawn", () => {
    const v = new THREE.Vector3();
    for (const seated of [false, true]) {
      for (const body of ["slim", "average", "broad"]) {
        for (const hair of [...HAIRSTYLES]) {
          const f = buildFigure({ body, hair }, { seated });
          animateFigure(f, { breath: 1, lids: 1, gesture: 1 });
          setMouth(f, 1);
          f.root.updateMatrixWorld(true);
          f.skeleton.update();
          f.body.traverse((o) => {
            if (!o.isSkinnedMesh || !o.visible) return;
            for (let i = 0; i < o.geometry.attributes.position.count; i++) {
              o.getVertexPosition(i, v);
              assert.ok(o.boundingSphere.containsPoint(v), `${o.name} ${v.toArray()} seated=${seated}`);
            }
          });
          disposeFigure(f);
        }
      }
    }
  });

  test("the face takes the look's shape; oval is the model's own", () => {
    const shapes = ["round", "square", "heart", "long"];
    for (const face of ["oval", ...shapes]) {
      const d = describeFigure(buildFigure({ face }));
      assert.deepEqual(
        Object.fromEntries(shapes.map((s) => [s, d.face[s]])),
        Object.fromEntries(shapes.map((s) => [s, s === face ? 1 : 0])),
        face,
      );
    }
    // A heart's chin is narrower than an oval's, a square jaw wider.
    const jaw = (face) => drawn(buildFigure({ face }), "face", "skin");
    const width = (box) => box.max.x - box.min.x;
    assert.ok(width(jaw("heart")) <= width(jaw("oval")));
    assert.ok(width(jaw("square")) > width(jaw("oval")));
  });

  test("the hair shown is the look's style; none shows no hair", () => {
    for (const style of [...HAIRSTYLES, "none"]) {
      const d = describeFigure(buildFigure({ hair: style }));
      assert.deepEqual(d.hairShown, style === "none" ? [] : [style]);
      assert.equal(d.hair, style);
    }
  });

  test("the build sets the body's morphs", () => {
    const weights = (body) => describeFigure(buildFigure({ body })).body;
    assert.deepEqual(weights("broad"), { broad: 1, slim: 0, breath: 0 });
    assert.deepEqual(weights("slim"), { broad: 0, slim: 1, breath: 0 });
    assert.deepEqual(weights("average"), { broad: 0, slim: 0, breath: 0 });
    const broad = drawn(buildFigure({ body: "broad" }), "body");
    const slim = drawn(buildFigure({ body: "slim" }), "body");
    assert.ok(broad.max.x - broad.min.x > slim.max.x - slim.min.x + 0.05);
  });

  test("the look colours the roles; every figure has materials of its own, the geometry is shared", () => {
    const a = buildFigure({ top: "#ff0000", skin: "#00ff00" });
    const b = buildFigure({ top: "#0000ff" });
    const role = (f, name) => f.materials.find((m) => m.name === name);
    assert.equal(role(a, "top").color.getHexString(THREE.SRGBColorSpace), "ff0000");
    assert.equal(role(a, "skin").color.getHexString(THREE.SRGBColorSpace), "00ff00");
    assert.equal(role(b, "top").color.getHexString(THREE.SRGBColorSpace), "0000ff");
    assert.notEqual(role(a, "top"), role(b, "top"));
    assert.ok(role(a, "shoes") && role(a, "eyes") && role(a, "mouth"));
    const meshes = (f) => {
      const list = [];
      f.body.traverse((o) => o.isSkinnedMesh && list.push(o));
      return list;
    };
    const [ma, mb] = [meshes(a), meshes(b)];
    assert.ok(ma.length > 8);
    assert.ok(ma.every((m, i) => m.geometry === mb[i].geometry && m.material !== mb[i].material));
    assert.ok(ma.every((m) => m.skeleton === a.skeleton));
    disposeFigure(a);
  });

  test("experts glow a little, can fade, and stand in a ring of light", () => {
    const f = buildFigure({}, { expert: true });
    assert.ok(f.materials.some((m) => m.isMeshBasicMaterial));
    assert.ok(f.materials.filter((m) => m.isMeshLambertMaterial).every((m) => m.transparent && m.emissive.getHex() !== 0));
  });

  test("breath, blink, mouth and gesture", () => {
    const f = buildFigure({});
    const hand = () => {
      f.root.updateMatrixWorld(true);
      return worldOf(f.hands[0]);
    };
    const still = hand();
    animateFigure(f, { breath: -0.5, lids: 1, gesture: 1 });
    setMouth(f, 0.75);
    const d = describeFigure(f);
    assert.deepEqual(d.face, { mouth_open: 0.75, blink: 1, round: 0, square: 0, heart: 0, long: 0 });
    assert.equal(d.body.breath, -0.5);
    const raised = hand();
    // The left hand (at -X) comes forward (-Z), up, and a little out.
    assert.ok(raised.z < still.z - 0.3 && raised.y > still.y + 0.2 && raised.x < still.x, raised.toArray().join());
    const open = drawn(f, "face", "mouth");
    setMouth(f, 0);
    animateFigure(f, { breath: 0, lids: 0, gesture: 0 });
    assert.ok(hand().distanceTo(still) < 1e-9);
    const shut = drawn(f, "face", "mouth");
    assert.ok(open.max.y - open.min.y > shut.max.y - shut.min.y + 0.02);
  });

  test("hands and head can be hidden by scaling their joints", () => {
    const f = buildFigure({});
    assert.ok(headShown(f));
    setHeadShown(f, false);
    assert.ok(!headShown(f));
    const face = drawn(f, "face");
    assert.ok(face.max.y - face.min.y < 0.01);
    setHeadShown(f, true);
    assert.ok(headShown(f));
    setHandsShown(f, false);
    assert.deepEqual(describeFigure(f).hands, [false, false]);
    setHandsShown(f, true);
    assert.deepEqual(describeFigure(f).hands, [true, true]);
  });
});
