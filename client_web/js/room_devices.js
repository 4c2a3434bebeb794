// Voice and video: the microphone and camera buttons, our own camera, people's cameras (in
// the tiles and above their heads in the room), everyone's voices and the experts', and the
// press that lets the browser play sound.

import { ErrorCode } from "./codec.js";
import { byId, el } from "./dom.js";
import { t } from "./i18n.js";
import { deviceProblemText } from "./media.js";
import { showToast } from "./room_toast.js";
import { SpatialVoices } from "./spatial.js";

/** What the link asks for: `media=1` joins with everything the role may send, `media=audio`
 * with the microphone only, `media=listen` with neither. */
export function linkMedia(link) {
  switch (link.media) {
    case "1":
    case "on":
      return ["audio", "video"];
    case "audio":
      return ["audio"];
    case "listen":
      return [];
    default:
      return null;
  }
}

export function mountDevices({ link, state, session, scene }, media) {
  const micButton = byId("mic-button");
  const camButton = byId("cam-button");
  const soundButton = byId("sound-button");
  const audioOut = byId("audio-out");
  const tiles = byId("video-tiles");
  const audios = new Map(); // mid -> <audio>
  const videoTiles = new Map(); // mid -> {figure, video, entry}
  let selfTile = null;
  // Each voice from its speaker's head (HRTF), in a room that sounds the layout's size.
  const voices = new SpatialVoices();
  let voicesLayout = null;

  function renderButtons() {
    for (const [button, kind] of [
      [micButton, "audio"],
      [camButton, "video"],
    ]) {
      const b = media.buttonState(kind);
      button.hidden = b.hidden;
      button.disabled = b.action === "wait";
      button.dataset.action = b.action ?? "";
      button.dataset.state = b.action === "mute" ? "on" : b.action === "unmute" ? "off" : "none";
      const label = button.querySelector(".media-label");
      label.dataset.i18n = b.label;
      label.textContent = t(b.label);
      // A toggle once running: pressed = on.
      if (b.action === "mute" || b.action === "unmute") {
        button.setAttribute("aria-pressed", String(b.on));
        const name = kind === "audio" ? "mic" : "cam";
        button.title = t(`media.${name}-press-${b.on ? "off" : "on"}`);
      } else {
        button.removeAttribute("aria-pressed");
        button.removeAttribute("title");
      }
    }
    renderSelfView();
    state.media = media.summary();
  }

  function pressDevice(kind) {
    const b = media.buttonState(kind);
    switch (b.action) {
      case "join":
        // Joining with the camera brings the voice too: a call without sound helps nobody.
        startMedia(kind === "video" ? ["audio", "video"] : ["audio"]);
        break;
      case "add":
        startMedia([...media.sendingKinds, kind]);
        break;
      case "mute":
        media.setMuted(kind, true);
        break;
      case "unmute":
        media.setMuted(kind, false);
        break;
    }
    unlockSound();
  }

  function startMedia(send) {
    media.start({ send }).catch((err) => showToast(t("media.failed", { msg: String(err?.message ?? err) })));
  }

  micButton.addEventListener("click", () => pressDevice("audio"));
  camButton.addEventListener("click", () => pressDevice("video"));

  media.on("state", renderButtons);
  media.on("failed", ({ code, msg, devices, problem }) => {
    if (devices) showToast(deviceProblemText(problem, t));
    else if (code !== ErrorCode.MEDIA_UNAVAILABLE) showToast(t("media.failed", { msg }));
  });

  /** Our own camera, small and mirrored, so people see what they send. */
  function renderSelfView() {
    const track = media.localTrack("video");
    if (!track) {
      selfTile?.remove();
      selfTile = null;
      return;
    }
    if (!selfTile) {
      const video = el("video", { autoplay: true, playsinline: true, "data-testid": "self-video" });
      video.muted = true;
      selfTile = el("figure", { class: "video-tile self" }, video, el("figcaption", { "data-i18n": "media.self" }, t("media.self")));
    }
    const video = selfTile.querySelector("video");
    if (video.srcObject !== media.local) video.srcObject = media.local;
    selfTile.hidden = media.muted.has("video");
    tiles.append(selfTile);
  }

  // Sound needs the page to have been used once (browsers' autoplay rules): what could not play
  // waits for a press of "Turn on sound", or any press at all.
  function playAudio(audio) {
    audio.play().then(
      () => (audio.dataset.blocked = ""),
      (err) => {
        if (err?.name !== "NotAllowedError") return;
        audio.dataset.blocked = "1";
        soundButton.hidden = false;
      },
    );
  }

  function unlockSound() {
    for (const audio of audios.values()) if (audio.dataset.blocked || audio.paused) playAudio(audio);
    voices.resume();
    soundButton.hidden = true;
  }

  soundButton.addEventListener("click", unlockSound);
  document.addEventListener("pointerdown", () => {
    if (!soundButton.hidden || voices.state === "suspended") unlockSound();
  });

  function entityOf(entry) {
    if (entry.ent !== null && entry.ent !== undefined) return session.replica.entities.get(entry.ent) ?? null;
    return entry.owner === "member" ? session.replica.byMember(entry.id) ?? null : null;
  }

  media.on("tracks", (entries) => {
    const mids = new Set(entries.map((e) => e.mid));
    for (const [mid, audio] of audios) {
      if (mids.has(mid)) continue;
      audio.srcObject = null;
      audio.remove();
      audios.delete(mid);
      voices.detach(mid);
    }
    for (const [mid, tile] of videoTiles) {
      if (mids.has(mid)) continue;
      tile.video.srcObject = null;
      tile.figure.remove();
      videoTiles.delete(mid);
    }
    for (const entry of entries) {
      if (entry.owner === "view") continue; // the thin view's own picture (room_thin.js)
      if (entry.kind === "audio") {
        let audio = audios.get(entry.mid);
        if (!audio) {
          audio = el("audio", { autoplay: true, dataset: { mid: entry.mid, src: entry.src } });
          audios.set(entry.mid, audio);
          audioOut.append(audio);
        }
        if (audio.srcObject !== entry.stream) {
          audio.srcObject = entry.stream;
          playAudio(audio);
        }
        // The element still plays (muted): Chrome feeds Web Audio a remote stream only then.
        voices.attach(entry, audio);
        if (voices.state === "suspended") soundButton.hidden = false;
      } else {
        let tile = videoTiles.get(entry.mid);
        if (!tile) {
          // Muted: the voice comes through its own <audio>; a muted video may always play.
          const video = el("video", { autoplay: true, playsinline: true, dataset: { mid: entry.mid, src: entry.src } });
          video.muted = true;
          tile = { figure: el("figure", { class: "video-tile" }, video, el("figcaption", {}, "")), video, entry };
          videoTiles.set(entry.mid, tile);
        }
        tile.entry = entry;
        if (tile.video.srcObject !== entry.stream) {
          tile.video.srcObject = entry.stream;
          tile.video.play().catch(() => {});
        }
      }
    }
    renderVideos();
    state.media = media.summary();
  });

  let videosSignature = "";

  /** Place each camera: the advisor's first and largest (and on a panel above their head in
   * the room), then the others. Re-run when people change, since a camera may arrive first. */
  function renderVideos() {
    const rows = [...videoTiles.values()].map((tile) => {
      const ent = entityOf(tile.entry);
      return { tile, ent, advisor: ent?.r === "advisor" };
    });
    const signature =
      JSON.stringify(rows.map((r) => [r.tile.entry.mid, r.ent?.i, r.ent?.n, r.ent?.mic, r.ent?.cam, r.advisor])) + document.documentElement.lang;
    if (signature === videosSignature) return;
    videosSignature = signature;
    rows.sort((a, b) => Number(b.advisor) - Number(a.advisor));
    let advisorShown = false;
    for (const { tile, ent, advisor } of rows) {
      const main = advisor && !advisorShown;
      advisorShown ||= main;
      tile.figure.classList.toggle("advisor", main);
      if (main) {
        tile.video.id = "advisor-video";
        tile.video.dataset.testid = "advisor-video";
      } else {
        tile.video.removeAttribute("id");
        delete tile.video.dataset.testid;
      }
      const name = ent?.n ? (main ? `${t("media.advisor")} · ${ent.n}` : ent.n) : "";
      const muted = ent?.mic === "off" ? t("media.mic-off") : "";
      tile.figure.querySelector("figcaption").textContent = [name, muted].filter(Boolean).join(" · ");
      tile.video.setAttribute("aria-label", name);
      // A camera switched off sends nothing: its last picture would stand still.
      tile.figure.hidden = ent?.cam === "off";
      tiles.append(tile.figure);
    }
    if (selfTile) tiles.append(selfTile);
    // The room shows each camera above its owner's head.
    const shown = new Set();
    for (const { tile, ent } of rows) {
      if (!ent || tile.entry.owner !== "member" || ent.cam === "off") continue;
      scene.setVideo(ent.i, tile.video);
      shown.add(ent.i);
    }
    for (const { entity } of scene.videosShown()) if (!shown.has(entity)) scene.setVideo(entity, null);
  }

  /** Draw the cameras again even if nothing about them changed (a new language). */
  function rerenderVideos() {
    videosSignature = "";
    renderVideos();
  }

  /** Everyone with an avatar, with the state of their microphone and camera. */
  function renderPeople() {
    if (scene.layout && scene.layout !== voicesLayout) {
      voicesLayout = scene.layout;
      voices.setLayout(scene.layout);
    }
    voices.update(session.replica, session.member);
    const speaking = voices.speakingEntities(session.replica);
    scene.setSpeaking(speaking);
    state.people = [...session.replica.entities.values()]
      .filter((e) => e.k === "avatar")
      .map((e) => ({ entity: e.i, member: e.m, name: e.n, role: e.r, mic: e.mic ?? "", cam: e.cam ?? "", speaking: speaking.has(e.i) }));
    for (const tile of videoTiles.values()) tile.figure.classList.toggle("speaking", speaking.has(entityOf(tile.entry)?.i));
    for (const tag of document.querySelectorAll(".expert-tag")) tag.classList.toggle("speaking", speaking.has(Number(tag.dataset.entity)));
    if (videoTiles.size) renderVideos();
  }

  // Who speaks changes between states (a still room sends none): levels are read on a timer.
  setInterval(() => {
    if (voices.voices.size) renderPeople();
  }, 150);

  return { renderButtons, renderPeople, rerenderVideos, startMedia, voices };
}

/** Joins with what the link asks for, once, at the first join; after that the buttons decide. */
export function startLinkMedia({ link, session }, media, devices) {
  let done = false;
  session.on("status", ({ state: s }) => {
    // A thin view starts media itself, with what the link asks to send.
    if (s !== "joined" || link.view === "thin") return;
    const wanted = linkMedia(link);
    if (wanted && !media.running && !done) {
      done = true;
      devices.startMedia(wanted);
    }
  });
}
