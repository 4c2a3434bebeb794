// Voice and video in the room. The server is one WebRTC peer per member and always makes the
// offers: the member says what it sends and what it wants to receive (`media`), answers each
// `rtc_offer` (attaching its microphone and camera to the m-lines the server opened for
// receiving them), trickles its ICE candidates, and learns from the offer's `tracks` what each
// incoming m-line carries (a person's microphone or camera, an expert's voice).
//
// The functions at the top are pure (tested under Node); `RoomMedia` puts them to work with
// the browser's RTCPeerConnection and getUserMedia, on top of a `RoomSession`.

import { ErrorCode, Limits } from "./protocol.js";
import { Emitter } from "./emitter.js";
import { encodePoseFrame } from "./pose.js";

/** What each role may send, as in the permission table (speak, camera). */
const ROLE_SENDS = {
  customer: ["audio", "video"],
  guest: ["audio"],
  advisor: ["audio", "video"],
  observer: [],
  bot: ["audio", "video"],
};
const KINDS = ["audio", "video"];
/** Roles with an avatar, who may send poses (on the data channel too). */
const MOVERS = new Set(["customer", "guest", "advisor", "bot"]);
/** The pose counter on the data channel wraps here (SPEC.md, "The pose data channel"). */
const POSE_N_WRAP = 2 ** 32;
/** The camera picture we prefer; a camera that cannot give it is asked for its own. */
const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };
/** The server refuses more ICE candidates than this for one offer. */
export const MAX_CANDIDATES = 32;
/** Error codes about media: the session's other errors are the page's business. */
export const MEDIA_ERRORS = new Set([
  ErrorCode.NO_MEDIA_SESSION,
  ErrorCode.MEDIA_TIMEOUT,
  ErrorCode.MEDIA_UNAVAILABLE,
  ErrorCode.MALFORMED_SDP,
]);
const MEDIA_REFS = new Set(["media", "rtc_answer", "ice", "mute", "seen", "record"]);

// --- pure logic ---------------------------------------------------------------------------------

/** The kinds of `wanted` that `role` may send, each once, audio first. */
export function allowedSend(role, wanted) {
  const may = ROLE_SENDS[role] ?? [];
  return KINDS.filter((k) => wanted.includes(k) && may.includes(k));
}

/**
 * What a track's `src` names: `m12.a` (member 12's microphone), `m12.v` (their camera),
 * `e7.a` (expert entity 7's voice), `e7.v` (the expert drawn by the server), `view` (the thin
 * client's picture). Null for anything else.
 */
export function parseSource(src) {
  if (src === "view") return { owner: "view", id: null, kind: "video" };
  const match = /^([me])(\d{1,10})\.([av])$/.exec(src ?? "");
  if (!match) return null;
  return {
    owner: match[1] === "m" ? "member" : "expert",
    id: Number(match[2]),
    kind: match[3] === "a" ? "audio" : "video",
  };
}

/** The m-lines of an SDP, in order: `{index, kind, mid, direction}`. */
export function mediaSections(sdp) {
  const sections = [];
  let current = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith("m=")) {
      current = { index: sections.length, kind: line.slice(2).split(" ")[0], mid: null, direction: "sendrecv" };
      sections.push(current);
    } else if (current && line.startsWith("a=mid:")) {
      current.mid = line.slice(6);
    } else if (current && /^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) {
      current.direction = line.slice(2);
    }
  }
  return sections;
}

/** The DTLS fingerprint of an SDP: a new one means a new peer on the server's side. */
export function fingerprint(sdp) {
  const match = /^a=fingerprint:(.+)$/m.exec(sdp ?? "");
  return match ? match[1].trim() : null;
}

/**
 * Which of the offer's m-lines carry what: for each transceiver `{mid, kind}` whose mid the
 * offer's `tracks` lists (`{mid, src, ent?}`), an entry `{mid, src, ent, kind, owner, id}`.
 * m-lines the offer leaves out of `tracks` are ours to send on, or sources that ended.
 */
export function incomingSources(tracks, transceivers) {
  const byMid = new Map(tracks.map((t) => [t.mid, t]));
  const out = [];
  for (const tr of transceivers) {
    const offered = tr.mid === null || tr.mid === undefined ? undefined : byMid.get(tr.mid);
    if (!offered) continue;
    const source = parseSource(offered.src);
    if (!source || source.kind !== tr.kind) continue;
    out.push({ mid: tr.mid, src: offered.src, ent: offered.ent ?? null, kind: tr.kind, owner: source.owner, id: source.id });
  }
  return out;
}

