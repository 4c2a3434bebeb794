// The room page: joins the room named in the link, draws it, and carries the conversation
// (chat, questions to the digital experts and their answers, the hand-off to a person), the
// step-up before the portfolio, voice and video (the microphone and camera buttons, people's
// cameras, experts' voices, the recording notice), questions by voice, a customer's appointments
// (the booking page, the reminder when one is due), and, for an advisor, the tools to present,
// to call experts and to record. Each panel is a module (room_*.js); this one wires them, in
// the order the listeners must run.
// Everything it knows is also on `window.wealthroom`, for support staff and for tests.

import { ErrorCode } from "./codec.js";
import { RoomSession } from "./connection.js";
import { byId } from "./dom.js";
import { adoptTokenLang, applyStatic, currentLang, onLangChange, t } from "./i18n.js";
import { fragmentParams, sameOriginSocket, tokenClaims } from "./link_params.js";
import { RoomMedia } from "./media.js";
import { unpackPose } from "./pose.js";
import { accessibilityOn } from "./prefs.js";
import { Limits } from "./protocol.js";
import { mountAdvisorTools } from "./room_advisor.js";
import { mountAppointments } from "./room_appointments.js";
import { mountConversation } from "./room_conversation.js";
import { mountDevices, startLinkMedia } from "./room_devices.js";
import { mountExperts } from "./room_experts.js";
import { mountInvite } from "./room_invite.js";
import { handoffText, mountHandoff } from "./room_handoff.js";
import { mountPortfolio } from "./room_portfolio.js";
import { mountRecording } from "./room_recording.js";
import { RoomScene } from "./room_scene.js";
import { mountSettings } from "./room_settings.js";
import { mountStage } from "./room_stage.js";
import { mountStatus } from "./room_status.js";
import { mountThin } from "./room_thin.js";
import { gazeOf } from "./thin_view.js";
import { showToast } from "./room_toast.js";
import { mountVoice } from "./room_voice.js";

// --- the link ----------------------------------------------------------------------------------

const LINK_KEY = "wealthroom.link";

/** Room, token and the rest from the fragment; kept per tab so that a reload still works,
 * and taken out of the address bar so the token is not copied along with it. */
function readLink() {
  let params = fragmentParams();
  if (params.token || params.invite) {
    sessionStorage.setItem(LINK_KEY, JSON.stringify(params));
  } else {
    const saved = JSON.parse(sessionStorage.getItem(LINK_KEY) ?? "null");
    if (saved && (!params.room || saved.room === params.room)) params = saved;
  }
  if (params.room) history.replaceState(null, "", `${location.pathname}#room=${encodeURIComponent(params.room)}`);
  return params;
}

const link = readLink();
const claims = link.token ? tokenClaims(link.token) : {};
const roomId = link.room || claims.room || "demo";
const displayName = link.name || claims.name || "Guest";
adoptTokenLang(claims.lang); // a Cantonese speaker's link opens in traditional Chinese

// --- state, for the page and for whoever inspects it ------------------------------------------------

const state = {
  room: roomId,
  status: "connecting",
  closeCode: null,
  member: null,
  role: null,
  messages: [], // every reliable message, by seq
  chat: [],
  answers: [],
  handoff: null,
  presented: {}, // screen id -> latest presented message
  holdings: null,
  verifiedUntil: null,
  errors: [],
  experts: [],
  people: [], // avatars: {entity, member, name, role, mic, cam}
  recording: null, // {rec, by, days, notice, seen} while the session is recorded
  media: null, // what media runs (RoomMedia.summary())
};

const scene = new RoomScene(byId("scene"));
// A guest's link carries an invitation instead of a token: the server counts its uses.
const session = new RoomSession(link.ws || sameOriginSocket(`/ws/${encodeURIComponent(roomId)}`), link.token ?? "", {
  name: displayName.slice(0, Limits.MAX_NAME_CHARS),
  invite: link.invite,
  // The consent notice's language: the server writes Hong Kong's in Cantonese.
  lang: currentLang() === "zh-HK" ? "yue" : currentLang(),
});

