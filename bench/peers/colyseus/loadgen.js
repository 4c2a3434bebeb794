// Load clients for the Colyseus peer: raw WebSockets speaking Colyseus 0.16's protocol, many to
// one process, each sending head and both hands (21 numbers) at a fixed rate in rooms of N.
//
//   node loadgen.js --port P --clients 100 [--room-size 10] [--hz 30] [--warmup 2]
//                   [--seconds 12] [--drain 1] [--batch 50]
//
// Joining is what colyseus.js does: POST /matchmake/create/pose for a room's first client,
// /matchmake/joinById/<roomId> for the rest, then a WebSocket to /<processId>/<roomId>?sessionId=,
// answering the server's JOIN_ROOM with JOIN_ROOM before it sends the full state.
//
// Every pose moves all 21 numbers, as a tracked headset and two controllers do. Pose identity
// (as in simulator/load_bot.py): client i's k-th pose carries k in its left hand's position
// relative to where its hand rests, in millimetres. Two clients per room (the observers) decode
// every state patch with @colyseus/schema and read their peers' k, which gives pose-to-peer
// latency (one process, one clock); the others only count bytes, so that one core carries
// enough clients to load the server's.
//
// Stdout is JSON lines: {"event":"joined",...}, {"event":"window_start"}, {"event":"window_end"}
// (the caller reads the server's CPU time on those two) and {"event":"result",...}.
"use strict";
const { parseArgs } = require("node:util");
const { performance } = require("node:perf_hooks");
const WebSocket = require("ws");
const { Packr } = require("@colyseus/msgpackr");
const { Decoder } = require("@colyseus/schema");
const { State } = require("./state");

const { values: raw } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    clients: { type: "string", default: "10" },
    "room-size": { type: "string", default: "10" },
    hz: { type: "string", default: "30" },
    warmup: { type: "string", default: "2" },
    seconds: { type: "string", default: "12" },
    drain: { type: "string", default: "1" },
    batch: { type: "string", default: "50" },
    observers: { type: "string", default: "2" },
    "setup-budget": { type: "string", default: "60" },
  },
});
const opt = Object.fromEntries(
  Object.entries(raw).map(([k, v]) => [k, k === "host" ? v : Number(v)]),
);
if (!opt.port) throw new Error("--port is required");

const PROTO = { JOIN_ROOM: 10, ERROR: 11, ROOM_DATA: 13, ROOM_STATE: 14, ROOM_STATE_PATCH: 15 };
const SLOTS = 8; // poses spread over 8 slots per pose period instead of one burst
const BACKPRESSURE_BYTES = 64 * 1024;
const KSPAN = 1000;
const base = `http://${opt.host}:${opt.port}`;
const packr = new Packr({ useRecords: false }); // what colyseus.js sends with
// ROOM_DATA, then the message type "pose" as schema encodes a short string (msgpack fixstr).
const POSE_HEADER = Buffer.from([PROTO.ROOM_DATA, 0xa4, ...Buffer.from("pose")]);

const run = {
  measuring: false,
  recording: true,
  windowStart: Infinity,
  windowEnd: Infinity,
  framesState: 0,
  framesOther: 0,
  payloadBytes: 0,
  latencies: [],
  driverLate: [],
  skipped: 0,
  undecodable: 0,
  disconnects: {},
  errors: {},
  examples: [],
  shuttingDown: false,
  driving: false,
};
const sessions = new Map(); // sessionId -> client

function note(text) {
  if (run.examples.length < 10) run.examples.push(text);
}

class Client {
  constructor(idx, room, seat) {
    this.idx = idx;
    this.room = room;
    this.seat = seat;
    this.observer = seat < opt.observers;
    this.bx = seat * 0.8; // where the head rests, metres
    this.bz = room * 0.1;
    this.ws = null;
    this.joined = false;
    this.closed = false;
    this.failure = null;
    this.sentAt = []; // k -> performance.now() at send
    this.seen = []; // k -> 1 once a peer decoded it
    this.lastK = new Map(); // sender idx -> newest k seen
    this.kStart = 0;
    this.kEnd = 0;
    this.decoder = this.observer ? new Decoder(new State()) : null;
  }

  connect(reservation) {
    const { room, sessionId } = reservation;
    this.sessionId = sessionId;
    sessions.set(sessionId, this);
    const url = `ws://${opt.host}:${opt.port}/${room.processId}/${room.roomId}?sessionId=${sessionId}`;
    return new Promise((resolve) => {
      const ws = (this.ws = new WebSocket(url, { perMessageDeflate: false }));
      ws.binaryType = "nodebuffer";
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      this.settle = settle;
      ws.on("message", (data) => this.onMessage(data));
      ws.on("error", (err) => {
        this.failure = this.failure || `ws: ${err.message}`;
        settle();
      });
      ws.on("close", (code) => {
        this.closed = true;
        if (!run.shuttingDown && this.joined) {
          run.disconnects[code] = (run.disconnects[code] || 0) + 1;
          note(`client ${this.idx}: closed ${code}`);
        }
        this.failure = this.failure || `closed ${code}`;
        settle();
      });
    });
  }

