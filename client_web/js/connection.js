// WebSocket sessions with the server: the room (`RoomSession`) and the advisor console
// (`ConsoleSession`). Both reconnect by themselves after a drop, with backoff, unless the
// close says it would not help (left, removed, token no good). The room session also keeps
// the replica (acknowledging every state frame it applies, as the Python client does), drops
// reliable messages it has already seen, resumes with `join.since`, and paces poses to the
// server's rate.

import { CloseCode, Direction, FINAL_CLOSES, PROTOCOL_VERSION, RELIABLE, SUBPROTOCOL, decode, encode } from "./codec.js";
import { Pacer } from "./pacing.js";
import { encodePoseFrame, packPose } from "./pose.js";
import { CLIENT_NAME } from "./protocol.js";
import { Replica } from "./replica.js";
import { Emitter } from "./emitter.js";

const BACKOFF_FIRST_MS = 400;
const BACKOFF_MAX_MS = 5000;
const PING_EVERY_MS = 5000;
/** Nothing heard for this long (pongs included) means the link is dead even if TCP says not. */
const SILENCE_LIMIT_MS = 15000;

/** One WebSocket at a time to `url`, reopened after drops. Subclasses speak the protocol. */
class Session extends Emitter {
  constructor(url, token) {
    super();
    this.url = url;
    // Where we were sent first (a load balancer, or any node): a node that moved us and then
    // went away must not be the only address we know.
    this.homeUrl = url;
    this.token = token;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timers = new Set();
    this.pingTimer = null;
    this.lastHeard = 0;
    this.pingSent = new Map();
    this.nonce = 0;
    this.rttMs = null;
    this.badFrames = 0;
    this.state = "connecting";
  }

  start() {
    this.open();
    return this;
  }

  open() {
    // Browsers cannot set headers on a WebSocket, so the token goes in the query (the server
    // never logs it; over TLS it is encrypted like a header).
    const sep = this.url.includes("?") ? "&" : "?";
    // A guest link's invitation goes along to whichever node hosts the room (ROOM_MOVED).
    const invite = this.invite
      ? `&invite=${encodeURIComponent(this.invite)}&guest=${this.guestId}&lang=${this.lang ?? "en"}`
      : "";
    const ws = new WebSocket(`${this.url}${sep}token=${encodeURIComponent(this.token)}${invite}`, SUBPROTOCOL);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.lastHeard = performance.now();
      this.startPings();
      this.opened();
    });
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = performance.now();
      let msg;
      try {
        msg = decode(event.data, Direction.SERVER);
      } catch (err) {
        // The server speaks the same catalogue; a frame we cannot read is a version mismatch
        // or a bug, worth a warning, never a crash.
        this.badFrames++;
        console.warn("unreadable frame from the server", err);
        return;
      }
      if (msg.t === "pong") this.ponged(msg.n);
      this.received(msg);
    });
    ws.addEventListener("close", (event) => {
      if (ws === this.ws) this.closed(event.code, event.reason);
    });
  }

  setState(state, detail = {}) {
    this.state = state;
    this.emit("status", { state, ...detail });
  }

  /** Send one message; false when there is no open socket (the caller keeps what it had). */
  send(msg) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(encode(msg));
    return true;
  }

  /** Send one frame already encoded (a binary pose frame); false as for send. */
  sendBytes(bytes) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(bytes);
    return true;
  }

  startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (performance.now() - this.lastHeard > SILENCE_LIMIT_MS) {
        this.drop(1006, "nothing heard from the server");
        return;
      }
      const n = (this.nonce = (this.nonce + 1) >>> 0);
      this.pingSent.set(n, performance.now());
      this.send({ t: "ping", n });
    }, PING_EVERY_MS);
  }

  ponged(n) {
    const sent = this.pingSent.get(n);
    if (sent !== undefined) this.rttMs = performance.now() - sent;
    this.pingSent.clear();
  }

  /** Drop the socket as a network failure would, and recover as from one. */
  drop(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    try {
      ws.close(4000, reason);
    } catch {
      // Already closing.
    }
    this.closed(code, reason);
  }

  /**
   * Support and test hook: cut the connection as the network would. With `hold`, stay away
   * until `resume()` (to see what a member misses in a gap come back with `join.since`).
   */
  cut({ hold = false } = {}) {
    this.drop(1006, "connection cut");
    if (hold) this.clearTimers();
  }

  resume() {
    if (this.ws || this.stopped) return;
    this.clearTimers();
    this.open();
  }

  clearTimers() {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  closed(code, reason) {
    this.ws = null;
    clearInterval(this.pingTimer);
    this.left();
    if (this.stopped || FINAL_CLOSES.has(code)) {
      this.setState("closed", { code, reason });
      return;
    }
    let delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    if (code === CloseCode.ROOM_MOVED) {
      // Another node hosts the room now; its URL is the reason. Go there at once (the attempt
      // count still grows, so a loop of moves slows down like any other failure).
      if (/^wss?:\/\//.test(reason ?? "")) this.url = reason;
      if (this.attempt === 0) delay = 0;
    } else {
      this.url = this.homeUrl;
    }
    this.attempt++;
    this.setState("reconnecting", { code, reason, inMs: Math.round(delay) });
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) this.open();
    }, delay);
    this.timers.add(timer);
  }

  /** Leave for good (closes with 1000; no reconnect). */
  stop(farewell = null) {
    this.stopped = true;
    this.clearTimers();
    if (farewell) this.send(farewell);
    this.ws?.close(1000, "bye");
  }

  // Hooks for subclasses.
  opened() {}
  received(_msg) {}
  left() {}
}

