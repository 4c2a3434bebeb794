// The room in 3D: the layout's glTF, every entity of the replica (people, digital experts,
// the wall screen) drawn a little in the past between state frames, names above heads (with
// their microphone and camera), experts' mouths while they speak, a person's camera on a
// panel above their head, and the camera: the layout's overview, or the member's own eyes.
// People are figures of the shared avatar model (figures.js), built once it has loaded.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

import { drawChart } from "./chart.js";
import { FigureLife } from "./figure_life.js";
import {
  EYE_SEATED,
  EYE_STANDING,
  animateFigure,
  buildFigure,
  buildHand,
  describeFigure,
  disposeFigure,
  figureModelLoaded,
  headShown,
  loadFigureModel,
  setFigureOpacity,
  setHandsShown,
  setHeadShown,
  setMouth,
} from "./figures.js";
import { PoseHistory, TickClock, historyTicks } from "./interpolation.js";
import { aiLabel, onLangChange } from "./i18n.js";
import { disposeNameTag, layoutTags, makeNameTag } from "./name_tags.js";
import { metresToMm, unpackPose, yawOf } from "./pose.js";
import { boxAround, overlaps, sideStep } from "./screen_clear.js";

/** Seconds an expert takes to appear or leave (the server's expert_transition_s). */
const EXPERT_FADE_S = 0.6;
/** Frames a second outside VR: enough for people who move at walking pace, kind to laptops. */
const DESKTOP_FPS = 30;
const SCREEN_CANVAS = [1024, 576];
/** A speaking member's name tag, tinted warm (brass) so that it stands out from the rest. */
const SPEAKING_TINT = 0xffc46b;
/** How fast a mouth follows the speech's level (mo, up to MOUTH_LEVELS), per second. */
const MOUTH_RATE = 30;
const MOUTH_LEVELS = 15;
/** A person's camera: a 16:9 panel this wide, this far above the top of the head. */
const VIDEO_PANEL_W = 0.56;
const VIDEO_PANEL_ABOVE = 0.46;

const _q = new THREE.Quaternion();
const _yawQ = new THREE.Quaternion();
const _up = new THREE.Vector3(0, 1, 0);
const _v = new THREE.Vector3();
const _right = new THREE.Vector3();