  onMessage(data) {
    const code = data[0];
    if (code === PROTO.ROOM_STATE_PATCH || code === PROTO.ROOM_STATE) {
      if (run.measuring) {
        run.framesState++;
        run.payloadBytes += data.length;
      }
      if (code === PROTO.ROOM_STATE && !this.joined) {
        this.joined = true;
        this.settle();
      }
      if (this.decoder !== null) this.onState(data, performance.now());
      return;
    }
    if (run.measuring) {
      run.framesOther++;
      run.payloadBytes += data.length;
    }
    if (code === PROTO.JOIN_ROOM) {
      this.ws.send(Buffer.from([PROTO.JOIN_ROOM])); // confirms: the server sends the full state
    } else if (code === PROTO.ERROR) {
      run.errors[code] = (run.errors[code] || 0) + 1;
      note(`client ${this.idx}: error frame`);
    }
  }

  onState(data, now) {
    this.decoder.decode(data, { offset: 1 });
    for (const [sid, player] of this.decoder.state.players) {
      const owner = sessions.get(sid);
      if (owner === undefined || owner === this) continue;
      const lh = player.lh;
      if (lh === undefined || lh.px === undefined) continue;
      const k =
        Math.round((lh.px - (owner.bx - 0.25)) * 1000) +
        KSPAN / 2 +
        KSPAN * Math.round((1.2 - lh.py) * 1000);
      const last = this.lastK.get(owner.idx);
      if (last !== undefined && k <= last) continue;
      this.lastK.set(owner.idx, k);
      if (!(k >= 0 && k < owner.sentAt.length)) {
        run.undecodable++;
        continue;
      }
      owner.seen[k] = 1;
      const sent = owner.sentAt[k];
      if (run.recording && run.windowStart <= sent && sent < run.windowEnd) {
        run.latencies.push(now - sent);
      }
    }
  }

  sendPose() {
    const ws = this.ws;
    if (!this.joined || this.closed || ws === null) return;
    if (ws.bufferedAmount > BACKPRESSURE_BYTES) {
      if (run.measuring) run.skipped++;
      return;
    }
    const k = this.sentAt.length;
    const { bx, bz } = this;
    const yaw = (2 * Math.PI * k) / 72;
    const pose = [
      // head: a little sway, turning
      bx + 0.002 * Math.sin(k * 0.31),
      1.6 + 0.002 * Math.sin(k * 0.17),
      bz + 0.002 * Math.cos(k * 0.23),
      ...quat(0.02 * Math.sin(k * 0.5), yaw, 0.02 * Math.cos(k * 0.7)),
      // left hand: k in its x (mm, +-0.5 m) and y (1 mm per thousand poses)
      bx - 0.25 + ((k % KSPAN) - KSPAN / 2) / 1000,
      1.2 - Math.floor(k / KSPAN) / 1000,
      bz + 0.3 + 0.002 * Math.sin(k * 0.41),
      ...quat(0.3 * Math.sin(k * 0.05), 0.2 * Math.cos(k * 0.07), 0.1),
      // right hand: moving about where it rests
      bx + 0.25 + 0.01 * Math.sin(k * 0.13),
      1.2 + 0.01 * Math.cos(k * 0.11),
      bz + 0.3 + 0.01 * Math.sin(k * 0.19),
      ...quat(0.3 * Math.cos(k * 0.05), -0.2 * Math.sin(k * 0.07), -0.1),
    ];
    this.sentAt.push(performance.now());
    this.seen.push(0);
    ws.send(Buffer.concat([POSE_HEADER, packr.pack(pose)]), { binary: true });
  }
}

// Unit quaternion (x, y, z, w) from pitch, yaw, roll (radians).
function quat(pitch, yaw, roll) {
  const [cp, sp] = [Math.cos(pitch / 2), Math.sin(pitch / 2)];
  const [cy, sy] = [Math.cos(yaw / 2), Math.sin(yaw / 2)];
  const [cr, sr] = [Math.cos(roll / 2), Math.sin(roll / 2)];
  return [
    sp * cy * cr - cp * sy * sr,
    cp * sy * cr + sp * cy * sr,
    cp * cy * sr - sp * sy * cr,
    cp * cy * cr + sp * sy * sr,
  ];
}

