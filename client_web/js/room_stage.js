// The 3D room: drawing each state, the view toggle, sitting and standing, looking around in
// seat view, and VR where the browser offers it.

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { showToast } from "./room_toast.js";
import { overlaps } from "./screen_clear.js";
import { VrMode, vrSupported } from "./xr.js";

/** `afterState` runs after each state is drawn (the panels that follow the entities);
 * `onTalk(source, on)` when a VR controller presses or lets go of push-to-talk. */
export function mountStage({ session, scene }, { afterState, onTalk }) {
  session.on("state", ({ tick }) => {
    scene.onState(tick, session.replica, performance.now() / 1000);
    afterState();
    byId("stand-button").hidden = !scene.ownSeat();
  });

  scene.onFrame = () => {
    session.flushPose();
    keepTilesOffScreens(scene);
  };

  // The room's layout comes with the welcome (one server hosts rooms of several layouts);
  // a server that does not name it serves its only one at /layout.json. Loaded once: a
  // reconnect finds the same room.
  let loading = null;
  session.on("welcome", (w) => {
    if (loading) return;
    const url = w.layout ? `/layouts/${encodeURIComponent(w.layout)}.json` : "/layout.json";
    loading = scene.load(url).catch((err) => {
      console.error("could not load the room's layout", err);
      showToast(String(err.message ?? err));
    });
  });

  const viewToggle = byId("view-toggle");
  const labelToggle = (mode) => {
    viewToggle.dataset.i18n = mode === "room" ? "view.seat" : "view.room";
    viewToggle.textContent = t(viewToggle.dataset.i18n);
  };
  scene.onViewMode = labelToggle;
  viewToggle.addEventListener("click", () => {
    const next = scene.viewMode === "room" ? "seat" : "room";
    if (next === "seat") scene.resetLook();
    scene.setViewMode(next);
    labelToggle(next);
  });

  byId("stand-button").addEventListener("click", () => session.send({ t: "stand" }));

  // Click a brass ring on the floor to sit there; drag in seat view to look around.
  const canvas = byId("scene");
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, moved: false };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    if (scene.viewMode !== "seat" || !drag.moved) return;
    drag.x = e.clientX;
    drag.y = e.clientY;
    scene.look.yaw -= dx * 0.005;
    scene.look.pitch = Math.max(-1.2, Math.min(1.2, scene.look.pitch - dy * 0.005));
    const pose = scene.ownPose();
    if (pose) session.offerPose(pose);
  });
  canvas.addEventListener("pointerup", (e) => {
    if (drag && !drag.moved) {
      const seat = scene.seatAt(e.clientX, e.clientY);
      if (seat) session.send({ t: "sit", seat });
    }
    drag = null;
  });

  vrSupported().then((ok) => {
    if (!ok) return;
    const button = byId("vr-button");
    const vr = new VrMode(
      scene,
      session,
      (presenting) => {
        button.dataset.i18n = presenting ? "vr.exit" : "vr.enter";
        button.textContent = t(button.dataset.i18n);
      },
      onTalk,
    );
    button.hidden = false;
    button.addEventListener("click", () => vr.toggle().catch((err) => showToast(String(err.message ?? err))));
  });
}

// The camera tiles' column sits on a rail at a side of the 3D view: bottom right, else bottom
// left, else top right (the experts' list holds the top left), whichever covers no wall screen;
// where every side would, smaller tiles (a big screen seen from near, the seminar's). It moves
// only when where it is covers a screen, so it does not hop about.
const RAILS = ["right-bottom", "left-bottom", "right-top"];
const RAIL_MARGIN = 16;
const COMPACT = 176 / 288; // the compact tiles' width to the advisor's usual one (the style's)
let bottomGap = null; // the gap the page's style gives the bottom rails (above the buttons)

function covered(box, screens) {
  let area = 0;
  for (const s of screens) {
    const w = Math.min(box.x + box.w, s.x + s.w) - Math.max(box.x, s.x);
    const h = Math.min(box.y + box.h, s.y + s.h) - Math.max(box.y, s.y);
    if (w > 0 && h > 0) area += w * h;
  }
  return area;
}

function keepTilesOffScreens(scene) {
  const tiles = byId("video-tiles");
  if (!tiles.childElementCount) return;
  const screens = scene.overlays().screens;
  const r = tiles.getBoundingClientRect();
  const here = { x: r.left, y: r.top, w: r.width, h: r.height };
  if (!screens.some((s) => overlaps(here, s))) return;
  const stage = byId("stage").getBoundingClientRect();
  const rail = tiles.dataset.rail ?? RAILS[0];
  if (rail.endsWith("bottom")) bottomGap = stage.bottom - r.bottom;
  const gap = bottomGap ?? RAIL_MARGIN;
  const compactNow = tiles.classList.contains("compact");
  const full = compactNow ? { w: r.width / COMPACT, h: r.height / COMPACT } : { w: r.width, h: r.height };
  const boxAt = (name, scale) => {
    const w = full.w * scale;
    const h = full.h * scale;
    return {
      x: name.startsWith("left") ? stage.left + RAIL_MARGIN : stage.right - RAIL_MARGIN - w,
      y: name.endsWith("top") ? stage.top + RAIL_MARGIN : stage.bottom - gap - h,
      w,
      h,
    };
  };
  let best = { rail, compact: compactNow, area: covered(here, screens) };
  for (const compact of [false, true]) {
    for (const name of RAILS) {
      const area = covered(boxAt(name, compact ? COMPACT : 1), screens);
      if (area < best.area) best = { rail: name, compact, area };
    }
    if (best.area === 0) break;
  }
  tiles.dataset.rail = best.rail;
  tiles.classList.toggle("compact", best.compact);
}