export class RoomScene {
  constructor(canvas) {
    this.canvas = canvas;
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true, powerPreference: "high-performance" });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    this.renderer.outputColorSpace = THREE.SRGBColorSpace;
    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x1b1712);
    this.camera = new THREE.PerspectiveCamera(50, 16 / 9, 0.05, 60);
    // The rig carries the camera (and, in VR, the controllers): moving it moves the viewer.
    this.rig = new THREE.Group();
    this.rig.add(this.camera);
    this.scene.add(this.rig);
    this.scene.add(new THREE.HemisphereLight(0xfff2dc, 0x3b2e22, 2.2));
    const sun = new THREE.DirectionalLight(0xfff6e8, 1.6);
    sun.position.set(2, 6, 3);
    this.scene.add(sun);

    this.layout = null;
    this.clock = new TickClock(30);
    this.views = new Map(); // entity id -> view
    this.charts = new Map(); // content id -> presented message
    this.videos = new Map(); // entity id -> {video, texture, mesh}
    this.member = null;
    this.speaking = new Set(); // entity ids whose voices are speaking now
    this.viewMode = "room";
    // A member enters through their own eyes, at their spawn facing the way it faces (the
    // advisor at her place looking at the customer), once their avatar first arrives; the
    // overview is for whoever has no avatar, or asks for it.
    this.enteredOwnEyes = false;
    this.onViewMode = null; // (mode) => void, when the scene itself changes the view
    this.look = { yaw: 0, pitch: 0 }; // the member's own gaze in "seat" view
    this.seatMarkers = [];
    this.labelScale = 1;
    this.tagPoint = new THREE.Vector3();
    this.tagBoxes = []; // where the name tags were drawn last, in pixels (y up): for tests
    this.screenBoxes = []; // the wall screens, and the camera panels, as last drawn (the same)
    this.panelBoxes = [];
    this.overlaysOfPage = () => []; // page boxes over the view (the experts' list): kept clear too
    this.showOwnFigure = false; // tests draw it to see where it would have been
    this.onFrame = null; // (nowMs) => void, after each drawn frame
    this.lastRender = 0;
    this.nowMs = 0; // the frame being drawn, on the animation clock
    this.frames = 0;
    this.raycaster = new THREE.Raycaster();
    this.resize();
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement ?? canvas);
    onLangChange(() => {
      for (const view of this.views.values()) if (view.tag && view.kind === "expert") this.retag(view);
    });
    this.renderer.setAnimationLoop((t) => this.frame(t));
  }

  /** Load the layout (metadata and glTF) the server's rooms use, and the people's model. A
   * room whose people cannot be drawn still loads; the failure is thrown once it has. */
  async load(layoutUrl = "/layout.json") {
    // States may come before the model does: their views wait for it, and get their figures
    // as soon as it is there.
    const figures = loadFigureModel().then(
      () => {
        for (const view of this.views.values()) if (!view.figure) this.buildView(view);
        return null;
      },
      (err) => err,
    );
    const response = await fetch(layoutUrl);
    if (!response.ok) throw new Error(`layout: HTTP ${response.status}`);
    this.layout = await response.json();
    const [gltf, figureError] = await Promise.all([new GLTFLoader().loadAsync(`/scenes/${this.layout.asset}`), figures]);
    gltf.scene.traverse((o) => {
      if (!o.isMesh) return;
      // Lambert instead of the file's PBR: the room is matte wood, leather and wall, and it
      // keeps software WebGL (and phones) at frame rate.
      const m = o.material;
      o.material = new THREE.MeshLambertMaterial({
        color: m.color,
        transparent: m.transparent,
        opacity: m.opacity,
        flatShading: !o.geometry.attributes.normal,
        side: m.side,
      });
      m.dispose();
    });
    this.scene.add(gltf.scene);
    this.addSeatMarkers();
    this.setViewMode(this.viewMode);
    this.enterOwnEyes();
    if (figureError) throw figureError;
    return this.layout;
  }

  addSeatMarkers() {
    const geo = new THREE.RingGeometry(0.22, 0.27, 32);
    for (const seat of this.layout.seats ?? []) {
      const mat = new THREE.MeshBasicMaterial({ color: 0xc8a951, transparent: true, opacity: 0.35, side: THREE.DoubleSide });
      const ring = new THREE.Mesh(geo, mat);
      ring.rotation.x = -Math.PI / 2;
      ring.position.set(seat.pos[0], seat.pos[1] + 0.015, seat.pos[2]);
      ring.userData.seat = seat.id;
      this.scene.add(ring);
      this.seatMarkers.push(ring);
    }
  }

  /** The seat under a point of the canvas (pixels), if any: where a click asks to sit. */
  seatAt(x, y) {
    const rect = this.canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(((x - rect.left) / rect.width) * 2 - 1, -((y - rect.top) / rect.height) * 2 + 1);
    this.raycaster.setFromCamera(ndc, this.camera);
    return this.raycaster.intersectObjects(this.seatMarkers, false)[0]?.object.userData.seat ?? null;
  }

  resize() {
    const parent = this.canvas.parentElement;
    const w = Math.max(1, parent ? parent.clientWidth : this.canvas.clientWidth);
    const h = Math.max(1, parent ? parent.clientHeight : this.canvas.clientHeight);
    if (this.renderer.xr.isPresenting) return;
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
  }

  setTickHz(hz) {
    if (this.clock.tickHz !== hz) this.clock = new TickClock(hz);
  }

  setMember(member) {
    this.member = member;
  }

  setLabelScale(scale) {
    this.labelScale = scale;
    for (const view of this.views.values()) if (view.tag) this.placeTag(view);
  }

  /** "room": the layout's overview camera; "seat": through the member's own eyes. */
  setViewMode(mode) {
    this.viewMode = mode;
    if (mode === "room" && this.layout) {
      const v = (this.layout.views ?? [])[0];
      if (v) {
        this.rig.position.set(0, 0, 0);
        this.rig.quaternion.identity();
        this.camera.position.set(...v.eye);
        this.camera.lookAt(...v.target);
        this.camera.fov = v.fov_deg;
        this.camera.updateProjectionMatrix();
      }
    }
    for (const view of this.views.values()) this.updateVisibility(view);
  }

  /** Called after every applied state frame with the replica it changed. */
  onState(tick, replica, nowS) {
    this.clock.observe(tick, nowS);
    const seen = new Set();
    for (const ent of replica.entities.values()) {
      seen.add(ent.i);
      let view = this.views.get(ent.i);
      if (!view) {
        view = this.createView(ent);
        this.views.set(ent.i, view);
      }
      this.updateView(view, ent, tick);
    }
    for (const [id, view] of this.views) {
      if (!seen.has(id)) {
        this.removeView(view);
        this.views.delete(id);
      }
    }
    this.enterOwnEyes();
  }

  /** The first time both the room and the member's avatar are there: look through its eyes. */
  enterOwnEyes() {
    if (this.enteredOwnEyes || !this.layout || !this.ownHead()) return;
    this.enteredOwnEyes = true;
    this.resetLook();
    this.setViewMode("seat");
    this.onViewMode?.("seat");
  }

  createView(ent) {
    const view = { id: ent.i, kind: ent.k, ent: {}, history: new PoseHistory(), figure: null, tag: null, hands: [], fade: 0, screen: null, mouthOpen: 0, life: new FigureLife(ent.i) };
    if (ent.k === "screen") view.screen = this.createScreen(ent);
    return view;
  }

  updateView(view, ent, tick) {
    const old = view.ent;
    view.ent = { ...ent };
    if (ent.x) {
      const pose = unpackPose(ent.x);
      const parts = [pose.head, ...(pose.left ? [pose.left, pose.right] : [])].map((p) => ({ pos: p.pos, rot: p.rot }));
      view.history.push(tick, { parts });
      view.history.prune(tick - historyTicks(this.clock.tickHz));
    }
    if (view.kind === "screen") {
      if (old.c !== ent.c || !view.screen.drawn) this.drawScreen(view);
      return;
    }
    const rebuild = !view.figure || old.a !== ent.a || Boolean(old.s) !== Boolean(ent.s);
    if (view.kind === "expert" && old.e !== ent.e && ent.e === "arriving") view.fade = 0;
    // Until the people's model is there, views wait for their figures (load() builds them).
    if (rebuild) this.buildView(view);
    else if (old.n !== ent.n || old.l !== ent.l || old.mic !== ent.mic || old.cam !== ent.cam) this.retag(view);
    this.updateVisibility(view);
  }

  /** (Re)build the figure of a person or expert from its entity, with its hands and name. */
  buildView(view) {
    if (view.kind === "screen" || !figureModelLoaded()) return;
    const ent = view.ent;
    if (view.tag) {
      disposeNameTag(view.tag);
      view.tag = null;
    }
    if (view.figure) {
      this.scene.remove(view.figure.root);
      disposeFigure(view.figure);
    }
    view.figure = buildFigure(ent.a, { seated: Boolean(ent.s), expert: view.kind === "expert" });
    this.scene.add(view.figure.root);
    for (const hand of view.hands) {
      this.scene.remove(hand);
      hand.material.dispose();
    }
    view.hands = [buildHand(ent.a), buildHand(ent.a)];
    for (const hand of view.hands) this.scene.add(hand);
    this.retag(view);
    this.updateVisibility(view);
  }

  /** Draw the view's name tag anew (its AI label in the language of the page). */
  retag(view) {
    const ent = view.ent;
    if (view.tag) {
      view.figure.root.remove(view.tag);
      disposeNameTag(view.tag);
    }
    const label = view.kind === "expert" ? aiLabel(ent.l) : null;
    view.tag = makeNameTag(ent.n || "…", { label, role: ent.r, mic: ent.mic, cam: ent.cam });
    view.figure.root.add(view.tag);
    this.placeTag(view);
    this.tintTag(view);
  }

  /** Light the name tags of the entities in `ids` (whose voices are speaking now). */
  setSpeaking(ids) {
    this.speaking = ids;
    for (const view of this.views.values()) this.tintTag(view);
  }

  tintTag(view) {
    if (!view.tag) return;
    const on = this.speaking.has(view.id);
    if (view.tag.userData.speaking === on) return;
    view.tag.userData.speaking = on;
    view.tag.material.color.set(on ? SPEAKING_TINT : 0xffffff);
  }

  /** Entities whose name tag is lit as speaking (for tests). */
  speakingShown() {
    return [...this.views.values()].filter((v) => v.tag?.userData.speaking).map((v) => v.id);
  }

  placeTag(view) {
    const tag = view.tag;
    const scale = view.figure.body.scale.y;
    tag.position.set(0, view.figure.headHeight + 0.16 * scale, 0);
    const base = tag.userData.base ?? { x: tag.scale.x, y: tag.scale.y };
    tag.userData.base = base;
    tag.scale.set(base.x * this.labelScale, base.y * this.labelScale, 1);
  }

  updateVisibility(view) {
    if (!view.figure) return;
    // Nobody is shown their own figure: through their own eyes it is in the way, and in the
    // overview (from behind the customer's chair) the back of their own head filled the view.
    const own = this.isOwn(view) && !this.showOwnFigure;
    view.figure.root.visible = !own;
    setHeadShown(view.figure, !own);
    if (view.tag) view.tag.visible = !own;
  }

  isOwn(view) {
    return view.ent.m !== undefined && view.ent.m === this.member;
  }

  /** The member's own figure as drawn: for tests (null before it arrives). */
  ownFigure() {
    for (const view of this.views.values()) {
      if (this.isOwn(view) && view.figure) {
        return { entity: view.id, drawn: view.figure.root.visible, head: headShown(view.figure) };
      }
    }
    return null;
  }

  /** Draw (or not) the member's own figure, whatever the rule: tests compare both pictures. */
  forceOwnFigure(shown) {
    this.showOwnFigure = shown;
    for (const view of this.views.values()) this.updateVisibility(view);
  }

  /** A point of the room in canvas pixels from the top left, or null behind the viewer. */
  pixelOf(point) {
    this.camera.updateMatrixWorld();
    const v = _v.set(...point);
    if (v.clone().applyMatrix4(this.camera.matrixWorldInverse).z >= 0) return null;
    v.project(this.camera);
    const el = this.renderer.domElement;
    return { x: ((v.x + 1) / 2) * el.clientWidth, y: ((1 - v.y) / 2) * el.clientHeight };
  }

  /** Where the camera is and which way it looks: for tests. */
  cameraPose() {
    this.camera.updateMatrixWorld();
    const at = this.camera.getWorldPosition(new THREE.Vector3());
    const dir = this.camera.getWorldDirection(new THREE.Vector3());
    return { mode: this.viewMode, pos: at.toArray(), dir: dir.toArray() };
  }

  /** Screens, camera panels and name tags as last drawn, in page pixels ({x, y, w, h} with y
   * down, as getBoundingClientRect gives them): for tests of the rule that none covers another. */
  overlays() {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const h = this.renderer.domElement.clientHeight;
    const page = (b) => ({ x: rect.left + b.x, y: rect.top + h - b.y - b.h, w: b.w, h: b.h });
    return {
      screens: this.screenBoxes.map((b) => ({ id: b.id, ...page(b) })),
      panels: this.panelBoxes.map((b) => ({ entity: b.entity, ...page(b) })),
      tags: this.tagBoxes.map((b) => ({ entity: b.entity, ...page(b) })),
    };
  }

  removeView(view) {
    this.setVideo(view.id, null);
    if (view.figure) {
      this.scene.remove(view.figure.root);
      disposeFigure(view.figure);
    }
    if (view.tag) disposeNameTag(view.tag);
    for (const hand of view.hands) {
      this.scene.remove(hand);
      hand.material.dispose();
    }
    if (view.screen) {
      this.scene.remove(view.screen.mesh);
      view.screen.texture.dispose();
      view.screen.mesh.material.dispose();
    }
  }

  // --- mouths and cameras ---------------------------------------------------------------------

  /** The mouth opens with `mo` (the speech's level) while an expert speaks, a little behind it. */
  animateMouth(view, dt) {
    const target = Math.max(0, Math.min(MOUTH_LEVELS, view.ent.mo ?? 0)) / MOUTH_LEVELS;
    const step = Math.min(1, dt * MOUTH_RATE);
    view.mouthOpen += (target - view.mouthOpen) * step;
    setMouth(view.figure, view.mouthOpen);
  }

  /** Each figure's breathing, lids and gesture as drawn now, and how many answers it began
   * (speech after a silence): for the page's state and its tests. */
  lives() {
    return [...this.views.values()]
      .filter((v) => v.figure)
      .map((v) => ({ entity: v.id, kind: v.kind, answers: v.life.answers, ...v.life.at(this.nowMs) }));
  }

  /** Each drawn figure as the model shows it (describeFigure), with its entity and whether the
   * server has it seated: for tests. */
  figures() {
    return [...this.views.values()]
      .filter((v) => v.figure)
      .map((v) => ({ entity: v.id, kind: v.kind, sitting: Boolean(v.ent.s), ...describeFigure(v.figure) }));
  }

  /** Experts' mouths as drawn now: for the page's state and its tests. */
  mouths() {
    return [...this.views.values()]
      .filter((v) => v.kind === "expert")
      .map((v) => ({ entity: v.id, mo: v.ent.mo ?? 0, open: Math.round((v.mouthOpen ?? 0) * 1000) / 1000 }));
  }

  /** Show `video` (an element playing a person's camera) above entity `entity`; null removes it. */
  setVideo(entity, video) {
    const old = this.videos.get(entity);
    if (old && old.video === video) return;
    if (old) {
      this.scene.remove(old.mesh);
      old.texture.dispose();
      old.mesh.material.dispose();
      old.mesh.geometry.dispose();
      this.videos.delete(entity);
    }
    if (!video) return;
    const texture = new THREE.VideoTexture(video);
    texture.colorSpace = THREE.SRGBColorSpace;
    const frame = new THREE.Mesh(
      new THREE.PlaneGeometry(VIDEO_PANEL_W, (VIDEO_PANEL_W * 9) / 16),
      new THREE.MeshBasicMaterial({ map: texture, toneMapped: false, side: THREE.DoubleSide }),
    );
    frame.renderOrder = 9;
    frame.visible = false;
    this.scene.add(frame);
    this.videos.set(entity, { video, texture, mesh: frame, aspect: 16 / 9 });
  }

  /** Entities showing a camera, and whether their panel is drawn: for tests. */
  videosShown() {
    return [...this.videos.entries()].map(([entity, v]) => ({ entity, drawn: v.mesh.visible, width: v.video.videoWidth, height: v.video.videoHeight }));
  }

  placeVideo(view) {
    const panel = this.videos.get(view.id);
    if (!panel) return;
    const fig = view.figure;
    const { video, mesh } = panel;
    const ready = Boolean(fig?.root.visible) && video.readyState >= 2 && video.videoWidth > 0;
    mesh.visible = ready;
    if (!ready) return;
    const aspect = video.videoWidth / video.videoHeight;
    if (Math.abs(aspect - panel.aspect) > 0.01) {
      panel.aspect = aspect;
      mesh.scale.set(1, 16 / 9 / aspect, 1);
    }
    mesh.position.copy(fig.root.position);
    mesh.position.y += fig.headHeight + VIDEO_PANEL_ABOVE;
    // Always face the viewer, upright.
    this.camera.getWorldQuaternion(mesh.quaternion);
  }

  // --- the wall screen -----------------------------------------------------------------------

  createScreen(ent) {
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = SCREEN_CANVAS;
    const texture = new THREE.CanvasTexture(canvas);
    texture.colorSpace = THREE.SRGBColorSpace;
    texture.anisotropy = 4;
    const [w, h] = this.screenSize(ent);
    const mesh = new THREE.Mesh(new THREE.PlaneGeometry(w, h), new THREE.MeshBasicMaterial({ map: texture, toneMapped: false }));
    mesh.renderOrder = 1;
    this.scene.add(mesh);
    return { canvas, texture, mesh, drawn: false, shown: null };
  }

  /** The layout screen nearest the entity gives the panel's size. */
  screenSize(ent) {
    const screens = this.layout?.screens ?? [];
    if (!ent.x || screens.length === 0) return [2.6, 1.46];
    const [x, y, z] = unpackPose(ent.x).head.pos;
    let best = screens[0];
    let bestD = Infinity;
    for (const s of screens) {
      const d = Math.hypot(s.center[0] - x, s.center[1] - y, s.center[2] - z);
      if (d < bestD) [best, bestD] = [s, d];
    }
    return best.size;
  }

  /** Keep the chart of a `presented` message; screens showing its content redraw. */
  setChart(presented) {
    if (presented.c) this.charts.set(presented.c, presented);
    for (const view of this.views.values()) if (view.kind === "screen" && view.ent.c === presented.c) this.drawScreen(view);
  }

  drawScreen(view) {
    const chart = view.ent.c ? this.charts.get(view.ent.c) ?? null : null;
    drawChart(view.screen.canvas, chart);
    view.screen.texture.needsUpdate = true;
    view.screen.drawn = true;
    view.screen.shown = chart ? { c: chart.c, title: chart.title, labels: [...chart.labels] } : null;
  }

  /** What each screen entity shows now: for the page's state and its tests. */
  screensShown() {
    return [...this.views.values()].filter((v) => v.kind === "screen").map((v) => ({ entity: v.id, content: v.ent.c ?? "", shown: v.screen.shown }));
  }

  // --- every frame ---------------------------------------------------------------------------

  frame(timeMs) {
    const xr = this.renderer.xr.isPresenting;
    if (!xr && timeMs - this.lastRender < 1000 / DESKTOP_FPS - 2) return;
    const dt = Math.min(0.1, (timeMs - (this.lastRender || timeMs)) / 1000);
    this.lastRender = timeMs;
    this.nowMs = timeMs;
    const renderTick = this.clock.renderTick(performance.now() / 1000);
    for (const view of this.views.values()) this.place(view, renderTick, dt);
    if (!xr && this.viewMode === "seat") this.placeOwnEyes();
    if (!xr) {
      this.measureScreens();
      this.clearPanels();
      this.spreadTags();
    }
    this.renderer.render(this.scene, this.camera);
    this.frames++;
    this.onFrame?.(timeMs);
  }

  /**
   * Names above heads where they would cover each other (people side by side, large text) are
   * moved up on screen until they do not (see layoutTags). Tags keep one size on screen, so
   * a sprite's scale gives its size in pixels; a lift moves its anchor (`center`), not the tag.
   */
  spreadTags() {
    const w = this.renderer.domElement.clientWidth;
    const h = this.renderer.domElement.clientHeight;
    if (!w || !h) return;
    this.camera.updateMatrixWorld();
    const p = this.camera.projectionMatrix.elements; // p[0], p[5]: the projection's x and y scales
    const tags = [];
    const boxes = [];
    const entities = [];
    const anchors = []; // where each tag's left edge is before it steps aside
    // Tags step aside from the screens and the camera panels first, then apart from each other.
    const keepClear = [...this.screenBoxes, ...this.panelBoxes, ...this.pageBoxes(w, h)];
    const bounds = { x: 0, y: 0, w, h };
    for (const view of this.views.values()) {
      const tag = view.tag;
      if (!tag) continue;
      tag.center.set(0.5, 0);
      if (!tag.visible || !view.figure.root.visible) continue;
      const at = tag.getWorldPosition(this.tagPoint).project(this.camera);
      if (at.z < -1 || at.z > 1) continue; // behind the viewer or beyond the far plane
      const tw = tag.scale.x * p[0] * (w / 2);
      const th = tag.scale.y * p[5] * (h / 2);
      const box = { x: ((at.x + 1) / 2) * w - tw / 2, y: ((at.y + 1) / 2) * h, w: tw, h: th };
      anchors.push(box.x);
      box.x += sideStep(box, keepClear, 4, bounds);
      tags.push(tag);
      boxes.push(box);
      entities.push(view.id);
    }
    const lifts = layoutTags(boxes);
    this.tagBoxes = boxes.map((b, i) => {
      const lifted = { ...b, y: b.y + lifts[i] };
      // Lifted clear of another tag onto a screen: aside again.
      lifted.x += sideStep(lifted, keepClear, 4, bounds);
      // The sprite is drawn around its anchor: moving the anchor moves the tag the other way.
      tags[i].center.set(0.5 - (lifted.x - anchors[i]) / b.w, -lifts[i] / b.h);
      return { ...lifted, lift: lifts[i], entity: entities[i] };
    });
  }

  /** The wall screens' rectangles on the canvas (pixels, y up), for what must keep off them. */
  measureScreens() {
    const w = this.renderer.domElement.clientWidth;
    const h = this.renderer.domElement.clientHeight;
    this.camera.updateMatrixWorld();
    this.screenBoxes = [];
    if (!w || !h) return;
    for (const s of this.layout?.screens ?? []) {
      const yaw = (s.yaw_deg * Math.PI) / 180;
      const [rx, rz] = [Math.cos(yaw), -Math.sin(yaw)]; // along the screen's width
      const corners = [];
      for (const sx of [-0.5, 0.5]) {
        for (const sy of [-0.5, 0.5]) {
          corners.push([s.center[0] + rx * sx * s.size[0], s.center[1] + sy * s.size[1], s.center[2] + rz * sx * s.size[0]]);
        }
      }
      const box = this.canvasBox(corners, w, h);
      if (box) this.screenBoxes.push({ id: s.id, ...box });
    }
  }

  /** The box on the canvas (pixels, y up) around world points in front of the camera, cut to
   * the canvas; null when none is in front or the box is off the canvas. */
  canvasBox(points, w, h) {
    const seen = [];
    for (const pt of points) {
      const v = _v.set(...pt);
      if (v.clone().applyMatrix4(this.camera.matrixWorldInverse).z >= -this.camera.near) continue;
      v.project(this.camera);
      seen.push({ x: ((v.x + 1) / 2) * w, y: ((v.y + 1) / 2) * h });
    }
    const box = boxAround(seen);
    if (!box) return null;
    const canvas = { x: 0, y: 0, w, h };
    if (!overlaps(box, canvas)) return null;
    const x0 = Math.max(0, box.x);
    const y0 = Math.max(0, box.y);
    return { x: x0, y: y0, w: Math.min(w, box.x + box.w) - x0, h: Math.min(h, box.y + box.h) - y0 };
  }

  /** Camera panels that would cover a wall screen move aside, beside it. */
  clearPanels() {
    const w = this.renderer.domElement.clientWidth;
    const h = this.renderer.domElement.clientHeight;
    this.panelBoxes = [];
    if (!w || !h) return;
    const p = this.camera.projectionMatrix.elements;
    const keepClear = [...this.screenBoxes, ...this.pageBoxes(w, h)];
    const bounds = { x: 0, y: 0, w, h };
    for (const [entity, panel] of this.videos) {
      const mesh = panel.mesh;
      if (!mesh.visible) continue;
      let box = this.panelBox(mesh, w, h);
      if (!box) continue;
      const dx = sideStep(box, keepClear, 4, bounds);
      if (dx !== 0) {
        // dx pixels at the panel's depth, along the camera's right.
        const depth = -_v.copy(mesh.position).applyMatrix4(this.camera.matrixWorldInverse).z;
        const metres = ((dx / (w / 2)) * depth) / p[0];
        _right.set(1, 0, 0).applyQuaternion(this.camera.getWorldQuaternion(_q));
        mesh.position.addScaledVector(_right, metres);
        box = this.panelBox(mesh, w, h) ?? box;
      }
      this.panelBoxes.push({ entity, ...box });
    }
  }

  /** The page's boxes over the view, in canvas pixels (y up). */
  pageBoxes(w, h) {
    const c = this.renderer.domElement.getBoundingClientRect();
    return this.overlaysOfPage().map((r) => ({ x: r.left - c.left, y: h - (r.bottom - c.top), w: r.width, h: r.height }));
  }

  panelBox(mesh, w, h) {
    mesh.updateMatrixWorld();
    const geo = mesh.geometry;
    if (!geo.boundingBox) geo.computeBoundingBox();
    const { min, max } = geo.boundingBox;
    const corners = [];
    for (const x of [min.x, max.x]) for (const y of [min.y, max.y]) corners.push(new THREE.Vector3(x, y, 0).applyMatrix4(mesh.matrixWorld).toArray());
    return this.canvasBox(corners, w, h);
  }

  place(view, renderTick, dt) {
    const sample = view.history.at(renderTick);
    if (!sample) return;
    const [head, left, right] = sample.parts;
    if (view.kind === "screen") {
      // The panel faces where the screen looks; a plane's face looks along +Z, hence the turn.
      const m = view.screen.mesh;
      m.quaternion.set(...head.rot).multiply(_q.setFromAxisAngle(_up, Math.PI));
      m.position.set(...head.pos).add(new THREE.Vector3(0, 0, 0.012).applyQuaternion(m.quaternion));
      return;
    }
    const fig = view.figure;
    if (!fig) return;
    const eye = view.ent.s ? EYE_SEATED : EYE_STANDING;
    const yaw = yawOf(head.rot);
    fig.root.position.set(head.pos[0], Math.max(0, head.pos[1] - eye), head.pos[2]);
    fig.root.rotation.set(0, yaw, 0);
    // The head turns on the body: what is left of the rotation after the body's yaw.
    _yawQ.setFromAxisAngle(_up, yaw).invert();
    fig.head.quaternion.copy(_yawQ.multiply(_q.set(...head.rot)));
    const tracked = Boolean(left) && fig.root.visible;
    for (const [i, hand] of [left, right].entries()) {
      const mesh = view.hands[i];
      mesh.visible = tracked;
      if (tracked) mesh.position.set(...hand.pos);
    }
    setHandsShown(fig, !tracked);
    if (view.kind === "expert") this.animateExpert(view, dt);
    this.animateMouth(view, dt);
    view.life.hear(view.ent.mo ?? 0, this.nowMs);
    animateFigure(fig, view.life.at(this.nowMs));
    this.placeVideo(view);
  }

  animateExpert(view, dt) {
    const target = view.ent.e === "leaving" ? 0 : 1;
    const step = dt / EXPERT_FADE_S;
    view.fade = target > view.fade ? Math.min(target, view.fade + step) : Math.max(target, view.fade - step);
    setFigureOpacity(view.figure, view.fade);
    // Arriving and leaving: the figure rises from (sinks into) a ring of light.
    view.figure.body.scale.y = (view.figure.body.scale.x) * (0.3 + 0.7 * view.fade);
    const ring = view.figure.materials.find((m) => m.isMeshBasicMaterial);
    if (ring) ring.opacity = view.ent.e === "present" ? 0.35 : 0.9;
    if (view.tag) view.tag.material.opacity = Math.max(view.fade, 0.6);
  }

  ownHead() {
    for (const view of this.views.values()) {
      if (view.ent.m === this.member && view.history.samples.length) {
        return view.history.samples[view.history.samples.length - 1].parts[0];
      }
    }
    return null;
  }

  ownSeat() {
    for (const view of this.views.values()) if (view.ent.m === this.member) return view.ent.s ?? "";
    return null;
  }

  placeOwnEyes() {
    const head = this.ownHead();
    if (!head) return;
    this.rig.position.set(0, 0, 0);
    this.rig.quaternion.identity();
    this.camera.position.set(...head.pos);
    this.camera.quaternion.setFromEuler(new THREE.Euler(this.look.pitch, this.look.yaw, 0, "YXZ"));
    this.camera.fov = 70;
    this.camera.updateProjectionMatrix();
  }

  /** The gaze the member chose (seat view), as a pose for the server. */
  ownPose() {
    const head = this.ownHead();
    if (!head) return null;
    const q = new THREE.Quaternion().setFromEuler(new THREE.Euler(this.look.pitch, this.look.yaw, 0, "YXZ"));
    // Whole millimetres, rounded as the server rounds them, so the pose sent is the one kept.
    return { p: head.pos.map((v) => metresToMm(v) / 1000), q: [q.x, q.y, q.z, q.w] };
  }

  /** Stop (or resume) drawing: in the thin view the server draws the room, and a weak device
   * has no frame to spare for a picture nobody sees. States are still followed. */
  setPaused(paused) {
    this.paused = paused;
    this.renderer.setAnimationLoop(paused ? null : (t) => this.frame(t));
  }

  /** Start looking the way the avatar faces (entering seat view). */
  resetLook() {
    const head = this.ownHead();
    this.look = { yaw: head ? yawOf(head.rot) : 0, pitch: -0.08 };
  }

  stats() {
    return { frames: this.frames, entities: this.views.size };
  }
}