/**
 * Where to attach local tracks on this offer: for each kind in `want` not already sending
 * (`sending`: kind -> mid, kept across renegotiations while that m-line is still open for
 * us), the first m-line of that kind the server opened for receiving (`recvonly`) that is
 * not in the offer's tracks and not taken. Returns `[{kind, mid}]`.
 */
export function planSending(sections, tracks, want, sending) {
  const offered = new Set(tracks.map((t) => t.mid));
  const open = sections.filter((s) => s.direction === "recvonly" && s.mid !== null && !offered.has(s.mid));
  const taken = new Set();
  const keep = new Set();
  for (const kind of want) {
    const mid = sending.get(kind);
    // Already sending there: attaching it again would make a second track.
    if (mid !== undefined && open.some((s) => s.mid === mid && s.kind === kind)) {
      taken.add(mid);
      keep.add(kind);
    }
  }
  const plan = [];
  for (const kind of want) {
    if (keep.has(kind)) continue;
    const free = open.find((s) => s.kind === kind && !taken.has(s.mid));
    if (!free) continue;
    taken.add(free.mid);
    plan.push({ kind, mid: free.mid });
  }
  return plan;
}

/** The `ice` message for a browser candidate (`null` or an empty one: no more candidates). */
export function iceMessage(n, candidate) {
  if (!candidate || !candidate.candidate) return { t: "ice", n, cand: "" };
  const msg = { t: "ice", n, cand: candidate.candidate };
  if (candidate.sdpMid !== null && candidate.sdpMid !== undefined && candidate.sdpMid.length <= 16) msg.mid = candidate.sdpMid;
  else if (Number.isInteger(candidate.sdpMLineIndex) && candidate.sdpMLineIndex <= 255) msg.idx = candidate.sdpMLineIndex;
  return msg;
}

/**
 * How a microphone (`kind` audio) or camera (video) button looks: `hidden` when the role may
 * not send it, `action` what pressing it does ("join": start media with it, "add": add it to
 * media already running, "mute", "unmute", "wait"), `on` whether it is live and unmuted, and
 * the i18n key of its label.
 */
export function deviceButton(kind, { role, running = false, sending = [], muted = [], busy = false }) {
  const name = kind === "audio" ? "mic" : "cam";
  if (!allowedSend(role, [kind]).length) return { hidden: true, action: null, on: false, label: `media.${name}-none` };
  if (busy) return { hidden: false, action: "wait", on: false, label: `media.${name}-starting` };
  if (!sending.includes(kind)) {
    return { hidden: false, action: running ? "add" : "join", on: false, label: `media.${name}-join` };
  }
  const isMuted = muted.includes(kind);
  return { hidden: false, action: isMuted ? "unmute" : "mute", on: !isMuted, label: `media.${name}-${isMuted ? "off" : "on"}` };
}

/** getUserMedia's errors (and older Chrome's names for them) -> what went wrong, in a word. */
const DEVICE_CAUSES = {
  NotFoundError: "not-found",
  DevicesNotFoundError: "not-found",
  NotAllowedError: "not-allowed",
  PermissionDeniedError: "not-allowed",
  SecurityError: "not-allowed",
  NotReadableError: "not-readable",
  TrackStartError: "not-readable",
  AbortError: "not-readable",
  OverconstrainedError: "overconstrained",
  ConstraintNotSatisfiedError: "overconstrained",
};

/** The cause of a getUserMedia rejection, from its DOMException name: "not-found", ... */
export function deviceCause(name) {
  return DEVICE_CAUSES[name] ?? "other";
}

/**
 * What to tell a member whose microphone or camera did not open: `errors` maps each kind that
 * did not open to its error's name, `got` lists the kinds that did. Returns `{causes, outcome}`:
 * one cause `{key, devices, msg}` per kind of failure (i18n keys; `devices` names what failed)
 * and the i18n key of what the member takes part with now. Null when nothing failed.
 */
export function deviceProblem(errors, got) {
  const groups = new Map(); // cause -> kinds
  for (const kind of KINDS) {
    if (!(kind in errors)) continue;
    const cause = deviceCause(errors[kind]);
    groups.set(cause, [...(groups.get(cause) ?? []), kind]);
  }
  if (!groups.size) return null;
  const causes = [...groups].map(([cause, kinds]) => ({
    key: `media.err.${cause}`,
    devices: `media.dev.${kinds.length > 1 ? "both" : kinds[0]}`,
    msg: errors[kinds[0]],
  }));
  const outcome = `media.got.${got.length === 1 ? got[0] : got.length ? "both" : "none"}`;
  return { causes, outcome };
}