async function reserve(path) {
  const res = await fetch(`${base}/matchmake/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: "{}",
  });
  const body = await res.json();
  if (body.error) throw new Error(`matchmake ${path}: ${body.code} ${body.error}`);
  return body;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timeout`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function joinRoom(members) {
  const [first, ...rest] = members;
  const created = await reserve("create/pose");
  await withTimeout(first.connect(created), 15000, "join");
  const roomId = created.room.roomId;
  await Promise.all(
    rest.map(async (c) => {
      try {
        const seat = await reserve(`joinById/${roomId}`);
        await withTimeout(c.connect(seat), 15000, "join");
      } catch (err) {
        c.failure = c.failure || err.message;
      }
    }),
  );
}

async function connectAll(rooms) {
  const deadline = performance.now() + opt["setup-budget"] * 1000;
  const perBatch = Math.max(1, Math.floor(opt.batch / opt["room-size"]));
  for (let start = 0; start < rooms.length; start += perBatch) {
    const chunk = rooms.slice(start, start + perBatch);
    if (performance.now() > deadline) {
      for (const members of chunk) for (const c of members) c.failure = "not attempted";
      continue;
    }
    await Promise.all(
      chunk.map((members) =>
        joinRoom(members).catch((err) => {
          for (const c of members) c.failure = c.failure || err.message;
        }),
      ),
    );
  }
}

function drive(clients, hardStop) {
  const interval = 1000 / (opt.hz * SLOTS);
  const groups = Array.from({ length: SLOTS }, (_, s) => clients.filter((_, i) => i % SLOTS === s));
  let nextAt = performance.now();
  let step = 0;
  let timer = null;
  const tick = () => {
    let now = performance.now();
    if (!run.driving || now >= hardStop) return;
    if (run.measuring) run.driverLate.push(now - nextAt);
    for (const c of groups[step % SLOTS]) c.sendPose();
    step++;
    nextAt += interval;
    now = performance.now();
    if (now - nextAt > 1000 / opt.hz) nextAt = now; // a whole period behind: stop catching up
    timer = setTimeout(tick, Math.max(0, nextAt - now));
  };
  run.driving = true;
  tick();
  return () => {
    run.driving = false;
    clearTimeout(timer);
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round = (x, digits = 2) => (x === null ? null : Number(x.toFixed(digits)));

async function main() {
  const rooms = [];
  const clients = [];
  for (let i = 0; i < opt.clients; i++) {
    const r = Math.floor(i / opt["room-size"]);
    if (rooms.length <= r) rooms.push([]);
    const c = new Client(i, r, i % opt["room-size"]);
    rooms[r].push(c);
    clients.push(c);
  }
  const t0 = performance.now();
  await connectAll(rooms);
  const joined = clients.filter((c) => c.joined && !c.closed);
  const failures = {};
  for (const c of clients) {
    if (c.joined || !c.failure) continue;
    const key = c.failure.slice(0, 80);
    failures[key] = (failures[key] || 0) + 1;
  }
  emit({ event: "joined", connected: joined.length, failures, setup_s: (performance.now() - t0) / 1000 });
  if (joined.length === 0) process.exit(2);

  const stop = drive(joined, performance.now() + (opt.warmup + opt.seconds + 30) * 1000);
  await sleep(opt.warmup * 1000);
  for (const c of joined) c.kStart = c.sentAt.length;
  const aliveAtStart = joined.filter((c) => !c.closed).length;
  const cpu0 = process.cpuUsage();
  emit({ event: "window_start" });
  run.windowStart = performance.now();
  run.measuring = true;
  await sleep(opt.seconds * 1000);
  run.measuring = false;
  run.windowEnd = performance.now();
  emit({ event: "window_end" });
  const cpu = process.cpuUsage(cpu0);
  stop();
  for (const c of joined) c.kEnd = c.sentAt.length;
  await sleep(opt.drain * 1000); // let in-window poses reach peers
  run.recording = false;

  const windowS = (run.windowEnd - run.windowStart) / 1000;
  const alive = Math.max(1, aliveAtStart);
  let sent = 0;
  let seen = 0;
  for (const c of joined) {
    sent += c.kEnd - c.kStart;
    for (let k = c.kStart; k < c.kEnd; k++) seen += c.seen[k] === 1 ? 1 : 0;
  }
  const lat = Float64Array.from(run.latencies).sort();
  const late = Float64Array.from(run.driverLate).sort();
  emit({
    event: "result",
    clients: opt.clients,
    rooms: rooms.length,
    connected: joined.length,
    window_s: round(windowS, 3),
    alive_at_start: aliveAtStart,
    alive_at_end: joined.filter((c) => !c.closed).length,
    frames_state: run.framesState,
    frames_other: run.framesOther,
    msgs_per_s: round((run.framesState + run.framesOther) / windowS, 1),
    bytes_per_client_s: round(run.payloadBytes / alive / windowS, 1),
    latency_samples: lat.length,
    p50_ms: round(percentile(lat, 50)),
    p99_ms: round(percentile(lat, 99)),
    max_ms: round(percentile(lat, 100)),
    poses_sent: sent,
    poses_seen_by_a_peer: seen,
    poses_coalesced_pct: sent ? round((100 * (sent - seen)) / sent, 1) : null,
    pose_hz_per_client: round(sent / alive / windowS),
    poses_skipped_backpressure: run.skipped,
    driver_late_p99_ms: round(percentile(late, 99)),
    undecodable_positions: run.undecodable,
    disconnects: Object.values(run.disconnects).reduce((a, b) => a + b, 0),
    close_codes: run.disconnects,
    error_codes: run.errors,
    examples: run.examples,
    loadgen_cpu_self_pct: round((100 * (cpu.user + cpu.system)) / 1e6 / windowS, 1),
  });
  run.shuttingDown = true;
  for (const c of clients) if (c.ws !== null && !c.closed) c.ws.close(1000);
  await sleep(200);
  process.exit(0);
}

main().catch((err) => {
  emit({ event: "error", error: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
