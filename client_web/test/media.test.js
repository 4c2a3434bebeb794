// The pure half of media.js: what a source names, which m-line carries what, where our
// microphone and camera go on an offer (and that a renegotiation does not add them twice),
// the ICE messages, and how the microphone and camera buttons look.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { encode } from "../js/codec.js";
import { decodePoseFrame, packPose } from "../js/pose.js";
import {
  MAX_CANDIDATES,
  allowedSend,
  deviceButton,
  fingerprint,
  iceMessage,
  iceServersOf,
  incomingSources,
  mediaSections,
  muteMessage,
  parseSource,
  planSending,
} from "../js/media.js";

/** An offer as the server makes it: our microphone and camera first, then its sources. */
function offer(lines) {
  const head = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=group:BUNDLE " + lines.map((l) => l.mid).join(" "), "a=fingerprint:sha-256 AB:CD"];
  const body = lines.flatMap((l) => [
    `m=${l.kind} 9 UDP/TLS/RTP/SAVPF ${l.kind === "audio" ? 111 : 96}`,
    "c=IN IP4 0.0.0.0",
    `a=mid:${l.mid}`,
    `a=${l.dir}`,
  ]);
  return [...head, ...body, ""].join("\r\n");
}

describe("ice servers", () => {
  test("STUN has no login; TURN keeps its time-limited one", () => {
    const msg = {
      t: "ice_servers",
      servers: [
        { urls: ["stun:turn.bank.example:3478"] },
        { urls: ["turn:turn.bank.example:3478?transport=udp"], username: "1795433600:c-1", credential: "pw=" },
      ],
      until: 1795433600000,
    };
    assert.deepEqual(iceServersOf(msg), [
      { urls: ["stun:turn.bank.example:3478"] },
      { urls: ["turn:turn.bank.example:3478?transport=udp"], username: "1795433600:c-1", credential: "pw=" },
    ]);
  });
});

describe("sources", () => {
  test("a member's microphone and camera, an expert's voice and picture, the thin view", () => {
    assert.deepEqual(parseSource("m12.a"), { owner: "member", id: 12, kind: "audio" });
    assert.deepEqual(parseSource("m12.v"), { owner: "member", id: 12, kind: "video" });
    assert.deepEqual(parseSource("e7.a"), { owner: "expert", id: 7, kind: "audio" });
    assert.deepEqual(parseSource("e7.v"), { owner: "expert", id: 7, kind: "video" });
    assert.deepEqual(parseSource("view"), { owner: "view", id: null, kind: "video" });
  });

  test("anything else is not a source", () => {
    for (const src of ["", "m.a", "x1.a", "m1.x", "m1", "e1.av", "m-1.a", undefined]) assert.equal(parseSource(src), null, String(src));
  });
});

describe("roles", () => {
  test("each role sends what the permission table lets it", () => {
    assert.deepEqual(allowedSend("customer", ["video", "audio"]), ["audio", "video"]);
    assert.deepEqual(allowedSend("advisor", ["audio", "video"]), ["audio", "video"]);
    assert.deepEqual(allowedSend("guest", ["audio", "video"]), ["audio"]);
    assert.deepEqual(allowedSend("observer", ["audio", "video"]), []);
    assert.deepEqual(allowedSend(null, ["audio"]), []);
    assert.deepEqual(allowedSend("customer", ["audio", "audio"]), ["audio"]);
  });
});