const GUEST_ID_KEY = "wealthroom.guest";

function guestId() {
  let id = sessionStorage.getItem(GUEST_ID_KEY);
  if (!id) {
    // getRandomValues, not randomUUID: the page may be served over plain HTTP on a LAN.
    id = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(GUEST_ID_KEY, id);
  }
  return id;
}

/**
 * A member's session in a room. Events: "status" {state: connecting|joined|reconnecting|
 * closed, code?}, "welcome", "state" {tick, frame} after each applied state frame,
 * "reliable" (each sequenced message once), "direct" (verified, holdings, ...), "error".
 */
export class RoomSession extends Session {
  constructor(url, token, { name, look, invite, lang } = {}) {
    super(url, token);
    this.name = name;
    this.look = look;
    this.invite = invite; // a guest link's invitation, used instead of a token
    this.lang = lang; // the guest's language, for their consent notice
    // The name this tab keeps for itself as a guest: back after a drop or a reload, it is the
    // same guest, not another use of the link.
    this.guestId = invite ? guestId() : null;
    this.replica = new Replica();
    this.welcome = null;
    this.joined = false;
    this.seen = new Set();
    this.lastSeq = null;
    this.duplicates = 0;
    // Poses: the latest offered, sent no faster than `poseHz` (a share of welcome.rate).
    this.maxPoseHz = 30;
    this.pendingPose = null;
    this.lastPoseAt = -Infinity;
    this.posePacer = new Pacer();
    this.pendingAck = null;
    this.ackTimer = null;
    this.sent = { pose: 0, ack: 0, dc: 0 };
    // Where poses go first when media is up: `{sendPose(packed, ack) -> bool}` (RoomMedia's
    // unordered data channel); the WebSocket when it says no.
    this.poseChannel = null;
  }

  get member() {
    return this.welcome?.member ?? null;
  }

  /** Poses a second we may send: the caller's wish, within half the server's message rate
   * (the other half is for acks, chat and pings). */
  get poseHz() {
    const rate = this.welcome?.rate ?? 30;
    return Math.max(1, Math.min(this.maxPoseHz, Math.floor(rate / 2)));
  }

  opened() {
    this.joined = false;
    this.welcome = null;
    // A new connection starts from a snapshot; the server may even have restarted its ticks.
    this.replica.reset();
    this.send({ t: "hello", v: PROTOCOL_VERSION, client: CLIENT_NAME });
  }

  received(msg) {
    switch (msg.t) {
      case "welcome":
        this.welcome = msg;
        this.emit("welcome", msg);
        this.send({ t: "join", name: this.name, since: this.lastSeq ?? undefined, look: this.look });
        return;
      case "snapshot":
      case "delta":
        if (this.replica.apply(msg)) {
          this.acknowledge(msg.tick);
          this.emit("state", { tick: msg.tick, frame: msg });
        }
        return;
      case "error":
        this.emit("error", msg);
        return;
      case "pong":
        return;
    }
    if (RELIABLE.has(msg.t)) {
      if (this.seen.has(msg.seq)) {
        this.duplicates++;
        return;
      }
      this.seen.add(msg.seq);
      if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
      this.emit("reliable", msg);
      if (msg.t === "joined" && msg.member === this.member && !this.joined) {
        this.joined = true;
        this.attempt = 0;
        this.setState("joined", { member: msg.member, role: this.welcome.role });
      }
      return;
    }
    this.emit("direct", msg);
  }