/** `deviceProblem`'s answer as sentences, with `t` the i18n lookup. */
export function deviceProblemText(problem, t) {
  const causes = problem.causes.map((c) => t(c.key, { devices: t(c.devices), msg: c.msg }));
  // Sentences in Chinese end in "。" and need no space between them.
  return [...causes, t(problem.outcome)].filter(Boolean).reduce((text, s) => (text && !text.endsWith("。") ? `${text} ${s}` : text + s), "");
}

/** The `mute` message for a kind: `{t: "mute", mic: "off"}` and the like. */
/** RTCIceServer dictionaries from an `ice_servers` message (TURN logins are time-limited). */
export function iceServersOf(msg) {
  return msg.servers.map(({ urls, username, credential }) =>
    username === undefined ? { urls } : { urls, username, credential },
  );
}

/** The `media` message for what a member wants: `{send, view, dc, q}` (q null: the default). */
export function mediaMessage({ send, view, dc, q = null }) {
  const msg = { t: "media", send, view };
  if (dc) msg.dc = true;
  if (q) msg.q = q;
  return msg;
}

export function muteMessage(kind, muted) {
  return { t: "mute", [kind === "audio" ? "mic" : "cam"]: muted ? "off" : "on" };
}

// --- the browser side ------------------------------------------------------------------------------

/**
 * A member's voice and video over the room's session. Events: "state" (what runs, for the
 * buttons), "tracks" (the list of incoming sources, each `{mid, src, ent, kind, owner, id,
 * track, stream}`, after every offer), "recording" (the `recording` message), "failed"
 * ({code, msg}: media could not start or was refused).
 */
export class RoomMedia extends Emitter {
  constructor(session, { devices = globalThis.navigator?.mediaDevices, Peer = globalThis.RTCPeerConnection } = {}) {
    super();
    this.session = session;
    this.devices = devices;
    this.Peer = Peer;
    this.wanted = null; // {send, view, dc, q} once started
    this.local = null; // MediaStream of our microphone and camera
    this.muted = new Set();
    this.busy = false;
    this.pc = null;
    this.peerFingerprint = null;
    this.sending = new Map(); // kind -> mid it is attached to
    this.offerN = null;
    this.answeredN = null;
    this.candidates = 0;
    this.pendingIce = [];
    this.incoming = [];
    this.streams = new Map(); // mid -> MediaStream for that one track
    this.queue = Promise.resolve();
    this.recording = null; // the latest `recording` message while on
    this.acknowledged = new Set(); // recording ids whose notice was shown and acknowledged
    this.offers = 0;
    this.mediaSent = false;
    this.channel = null; // the server's `poses` data channel, once it opens
    this.poseN = 0;
    this.channelPoses = 0; // poses sent on the channel

    this.iceServers = []; // from the server's `ice_servers`, sent before anything else
    session.on("direct", (msg) => {
      if (msg.t === "rtc_offer") this.enqueue(() => this.onOffer(msg));
      else if (msg.t === "ice_servers") this.iceServers = iceServersOf(msg);
    });
    session.on("reliable", (msg) => {
      if (msg.t === "recording") this.onRecording(msg);
    });
    session.on("status", ({ state }) => this.onStatus(state));
    session.on("error", (err) => this.onError(err));
  }

  get role() {
    return this.session.welcome?.role ?? null;
  }

  get running() {
    return this.wanted !== null;
  }

  /** The kinds we send now. */
  get sendingKinds() {
    return this.wanted?.send ?? [];
  }

  /** The buttons' view of things (see deviceButton). */
  buttonState(kind) {
    return deviceButton(kind, {
      role: this.role,
      running: this.running,
      sending: this.sendingKinds,
      muted: [...this.muted],
      busy: this.busy,
    });
  }

  /**
   * Start (or widen) media: take the microphone and camera for the kinds in `send` that this
   * role may send (what the browser refuses is left out), then ask the server for a peer.
   * `view` and `q` keep what runs unless given; a member with an avatar sends its poses on the
   * peer's data channel (`dc`) unless told not to.
   */
  async start({ send = KINDS, view = this.wanted?.view ?? "3d", dc = MOVERS.has(this.role), q = this.wanted?.q ?? null } = {}) {
    if (this.busy) return this.wanted;
    this.busy = true;
    this.emit("state", this);
    try {
      const want = allowedSend(this.role, [...new Set([...this.sendingKinds, ...send])]);
      const got = await this.acquire(want);
      this.wanted = { send: got, view, dc: dc && MOVERS.has(this.role), q };
    } finally {
      this.busy = false;
    }
    if (this.session.joined) this.sendMedia();
    this.emit("state", this);
    return this.wanted;
  }