describe("offers", () => {
  const sdp = offer([
    { kind: "audio", mid: "0", dir: "recvonly" },
    { kind: "video", mid: "1", dir: "recvonly" },
    { kind: "audio", mid: "2", dir: "sendonly" },
    { kind: "video", mid: "3", dir: "sendonly" },
    { kind: "audio", mid: "4", dir: "sendonly" },
    { kind: "audio", mid: "5", dir: "inactive" },
  ]);
  const tracks = [
    { mid: "2", src: "m3.a", ent: 9 },
    { mid: "3", src: "m3.v", ent: 9 },
    { mid: "4", src: "e14.a", ent: 14 },
  ];

  test("m-lines are read in order with their mid and direction", () => {
    const sections = mediaSections(sdp);
    assert.equal(sections.length, 6);
    assert.deepEqual(sections[0], { index: 0, kind: "audio", mid: "0", direction: "recvonly" });
    assert.deepEqual(sections[3], { index: 3, kind: "video", mid: "3", direction: "sendonly" });
    assert.equal(sections[5].direction, "inactive");
    assert.equal(fingerprint(sdp), "sha-256 AB:CD");
  });

  test("incoming m-lines map to the offer's sources by mid", () => {
    const transceivers = ["0", "1", "2", "3", "4", "5"].map((mid, i) => ({ mid, kind: ["audio", "video", "audio", "video", "audio", "audio"][i] }));
    const incoming = incomingSources(tracks, transceivers);
    assert.deepEqual(
      incoming.map((e) => [e.mid, e.src, e.ent, e.kind, e.owner, e.id]),
      [
        ["2", "m3.a", 9, "audio", "member", 3],
        ["3", "m3.v", 9, "video", "member", 3],
        ["4", "e14.a", 14, "audio", "expert", 14],
      ],
    );
  });

  test("a source whose kind does not match its m-line, or without a mid, is left out", () => {
    const incoming = incomingSources(
      [
        { mid: "2", src: "m3.v" },
        { mid: "7", src: "view" },
      ],
      [
        { mid: "2", kind: "audio" },
        { mid: null, kind: "video" },
      ],
    );
    assert.deepEqual(incoming, []);
    const thin = incomingSources([{ mid: "1", src: "view" }], [{ mid: "1", kind: "video" }]);
    assert.deepEqual(thin, [{ mid: "1", src: "view", ent: null, kind: "video", owner: "view", id: null }]);
  });

  test("the microphone and camera go on the m-lines the server opened for receiving", () => {
    const plan = planSending(mediaSections(sdp), tracks, ["audio", "video"], new Map());
    assert.deepEqual(plan, [
      { kind: "audio", mid: "0" },
      { kind: "video", mid: "1" },
    ]);
  });

  test("never on one of the server's own m-lines, even when it comes first", () => {
    const first = offer([
      { kind: "audio", mid: "0", dir: "sendonly" },
      { kind: "audio", mid: "1", dir: "recvonly" },
    ]);
    assert.deepEqual(planSending(mediaSections(first), [{ mid: "0", src: "e2.a", ent: 2 }], ["audio"], new Map()), [{ kind: "audio", mid: "1" }]);
  });

  test("a renegotiation adds only what is not sending yet", () => {
    // The microphone went out on mid 0; now the camera is added (mid 1 opened for it).
    const sending = new Map([["audio", "0"]]);
    assert.deepEqual(planSending(mediaSections(sdp), tracks, ["audio", "video"], sending), [{ kind: "video", mid: "1" }]);
    // Nothing new: nothing to add.
    const both = new Map([
      ["audio", "0"],
      ["video", "1"],
    ]);
    assert.deepEqual(planSending(mediaSections(sdp), tracks, ["audio", "video"], both), []);
  });

  test("a kind the server did not open for us is not sent", () => {
    const audioOnly = offer([
      { kind: "audio", mid: "0", dir: "recvonly" },
      { kind: "video", mid: "1", dir: "sendonly" },
    ]);
    assert.deepEqual(planSending(mediaSections(audioOnly), [{ mid: "1", src: "m2.v" }], ["audio", "video"], new Map()), [{ kind: "audio", mid: "0" }]);
  });
});