  left() {
    this.joined = false;
    clearTimeout(this.ackTimer);
    this.pendingAck = null;
    this.pendingPose = null;
  }

  acknowledge(tick) {
    // A member that is moving sends a pose every few ticks anyway: the ack rides along with
    // it (pose.ack), and goes alone only if no pose leaves soon.
    const posing = performance.now() - this.lastPoseAt < 2000 / this.poseHz;
    if (!posing) {
      if (this.send({ t: "ack", tick })) this.sent.ack++;
      return;
    }
    this.pendingAck = tick;
    if (this.ackTimer === null) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = null;
        if (this.pendingAck !== null && this.send({ t: "ack", tick: this.pendingAck })) this.sent.ack++;
        this.pendingAck = null;
      }, 1000 / this.poseHz);
    }
  }

  /** Offer the latest pose ({p, q, hm?, lh?, rh?}); it leaves at the next allowed moment. */
  offerPose(pose) {
    this.pendingPose = pose;
    this.flushPose();
  }

  flushPose(now = performance.now()) {
    if (!this.pendingPose || !this.joined) return;
    if (!this.posePacer.ready(now, this.poseHz)) return;
    // Sent as a binary pose frame: quantised here as the server would, so that it only checks
    // integers (SPEC.md, "Binary pose"); the ack rides along. On the data channel a lost or
    // late pose costs nothing (the next one replaces it) and never waits behind chat.
    const packed = packPose(this.pendingPose);
    const onChannel = this.poseChannel?.sendPose(packed, this.pendingAck) ?? false;
    if (onChannel || this.sendBytes(encodePoseFrame(packed, { ack: this.pendingAck }))) {
      this.sent.pose++;
      if (onChannel) this.sent.dc++;
      this.posePacer.spend();
      this.lastPoseAt = now;
      this.pendingPose = null;
      this.pendingAck = null;
      clearTimeout(this.ackTimer);
      this.ackTimer = null;
    }
  }

  leave() {
    this.stop({ t: "leave" });
  }
}

/** The advisor console at /console. Events: "status", "console", "pages", "accepted", "error". */
export class ConsoleSession extends Session {
  constructor(url, token) {
    super(url, token);
    this.presence = null; // what the advisor chose, restored after a reconnect
  }

  opened() {
    this.send({ t: "hello", v: PROTOCOL_VERSION, client: CLIENT_NAME });
    if (this.presence) this.send({ t: "presence", state: this.presence });
    this.attempt = 0;
    this.setState("joined");
  }

  received(msg) {
    if (msg.t === "pong") return;
    this.emit(msg.t, msg);
  }

  setPresence(state) {
    this.presence = state;
    return this.send({ t: "presence", state });
  }

  accept(page) {
    return this.send({ t: "accept", page });
  }

  /** Pass on a page offered to this advisor first (their booking's): everyone sees it. */
  decline(page) {
    return this.send({ t: "decline", page });
  }

  /** Publish a free appointment slot; times are Unix ms (UTC). */
  offer(start, end) {
    return this.send({ t: "offer", start, end });
  }

  /** Withdraw a slot, with any booking in it. */
  cancelSlot(slot) {
    return this.send({ t: "cancel", slot });
  }

  /** Move a slot (and its booking) to a new start, its length kept. */
  moveSlot(slot, start) {
    return this.send({ t: "move", slot, start });
  }
}

/**
 * A customer's appointments at /book, with a booking link's token or their room token.
 * Events: "status", "slots", "appointment", "error".
 */
export class BookingSession extends Session {
  opened() {
    this.send({ t: "hello", v: PROTOCOL_VERSION, client: CLIENT_NAME });
    this.attempt = 0;
    this.setState("joined");
  }

  received(msg) {
    if (msg.t === "pong") return;
    this.emit(msg.t, msg);
  }

  book(slot) {
    return this.send({ t: "book", slot });
  }

  cancel(slot) {
    return this.send({ t: "cancel", slot });
  }

  move(slot, to) {
    return this.send({ t: "move", slot, to });
  }
}