  /**
   * Get the local tracks of `kinds` we lack; returns the kinds we have. What the browser cannot
   * open is left out (an advisor without a camera still joins with the microphone, one with
   * neither still sees and hears the room), and "failed" says why in `problem`.
   */
  async acquire(kinds) {
    const missing = kinds.filter((k) => !this.localTrack(k));
    if (missing.length && this.devices?.getUserMedia) {
      const errors = {};
      const open = async (which, exact) => {
        const stream = await this.devices.getUserMedia({
          audio: which.includes("audio") ? { echoCancellation: true, noiseSuppression: true } : false,
          video: which.includes("video") ? (exact ? VIDEO : true) : false,
        });
        this.local ??= new MediaStream();
        for (const track of stream.getTracks()) {
          track.enabled = !this.muted.has(track.kind);
          this.local.addTrack(track);
        }
      };
      const attempt = async (which) => {
        try {
          await open(which, true);
          return true;
        } catch (err) {
          let error = err;
          // A camera that cannot give our preferred size may still give its own.
          if (which.includes("video") && DEVICE_CAUSES[err?.name] === "overconstrained") {
            try {
              await open(which, false);
              return true;
            } catch (err2) {
              error = err2;
            }
          }
          console.warn("could not open", which.join(" and "), error?.name ?? error);
          for (const kind of which) errors[kind] = String(error?.name ?? error);
          return false;
        }
      };
      // Together first (one permission prompt); then each alone, so that a missing camera
      // still leaves the voice, and a missing microphone the picture.
      if (!(await attempt(missing)) && missing.length > 1) {
        for (const kind of missing) if (await attempt([kind])) delete errors[kind];
      }
      const got = kinds.filter((k) => this.localTrack(k));
      const problem = deviceProblem(errors, got);
      if (problem) this.emit("failed", { code: null, msg: problem.causes[0].msg, devices: true, problem });
    }
    return kinds.filter((k) => this.localTrack(k));
  }

  localTrack(kind) {
    return this.local?.getTracks().find((t) => t.kind === kind && t.readyState === "live") ?? null;
  }

  /** Tell the server what we send and receive; a running peer is kept for its next offer. */
  sendMedia() {
    if (!this.wanted) return;
    if (!this.session.send(mediaMessage(this.wanted))) return;
    this.mediaSent = true;
    for (const kind of this.muted) if (this.wanted.send.includes(kind)) this.session.send(muteMessage(kind, true));
  }

  /** Move the pictures received to the `high` or `low` lane (same m-lines, no new offer). */
  setQuality(q) {
    if (!this.wanted || this.wanted.q === q) return false;
    this.wanted = { ...this.wanted, q };
    if (this.mediaSent) this.session.send(mediaMessage(this.wanted));
    this.emit("state", this);
    return true;
  }

  /**
   * Send a packed pose (with the ack riding along) on the data channel, numbered so that the
   * server drops one overtaken by a newer; false when the channel is not open (the caller
   * sends it on the WebSocket instead).
   */
  sendPose(packed, ack = null) {
    const channel = this.channel;
    if (!this.wanted?.dc || !channel || channel.readyState !== "open") return false;
    this.poseN = (this.poseN + 1) % POSE_N_WRAP;
    try {
      channel.send(encodePoseFrame(packed, { n: this.poseN, ack }));
    } catch {
      return false; // closing under us
    }
    this.channelPoses++;
    return true;
  }

  /** Switch a microphone (audio) or camera (video) off or on, here and for everyone. */
  setMuted(kind, muted) {
    const track = this.localTrack(kind);
    if (!track) return false;
    if (muted) this.muted.add(kind);
    else this.muted.delete(kind);
    track.enabled = !muted;
    if (this.mediaSent && this.sendingKinds.includes(kind)) this.session.send(muteMessage(kind, muted));
    this.emit("state", this);
    return true;
  }

  /** Stop everything: the server stops forwarding, the devices are released. */
  stop() {
    if (this.mediaSent) this.session.send({ t: "media", send: [], view: "none" });
    this.mediaSent = false;
    this.wanted = null;
    this.closePeer();
    for (const track of this.local?.getTracks() ?? []) track.stop();
    this.local = null;
    this.muted.clear();
    this.emit("state", this);
  }

