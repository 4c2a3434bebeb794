// The thin view (`&view=thin` on the link, or the "Low-bandwidth view" button): the server
// draws the room from the member's own head and sends it as video, with everyone's voices;
// the page shows that picture over the whole stage instead of drawing the room itself, and
// turns the head by drag, touch or the phone's gyroscope, sending the pose (on the data
// channel when it is open). The picture's lane (high, low) follows what the link delivers.

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { unpackPose } from "./pose.js";
import { linkMedia } from "./room_devices.js";
import { deviceQuat, dragLook, gazeOf, gyroLook, laneState, nextLane, thinPose } from "./thin_view.js";

/** How often the lane is judged from the receiver's figures. */
const LANE_EVERY_MS = 2000;

export function mountThin({ link, session, scene }, media) {
  const video = byId("thin-video");
  const canvas = byId("scene");
  const button = byId("thin-button");
  // `&q=low` or `&q=high` fixes the lane; otherwise it follows the link.
  const fixedLane = link.q === "low" || link.q === "high" ? link.q : null;
  const info = {
    active: false,
    entered: false, // the link's thin view was entered once (the button decides after that)
    look: null, // {yaw, pitch} the member chose
    gyro: false,
    lane: laneState(fixedLane ?? "high", performance.now()),
    auto: fixedLane === null,
    switches: [], // {at, quality, loss, fps}: every lane change asked for
    bytesPerS: 0, // the picture's received bytes a second over the last window
    posesOffered: 0,
    firstFrameMs: null, // from entering to the first picture played
  };
  let enteredAt = 0;
  let gyroOffset = null;
  let laneTimer = null;
  let flushing = null;
  let lastBytes = null;

  const own = () => (session.member === null ? null : session.replica.byMember(session.member));

  function startLook() {
    const ent = own();
    if (info.look || !ent?.x) return;
    info.look = gazeOf(unpackPose(ent.x).head.rot);
  }

  function sendLook() {
    const pose = thinPose(own(), info.look);
    if (!pose) return;
    session.offerPose(pose);
    info.posesOffered++;
  }

  function render() {
    document.body.classList.toggle("thin-view", info.active);
    video.hidden = !info.active;
    canvas.hidden = info.active;
    byId("view-toggle").hidden = info.active; // seat or room: the server draws from the seat
    button.setAttribute("aria-pressed", String(info.active));
    button.dataset.i18n = info.active ? "view.full" : "view.thin";
    button.textContent = t(button.dataset.i18n);
  }

  function enter() {
    if (info.active) return;
    info.active = true;
    enteredAt = performance.now();
    info.firstFrameMs = null;
    info.lane = laneState(fixedLane ?? media.wanted?.q ?? "high", enteredAt);
    scene.setPaused(true);
    render();
    startLook();
    media
      .start({ send: linkMedia(link) ?? ["audio"], view: "thin", dc: true, q: info.lane.quality })
      .catch((err) => console.warn("thin view: media did not start", err));
    laneTimer = setInterval(judgeLane, LANE_EVERY_MS);
    // Poses are paced by the session; the 3D view's frames flushed them, now nobody draws.
    const flush = () => {
      session.flushPose();
      flushing = requestAnimationFrame(flush);
    };
    flushing = requestAnimationFrame(flush);
    askForGyroscope();
  }

  function leave() {
    if (!info.active) return;
    info.active = false;
    clearInterval(laneTimer);
    cancelAnimationFrame(flushing);
    video.srcObject = null;
    scene.setPaused(false);
    render();
    if (media.running) media.start({ send: [], view: "3d" }).catch((err) => console.warn("3d view: media", err));
  }

  button.addEventListener("click", () => (info.active ? leave() : enter()));
  // A link that asks for the thin view never needs the page's own drawing, even before joining.
  if (link.view === "thin") {
    scene.setPaused(true);
    canvas.hidden = true;
  }

  session.on("welcome", (w) => {
    button.hidden = w.role === "observer"; // a thin view is drawn from one's own avatar
  });
  session.on("status", ({ state }) => {
    if (state !== "joined" || link.view !== "thin" || info.active || info.entered) return;
    info.entered = true;
    if (session.welcome?.role !== "observer") {
      enter();
      return;
    }
    // No avatar, nothing to draw from: the page draws the room after all.
    scene.setPaused(false);
    render();
  });
  session.on("state", () => {
    if (info.active) startLook();
  });
  media.on("tracks", (entries) => {
    const view = entries.find((e) => e.owner === "view");
    if (!view) return;
    if (video.srcObject !== view.stream) {
      video.srcObject = view.stream;
      video.play().catch(() => {});
    }
  });
  video.addEventListener("playing", () => {
    if (info.firstFrameMs === null) info.firstFrameMs = Math.round(performance.now() - enteredAt);
  });
  media.on("state", () => {
    // Media refused or stopped (MEDIA_UNAVAILABLE, FORBIDDEN): the page draws the room again.
    if (info.active && !media.running && !media.busy) leave();
  });

  // --- looking around --------------------------------------------------------------------------

  let drag = null;
  video.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY };
    video.setPointerCapture(e.pointerId);
  });
  video.addEventListener("pointermove", (e) => {
    if (!drag || !info.look) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    drag = { x: e.clientX, y: e.clientY };
    if (gyroOffset) {
      gyroOffset = dragLook(gyroOffset, dx, dy);
      return; // the next orientation event applies it
    }
    info.look = dragLook(info.look, dx, dy);
    sendLook();
  });
  const endDrag = () => (drag = null);
  video.addEventListener("pointerup", endDrag);
  video.addEventListener("pointercancel", endDrag);

  // The arrow keys look around too, for whoever does not drag: each is the drag (pixels) that
  // turns the head that way.
  const KEY_TURN = { ArrowLeft: [-40, 0], ArrowRight: [40, 0], ArrowUp: [0, -40], ArrowDown: [0, 40] };
  video.addEventListener("keydown", (e) => {
    const turn = KEY_TURN[e.key];
    if (!turn || !info.look) return;
    e.preventDefault();
    info.look = dragLook(info.look, turn[0], turn[1]);
    sendLook();
  });

  /** iOS asks the person before a page may read the gyroscope; the press that entered the
   * thin view is the gesture it needs. Elsewhere the events simply come (or never do). */
  function askForGyroscope() {
    const ask = globalThis.DeviceOrientationEvent?.requestPermission;
    if (typeof ask === "function") ask.call(DeviceOrientationEvent).catch(() => {});
  }

  window.addEventListener("deviceorientation", (e) => {
    if (!info.active || e.alpha === null || e.beta === null || e.gamma === null || !info.look) return;
    const quat = deviceQuat(e.alpha, e.beta, e.gamma, screen.orientation?.angle ?? 0);
    if (!gyroOffset) {
      // The gyroscope takes over from where the member was looking, not from north.
      const g = gazeOf(quat);
      gyroOffset = { yaw: info.look.yaw - g.yaw, pitch: 0 };
      info.gyro = true;
    }
    info.look = gyroLook(quat, gyroOffset);
    sendLook();
  });

  // --- the lane ----------------------------------------------------------------------------------

  async function judgeLane() {
    const row = (await media.inbound()).find((r) => r.src === "view");
    if (!row || !info.active) return;
    const at = performance.now();
    if (lastBytes) info.bytesPerS = Math.round(((row.bytesReceived - lastBytes.bytes) * 1000) / (at - lastBytes.at));
    lastBytes = { at, bytes: row.bytesReceived };
    if (!info.auto) return;
    info.lane = nextLane(info.lane, {
      at,
      packetsReceived: row.packetsReceived ?? 0,
      packetsLost: row.packetsLost ?? 0,
      framesDecoded: row.framesDecoded ?? 0,
      framesReceived: row.framesReceived ?? 0,
      framesDropped: row.framesDropped ?? 0,
    });
    if (info.lane.quality === (media.wanted?.q ?? "high")) return;
    const { quality, loss, dropped, fps } = info.lane;
    info.switches.push({ at: Math.round(at), quality, loss, dropped, fps });
    media.setQuality(info.lane.quality);
  }

  /** Ask for a lane by hand (support staff, tests): `auto` off until `auto()` again. */
  function setLane(quality) {
    info.auto = false;
    info.lane = laneState(quality, performance.now());
    media.setQuality(quality);
  }

  return {
    info,
    render,
    enter,
    leave,
    setLane,
    /** Let the lane follow the link again, from the lane it is on. */
    auto: () => {
      info.auto = true;
      info.lane = laneState(media.wanted?.q ?? "high", performance.now());
    },
    /** Look along (yaw, pitch), as a drag would end (support staff, tests). */
    lookAt: (yaw, pitch = 0) => {
      info.look = { yaw, pitch };
      sendLook();
    },
    /** The picture as the page plays it: decoded frames, size, play position. */
    picture: () => {
      const q = video.getVideoPlaybackQuality?.();
      return { frames: q?.totalVideoFrames ?? 0, w: video.videoWidth, h: video.videoHeight, t: video.currentTime };
    },
  };
}
