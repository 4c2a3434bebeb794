// The 3D room: drawing each state, the view toggle, sitting and standing, looking around in
// seat view, and VR where the browser offers it.

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { showToast } from "./room_toast.js";
import { RAILS, RAIL_MARGIN, chooseRail, overlaps } from "./screen_clear.js";
import { VrMode, vrSupported } from "./xr.js";

/** `afterState` runs after each state is drawn (the panels that follow the entities);
 * `onTalk(source, on)` when a VR controller presses or lets go of push-to-talk. */
export function mountStage({ session, scene }, { afterState, onTalk }) {
  session.on("state", ({ tick }) => {
    scene.onState(tick, session.replica, performance.now() / 1000);
    afterState();
    byId("stand-button").hidden = !scene.ownSeat();
  });

  // Names and camera panels keep off the experts' list over the view as off the screens.
  const hud = document.querySelector("#stage .hud");
  scene.overlaysOfPage = () => (hud && !hud.hidden ? [hud.getBoundingClientRect()] : []);
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
      console.error("could not load the room", err);
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
    // For support staff and tests, beside the rest of the page's state.
    if (window.wealthroom) window.wealthroom.vr = vr;
    button.hidden = false;
    button.addEventListener("click", () => vr.toggle().catch((err) => showToast(String(err.message ?? err))));
  });
}

// The camera tiles' column moves off the wall screens (see chooseRail). It moves only when
// where it is covers one, so it does not hop about.
let bottomGap = null; // the gap the page's style gives the bottom rails (above the buttons)

function keepTilesOffScreens(scene) {
  const tiles = byId("video-tiles");
  if (!tiles.childElementCount) return;
  const screens = scene.overlays().screens;
  const r = tiles.getBoundingClientRect();
  const here = { x: r.left, y: r.top, w: r.width, h: r.height };
  if (!screens.some((s) => overlaps(here, s))) return;
  const s = byId("stage").getBoundingClientRect();
  const rail = tiles.dataset.rail ?? RAILS[0];
  if (rail.endsWith("bottom")) bottomGap = s.bottom - r.bottom;
  const stage = { x: s.left, y: s.top, w: s.width, h: s.height };
  const compact = tiles.classList.contains("compact");
  const best = chooseRail({ here, stage, rail, compact, bottomGap: bottomGap ?? RAIL_MARGIN }, screens);
  tiles.dataset.rail = best.rail;
  tiles.classList.toggle("compact", best.compact);
}