  // --- signalling ------------------------------------------------------------------------------

  enqueue(job) {
    this.queue = this.queue.then(job).catch((err) => {
      console.warn("media negotiation failed", err);
      this.emit("failed", { code: null, msg: String(err?.message ?? err) });
    });
  }

  newPeer() {
    this.closePeer();
    const pc = new this.Peer({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", iceServers: this.iceServers });
    pc.addEventListener("icecandidate", (e) => {
      if (pc !== this.pc) return;
      const msg = iceMessage(this.offerN, e.candidate);
      if (this.answeredN !== this.offerN) this.pendingIce.push(msg);
      else this.sendIce(msg);
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc === this.pc) this.emit("state", this);
    });
    // The server opens `poses` on every peer (SPEC.md): ours to send poses on once it is open.
    pc.addEventListener("datachannel", (e) => {
      if (pc !== this.pc || e.channel.label !== "poses") return;
      this.channel = e.channel;
      e.channel.binaryType = "arraybuffer";
      e.channel.addEventListener("open", () => this.emit("state", this));
      e.channel.addEventListener("close", () => {
        if (this.channel === e.channel) this.channel = null;
        this.emit("state", this);
      });
    });
    this.pc = pc;
    return pc;
  }

  sendIce(msg) {
    if (msg.cand && (this.candidates >= MAX_CANDIDATES - 1 || msg.cand.length > Limits.MAX_ICE_CHARS)) return;
    if (msg.cand) this.candidates++;
    this.session.send(msg);
  }

  closePeer() {
    const pc = this.pc;
    this.pc = null;
    this.channel = null;
    this.peerFingerprint = null;
    this.sending.clear();
    this.offerN = null;
    this.answeredN = null;
    this.pendingIce = [];
    if (pc) {
      try {
        pc.close();
      } catch {
        // Already closed.
      }
    }
    if (this.incoming.length) {
      this.incoming = [];
      this.streams.clear();
      this.emit("tracks", []);
    }
  }

  async onOffer(msg) {
    if (!this.wanted || !this.session.joined) return;
    const print = fingerprint(msg.sdp);
    // A different DTLS identity is a new peer on the server (it restarted ours): start over.
    if (!this.pc || (print && this.peerFingerprint && print !== this.peerFingerprint)) this.newPeer();
    const pc = this.pc;
    this.peerFingerprint = print;
    this.offerN = msg.n;
    this.candidates = 0;
    this.pendingIce = [];
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    if (pc !== this.pc) return;
    await this.attachLocal(pc, msg);
    if (pc !== this.pc) return;
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc !== this.pc) return;
    this.session.send({ t: "rtc_answer", n: msg.n, sdp: pc.localDescription.sdp });
    this.answeredN = msg.n;
    this.offers++;
    for (const ice of this.pendingIce.splice(0)) this.sendIce({ ...ice, n: msg.n });
    this.refreshIncoming(pc, msg.tracks);
  }

  /**
   * Put our microphone and camera on the m-lines the server opened for them (what `addTrack`
   * does after `setRemoteDescription`, made explicit so that it cannot pick one of the
   * server's sending m-lines of the same kind). Tracks already sending stay as they are.
   */
  async attachLocal(pc, msg) {
    const sections = mediaSections(msg.sdp);
    const plan = planSending(sections, msg.tracks, this.sendingKinds, this.sending);
    const transceivers = pc.getTransceivers();
    for (const { kind, mid } of plan) {
      const track = this.localTrack(kind);
      const tr = transceivers.find((t) => t.mid === mid);
      if (!track || !tr) continue;
      await tr.sender.replaceTrack(track);
      tr.sender.setStreams?.(this.local);
      tr.direction = "sendonly";
      this.sending.set(kind, mid);
    }
    // m-lines that are no longer ours (the server closed them) stop sending.
    for (const [kind, mid] of [...this.sending]) {
      const section = sections.find((s) => s.mid === mid);
      if (!section || section.direction !== "recvonly") this.sending.delete(kind);
    }
  }