window.wealthroom = {
  state,
  session,
  scene,
  get joined() {
    return session.joined;
  },
  get duplicates() {
    return session.duplicates;
  },
  screens: () => scene.screensShown(),
  media: null, // set below
  mouths: () => scene.mouths(),
  lives: () => scene.lives(),
  figures: () => scene.figures(),
  videos: () => scene.videosShown(),
  /** Where member `m`'s head is and looks, as this page's replica has it (null: nowhere). */
  head: (m) => {
    const ent = session.replica.byMember(m);
    if (!ent?.x) return null;
    const head = unpackPose(ent.x).head;
    return { pos: head.pos, ...gazeOf(head.rot) };
  },
  stats: () => ({ ...scene.stats(), sent: { ...session.sent }, tick: session.replica.tick, rate: session.welcome?.rate, poseHz: session.poseHz }),
  debug: {
    /** Cut the connection as a network failure would: the page reconnects by itself
     * (with `{hold: true}`, only when `resume()` is called). */
    cut: (options) => session.cut(options),
    resume: () => session.resume(),
  },
};

// --- the panels --------------------------------------------------------------------------------
// RoomMedia listens to the session too: the page's own listeners are registered before it, so
// that they run first, and the panels that need it come after it. The panels below call each
// other only once the session has started, by which time every one of them exists.

const page = { link, state, session, scene };

const status = mountStatus(page);

session.on("welcome", (w) => {
  state.member = w.member;
  state.role = w.role;
  scene.setTickHz(w.tick_hz);
  scene.setMember(w.member);
  byId("advisor-panel").hidden = w.role !== "advisor";
  byId("portfolio-button").hidden = w.role !== "customer";
  byId("help-button").hidden = !["customer", "guest"].includes(w.role);
  invite.onWelcome(w.role);
  devices.renderButtons();
});

mountStage(page, {
  afterState: () => {
    experts.render();
    devices.renderPeople();
    invite.renderGuests();
  },
  onTalk: (source, on) => voice.talk(source, on),
});

const experts = mountExperts(page, { onExperts: (list) => advisor.renderDismissList(list) });
const handoff = mountHandoff(page);
const conversation = mountConversation(page, {
  handoffText,
  onHandoff: () => handoff.render(),
  onExpert: () => experts.invalidate(),
  sendInterest: (product) => portfolio.sendInterest(product),
});
const portfolio = mountPortfolio(page);
const invite = mountInvite(page);
window.wealthroom.downloadSummary = () => invite.downloadSummary();

session.on("error", (err) => {
  state.errors.push(err);
  if (portfolio.onError(err)) return;
  switch (err.code) {
    case ErrorCode.MOVED_TOO_FAST:
      return; // the state frames put us back where the server has us
    case ErrorCode.MEDIA_TIMEOUT:
    case ErrorCode.NO_MEDIA_SESSION:
      return; // media asks for a new peer by itself
    case ErrorCode.MEDIA_UNAVAILABLE:
      showToast(t("media.unavailable"));
      return;
    default:
      showToast(t("error.generic", { msg: err.msg }));
  }
});

const advisor = mountAdvisorTools(page, { names: conversation.names });

const media = new RoomMedia(session);
window.wealthroom.media = media;
// Poses go on the peer's unordered data channel while it is open, else on the WebSocket.
session.poseChannel = media;
const devices = mountDevices(page, media);
const recording = mountRecording(page, media);
const voice = mountVoice(page, media);
startLinkMedia(page, media, devices);
const thin = mountThin(page, media);
window.wealthroom.thin = thin;
/** Each voice's panner, its speaker's head, its level (for tests and support staff). */
window.wealthroom.voices = () => devices.voices.summary(session.replica);

const settings = mountSettings(page);
const appointments = mountAppointments(page);
onLangChange(() => {
  appointments.render();
  status.render();
  conversation.rerender();
  handoff.render();
  experts.invalidate();
  experts.render();
  advisor.renderInfo();
  devices.renderButtons();
  recording.render();
  devices.rerenderVideos();
  advisor.renderSpecialties();
  voice.render();
  invite.render();
  thin.render();
});

// --- start -------------------------------------------------------------------------------------

applyStatic(document);
settings.setAccessibility(accessibilityOn());
byId("room-name").textContent = `· ${roomId}`;
document.title = `Wealthroom · ${roomId}`;
window.addEventListener("pagehide", () => {
  media.stop();
  session.leave();
});

if (link.token || link.invite) {
  session.start();
} else {
  status.noToken();
}