describe("ice", () => {
  test("a candidate quotes the offer and its mid", () => {
    const msg = iceMessage(3, { candidate: "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host", sdpMid: "0", sdpMLineIndex: 0 });
    assert.deepEqual(msg, { t: "ice", n: 3, cand: "candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host", mid: "0" });
    assert.ok(encode(msg).length > 0);
  });

  test("the m-line index when there is no mid", () => {
    assert.deepEqual(iceMessage(1, { candidate: "candidate:x", sdpMid: null, sdpMLineIndex: 2 }), { t: "ice", n: 1, cand: "candidate:x", idx: 2 });
  });

  test("the end of candidates is an empty one", () => {
    assert.deepEqual(iceMessage(4, null), { t: "ice", n: 4, cand: "" });
    assert.deepEqual(iceMessage(4, { candidate: "", sdpMid: "0" }), { t: "ice", n: 4, cand: "" });
    assert.ok(encode(iceMessage(4, null)).length > 0);
  });

  test("the server's limit is known", () => {
    assert.equal(MAX_CANDIDATES, 32);
  });
});

describe("buttons", () => {
  test("before media: join with the microphone or the camera", () => {
    assert.deepEqual(deviceButton("audio", { role: "customer" }), { hidden: false, action: "join", on: false, label: "media.mic-join" });
    assert.deepEqual(deviceButton("video", { role: "customer" }), { hidden: false, action: "join", on: false, label: "media.cam-join" });
  });

  test("a guest has no camera button, an observer neither", () => {
    assert.equal(deviceButton("video", { role: "guest" }).hidden, true);
    assert.equal(deviceButton("audio", { role: "guest" }).hidden, false);
    assert.equal(deviceButton("audio", { role: "observer" }).hidden, true);
  });

  test("running: mute and unmute; a camera not started yet is added", () => {
    const running = { role: "customer", running: true, sending: ["audio"], muted: [] };
    assert.deepEqual(deviceButton("audio", running), { hidden: false, action: "mute", on: true, label: "media.mic-on" });
    assert.deepEqual(deviceButton("video", running), { hidden: false, action: "add", on: false, label: "media.cam-join" });
    const muted = { ...running, muted: ["audio"] };
    assert.deepEqual(deviceButton("audio", muted), { hidden: false, action: "unmute", on: false, label: "media.mic-off" });
  });

  test("while the devices open, the buttons wait", () => {
    assert.equal(deviceButton("audio", { role: "advisor", busy: true }).action, "wait");
  });

  test("mute messages encode", () => {
    assert.deepEqual(muteMessage("audio", true), { t: "mute", mic: "off" });
    assert.deepEqual(muteMessage("video", false), { t: "mute", cam: "on" });
    assert.ok(encode(muteMessage("video", false)).length > 0);
  });
});

// --- RoomMedia over a stand-in session and peer ---------------------------------------------------

class FakeTrack {
  constructor(kind) {
    this.kind = kind;
    this.enabled = true;
    this.readyState = "live";
  }
  stop() {
    this.readyState = "ended";
  }
}

class FakeStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return this.tracks;
  }
  addTrack(track) {
    this.tracks.push(track);
  }
}

class FakeTransceiver {
  constructor(mid, kind) {
    this.mid = mid;
    this.direction = "recvonly";
    this.receiver = { track: new FakeTrack(kind), getStats: async () => new Map() };
    this.sender = {
      track: null,
      replaceTrack: async (track) => {
        this.sender.track = track;
      },
    };
  }
}

class FakePeer {
  static made = [];
  constructor() {
    this.transceivers = [];
    this.listeners = new Map();
    this.closed = false;
    this.connectionState = "new";
    FakePeer.made.push(this);
  }
  addEventListener(type, fn) {
    this.listeners.set(type, fn);
  }
  async setRemoteDescription({ sdp }) {
    for (const s of mediaSections(sdp)) {
      if (!this.transceivers.some((t) => t.mid === s.mid)) this.transceivers.push(new FakeTransceiver(s.mid, s.kind));
    }
  }
  getTransceivers() {
    return this.transceivers;
  }
  async createAnswer() {
    return { type: "answer", sdp: "v=0 answer" };
  }
  async setLocalDescription(d) {
    this.localDescription = d;
  }
  candidate(c) {
    this.listeners.get("icecandidate")({ candidate: c });
  }
  close() {
    this.closed = true;
  }
}