  refreshIncoming(pc, tracks) {
    const transceivers = pc
      .getTransceivers()
      .filter((t) => t.receiver?.track)
      .map((t) => ({ mid: t.mid, kind: t.receiver.track.kind, t }));
    const entries = incomingSources(tracks, transceivers);
    const byMid = new Map(transceivers.map((x) => [x.mid, x.t]));
    const keep = new Set(entries.map((e) => e.mid));
    for (const mid of [...this.streams.keys()]) if (!keep.has(mid)) this.streams.delete(mid);
    this.incoming = entries.map((e) => {
      const tr = byMid.get(e.mid);
      const track = tr.receiver.track;
      let stream = this.streams.get(e.mid);
      if (!stream || stream.getTracks()[0] !== track) {
        stream = new MediaStream([track]);
        this.streams.set(e.mid, stream);
      }
      return { ...e, track, stream, receiver: tr.receiver };
    });
    this.emit("tracks", this.incoming);
    this.emit("state", this);
  }

  // --- the room's session -------------------------------------------------------------------------

  onStatus(state) {
    if (state === "joined") {
      // A new connection is a new member on the server: the old peer died with the old socket.
      this.closePeer();
      this.mediaSent = false;
      if (this.wanted) this.sendMedia();
      if (this.recording && this.acknowledged.has(this.recording.rec)) {
        this.session.send({ t: "seen", rec: this.recording.rec });
      }
    } else {
      this.closePeer();
      this.mediaSent = false;
    }
    this.emit("state", this);
  }

  onError(err) {
    if (!MEDIA_ERRORS.has(err.code) && !(err.code === ErrorCode.FORBIDDEN && MEDIA_REFS.has(err.ref))) return;
    switch (err.code) {
      case ErrorCode.MEDIA_TIMEOUT:
        // The peer never connected: the server dropped it; ask for a new one.
        this.closePeer();
        if (this.wanted && this.session.joined) this.sendMedia();
        break;
      case ErrorCode.MEDIA_UNAVAILABLE:
        this.wanted = null;
        this.mediaSent = false;
        this.closePeer();
        this.emit("failed", { code: err.code, msg: err.msg });
        break;
      default:
        this.emit("failed", { code: err.code, msg: err.msg });
    }
    this.emit("state", this);
  }

  onRecording(msg) {
    this.recording = msg.on ? msg : null;
    this.emit("recording", msg);
  }

  /** The person has read the notice of recording `rec`: tell the server. */
  acknowledge(rec) {
    this.acknowledged.add(rec);
    if (this.recording?.rec === rec) this.session.send({ t: "seen", rec });
  }

  /** An advisor starts or stops recording the session. */
  record(on) {
    return this.session.send({ t: "record", on });
  }

  // --- for support staff and tests ---------------------------------------------------------------

  /** What each incoming source delivered: the receiver's inbound-rtp figures. */
  async inbound() {
    const out = [];
    for (const entry of this.incoming) {
      const row = { mid: entry.mid, src: entry.src, ent: entry.ent, kind: entry.kind };
      try {
        const report = await entry.receiver.getStats();
        for (const s of report.values()) {
          if (s.type !== "inbound-rtp") continue;
          Object.assign(row, {
            packetsReceived: s.packetsReceived ?? 0,
            packetsLost: s.packetsLost ?? 0,
            bytesReceived: s.bytesReceived ?? 0,
            totalSamplesReceived: s.totalSamplesReceived ?? 0,
            totalAudioEnergy: s.totalAudioEnergy ?? 0,
            audioLevel: s.audioLevel ?? 0,
            framesDecoded: s.framesDecoded ?? 0,
            framesReceived: s.framesReceived ?? 0,
            framesDropped: s.framesDropped ?? 0,
            frameWidth: s.frameWidth ?? 0,
          });
        }
      } catch {
        // The peer closed under us.
      }
      out.push(row);
    }
    return out;
  }

  /** What we send: kind -> packets sent so far. */
  async outbound() {
    const out = {};
    if (!this.pc) return out;
    const report = await this.pc.getStats();
    for (const s of report.values()) if (s.type === "outbound-rtp") out[s.kind] = (out[s.kind] ?? 0) + (s.packetsSent ?? 0);
    return out;
  }

  summary() {
    return {
      running: this.running,
      send: this.sendingKinds,
      muted: [...this.muted],
      connection: this.pc?.connectionState ?? "none",
      view: this.wanted?.view ?? null,
      q: this.wanted?.q ?? null,
      channel: this.channel?.readyState ?? "none",
      channelPoses: this.channelPoses,
      offers: this.offers,
      sending: Object.fromEntries(this.sending),
      incoming: this.incoming.map(({ mid, src, ent, kind }) => ({ mid, src, ent, kind })),
      recording: this.recording ? { rec: this.recording.rec, by: this.recording.by, days: this.recording.days } : null,
    };
  }
}