class FakeSession {
  constructor(role = "customer") {
    this.handlers = new Map();
    this.sent = [];
    this.joined = true;
    this.welcome = { role };
  }
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(fn);
  }
  emit(type, detail) {
    for (const fn of this.handlers.get(type) ?? []) fn(detail);
  }
  send(msg) {
    this.sent.push(msg);
    return true;
  }
  take(t) {
    const out = this.sent.filter((m) => m.t === t);
    this.sent = this.sent.filter((m) => m.t !== t);
    return out;
  }
}

describe("RoomMedia", async () => {
  const { RoomMedia } = await import("../js/media.js");
  globalThis.MediaStream ??= FakeStream;
  const devices = {
    asked: [],
    async getUserMedia(c) {
      this.asked.push(c);
      return new FakeStream([c.audio && new FakeTrack("audio"), c.video && new FakeTrack("video")].filter(Boolean));
    },
  };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const first = offer([
    { kind: "audio", mid: "0", dir: "recvonly" },
    { kind: "audio", mid: "1", dir: "sendonly" },
    { kind: "video", mid: "2", dir: "sendonly" },
  ]);
  const tracks = [
    { mid: "1", src: "m3.a", ent: 9 },
    { mid: "2", src: "m3.v", ent: 9 },
  ];

  test("start, answer, trickle, mute, reconnect, recording", async () => {
    const session = new FakeSession("guest");
    const media = new RoomMedia(session, { devices, Peer: FakePeer });
    const seenTracks = [];
    media.on("tracks", (list) => seenTracks.push(list.map((e) => e.src)));

    // A guest asking for both gets the microphone only.
    await media.start({ send: ["audio", "video"] });
    assert.deepEqual(session.take("media"), [{ t: "media", send: ["audio"], view: "3d", dc: true }]);
    assert.equal(devices.asked.at(-1).video, false);

    session.emit("direct", { t: "rtc_offer", n: 1, sdp: first, tracks });
    await settle();
    const [answer] = session.take("rtc_answer");
    assert.deepEqual(answer, { t: "rtc_answer", n: 1, sdp: "v=0 answer" });
    const pc = FakePeer.made.at(-1);
    assert.equal(pc.transceivers[0].sender.track.kind, "audio");
    assert.equal(pc.transceivers[0].direction, "sendonly");
    assert.equal(pc.transceivers[1].sender.track, null, "never on the server's own m-line");
    assert.deepEqual(seenTracks.at(-1), ["m3.a", "m3.v"]);

    pc.candidate({ candidate: "candidate:1 1 udp 1 192.0.2.1 5000 typ host", sdpMid: "0", sdpMLineIndex: 0 });
    pc.candidate(null);
    assert.deepEqual(
      session.take("ice").map((m) => [m.n, m.cand.slice(0, 11)]),
      [
        [1, "candidate:1"],
        [1, ""],
      ],
    );

    // A renegotiation (an expert arrived) keeps the microphone where it is.
    const second = offer([
      { kind: "audio", mid: "0", dir: "recvonly" },
      { kind: "audio", mid: "1", dir: "sendonly" },
      { kind: "video", mid: "2", dir: "sendonly" },
      { kind: "audio", mid: "3", dir: "sendonly" },
    ]);
    session.emit("direct", { t: "rtc_offer", n: 2, sdp: second, tracks: [...tracks, { mid: "3", src: "e14.a", ent: 14 }] });
    await settle();
    assert.equal(session.take("rtc_answer")[0].n, 2);
    assert.equal(FakePeer.made.at(-1), pc, "same peer");
    assert.equal(pc.transceivers.filter((t) => t.sender.track).length, 1);
    assert.deepEqual(seenTracks.at(-1), ["m3.a", "m3.v", "e14.a"]);

    // Muting switches the track off and tells everyone.
    assert.ok(media.setMuted("audio", true));
    assert.equal(media.localTrack("audio").enabled, false);
    assert.deepEqual(session.take("mute"), [{ t: "mute", mic: "off" }]);
    assert.equal(media.setMuted("video", true), false, "no camera to mute");
    assert.deepEqual(media.buttonState("audio").action, "unmute");

    // The recording notice, acknowledged.
    const rec = { t: "recording", seq: 9, on: true, rec: "rec-1", by: 2, notice: "recorded", days: 30, at: 0 };
    session.emit("reliable", rec);
    media.acknowledge("rec-1");
    assert.deepEqual(session.take("seen"), [{ t: "seen", rec: "rec-1" }]);

    // The socket drops: the peer is dead. Back in: media again, still muted, notice seen.
    session.joined = false;
    session.emit("status", { state: "reconnecting" });
    assert.ok(pc.closed);
    assert.deepEqual(seenTracks.at(-1), []);
    session.joined = true;
    session.emit("status", { state: "joined" });
    assert.deepEqual(session.take("media"), [{ t: "media", send: ["audio"], view: "3d", dc: true }]);
    assert.deepEqual(session.take("mute"), [{ t: "mute", mic: "off" }]);
    assert.deepEqual(session.take("seen"), [{ t: "seen", rec: "rec-1" }]);
    session.emit("direct", { t: "rtc_offer", n: 1, sdp: first, tracks });
    await settle();
    assert.notEqual(FakePeer.made.at(-1), pc, "a new peer");
    assert.equal(session.take("rtc_answer")[0].n, 1);

    // The server gave up on a peer that never connected: ask again.
    session.emit("error", { t: "error", code: 212, msg: "media did not connect", ref: "media" });
    assert.deepEqual(session.take("media"), [{ t: "media", send: ["audio"], view: "3d", dc: true }]);

    media.stop();
    assert.deepEqual(session.take("media"), [{ t: "media", send: [], view: "none" }]);
    assert.equal(media.running, false);
  });

  test("poses go on the peer's data channel while it is open, numbered, with the ack", async () => {
    const session = new FakeSession("customer");
    const media = new RoomMedia(session, { devices, Peer: FakePeer });
    await media.start({ send: [], view: "thin" });
    assert.deepEqual(session.take("media"), [{ t: "media", send: [], view: "thin", dc: true }]);
    const packed = packPose({ p: [0, 1.2, 1.1], q: [0, 0, 0, 1] });
    assert.equal(media.sendPose(packed, 7), false, "no peer yet: the WebSocket takes it");
    session.emit("direct", { t: "rtc_offer", n: 0, sdp: first, tracks });
    await settle();
    const sent = [];
    const listeners = new Map();
    const channel = {
      label: "poses",
      readyState: "connecting",
      send: (bytes) => sent.push(bytes),
      addEventListener: (type, fn) => listeners.set(type, fn),
    };
    FakePeer.made.at(-1).listeners.get("datachannel")({ channel });
    assert.equal(media.sendPose(packed, 7), false, "not open yet");
    channel.readyState = "open";
    assert.equal(media.sendPose(packed, 7), true);
    assert.equal(media.sendPose(packed, null), true);
    const frames = sent.map((b) => decodePoseFrame(b));
    assert.deepEqual(frames.map((f) => [f.n, f.ack]), [[1, 7], [2, null]]);
    assert.deepEqual([...frames[0].packed], [...packed]);
    assert.equal(media.summary().channelPoses, 2);
    // Closed: back to the WebSocket.
    channel.readyState = "closed";
    listeners.get("close")();
    assert.equal(media.sendPose(packed, 7), false);
    // The quality moves on the same session: one `media` with `q`.
    assert.equal(media.setQuality("low"), true);
    assert.deepEqual(session.take("media"), [{ t: "media", send: [], view: "thin", dc: true, q: "low" }]);
    assert.equal(media.setQuality("low"), false, "already there");
  });

  test("an observer, who has no avatar, never asks for the pose channel", async () => {
    const session = new FakeSession("observer");
    const media = new RoomMedia(session, { devices, Peer: FakePeer });
    await media.start({ send: [], dc: true });
    assert.deepEqual(session.take("media"), [{ t: "media", send: [], view: "3d" }]);
  });
});
