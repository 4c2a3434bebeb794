// The v1 message catalogue, mirroring protocol/messages.py key for key and in the same order
// (the order is the encoding: it makes our frames byte-identical to the server's).
// test/catalogue.test.js compares it with the tables SPEC.md generates from the Python.

import { Limits as L } from "./protocol.js";
import { Bool, Bytes, Colour, Float, Int, ListOf, OneOf, Str, Struct, Vec, field } from "./schema.js";

const U32 = new Int(0, L.UINT32_MAX);
const U53 = new Int(0, L.U53_MAX);
const MEMBER_ID = new Int(1, L.UINT32_MAX);

export const BODIES = ["slim", "average", "broad"];
export const SPECIALTIES = ["stocks", "bonds", "funds", "insurance", "deposits", "fx", "tax"];
export const LANGUAGES = ["en", "zh", "yue"];
export const GENDERS = ["female", "male"];
export const EXPERT_STATES = ["arriving", "present", "leaving"];
export const ADVISOR_STATES = ["available", "busy", "away"];
export const HANDOFF_STATES = ["paging", "coming", "arrived", "unavailable", "cancelled"];
export const VERDICTS = ["ok", "disclose", "handoff"];
export const HAIRSTYLES = ["none", "short", "bob", "long", "bun", "curly", "ponytail"];
export const FACES = ["oval", "round", "square", "heart", "long"];
export const MEDIA_KINDS = ["audio", "video"];
export const MEDIA_VIEWS = ["3d", "video", "thin", "none"];
export const DEVICE_STATES = ["on", "off"];
export const VOICE_MODES = ["off", "ptt", "free"];
export const HEARD_STATES = ["asked", "confirm", "type", "cut", "none"];
export const INVITE_STATES = ["open", "revoked"];
export const NOTICE_KINDS = ["guest"];
export const VIDEO_QUALITIES = ["high", "low"];
export const MOUTH_LEVELS = 15;
export const SLOT_STATES = ["free", "booked", "honoured"];

export const LOOK = new Struct("look", [
  field("body", new OneOf(BODIES), false),
  field("height", new Int(140, 210), false),
  field("skin", new Colour(), false),
  field("hair", new OneOf(HAIRSTYLES), false),
  field("hair_color", new Colour(), false),
  field("top", new Colour(), false),
  field("bottom", new Colour(), false),
  field("accent", new Colour(), false),
  field("face", new OneOf(FACES), false),
]);

export const ENT = new Struct("ent", [
  field("i", U32),
  field("k", new Str(16, 1), false),
  field("m", MEMBER_ID, false),
  field("n", new Str(L.MAX_NAME_CHARS), false),
  field("r", new Str(16, 1), false),
  field("a", LOOK, false),
  field("s", new Str(L.MAX_SEAT_CHARS), false),
  field("x", new Bytes(11, 31), false),
  field("p", new Str(L.MAX_ID_CHARS, 1), false),
  field("sp", new OneOf(SPECIALTIES), false),
  field("e", new OneOf(EXPERT_STATES), false),
  field("l", new Str(L.MAX_LABEL_CHARS, 1), false),
  field("c", new Str(L.MAX_ID_CHARS), false),
  field("mic", new OneOf([...DEVICE_STATES, ""]), false),
  field("cam", new OneOf([...DEVICE_STATES, ""]), false),
  field("mo", new Int(0, MOUTH_LEVELS), false),
]);

const COORD = new Float(-L.MAX_COORD_M, L.MAX_COORD_M);
const QC = new Float(-1.01, 1.01);
const HAND = new Vec(COORD, 7);

export const HOLDING = new Struct("holding", [
  field("product", new Str(L.MAX_ID_CHARS, 1)),
  field("name", new Str(L.MAX_TITLE_CHARS)),
  field("sp", new OneOf(SPECIALTIES)),
  field("risk", new Int(1, 5)),
  field("value", new Float(0.0, 1e15)),
  field("ccy", new Str(3, 3)),
]);

export const BRIEF_TURN = new Struct("brief_turn", [
  field("q", new Str(L.MAX_BRIEF_TEXT_CHARS, 1)),
  field("by", new Str(L.MAX_REASON_CHARS)),
  field("a", new Str(L.MAX_BRIEF_TEXT_CHARS)),
  field("cut", new Bool(), false),
]);

export const BRIEF_PRODUCT = new Struct("brief_product", [
  field("id", new Str(L.MAX_ID_CHARS, 1)),
  field("name", new Str(L.MAX_TITLE_CHARS)),
  field("sp", new OneOf(SPECIALTIES)),
  field("risk", new Int(1, 5)),
]);

export const BRIEF_DECISION = new Struct("brief_decision", [
  field("sp", new OneOf(SPECIALTIES)),
  field("verdict", new OneOf(VERDICTS)),
  field("why", new Str(L.MAX_REASON_CHARS)),
  field("product", new Str(L.MAX_ID_CHARS, 1), false),
]);

/** What an advisor reads before walking in (page.brief, briefing.brief). */
export const BRIEFING = new Struct("brief", [
  field("why", new Str(L.MAX_REASON_CHARS)),
  field("turns", new ListOf(BRIEF_TURN, L.MAX_BRIEF_TURNS)),
  field("products", new ListOf(BRIEF_PRODUCT, L.MAX_BRIEF_ITEMS)),
  field("decisions", new ListOf(BRIEF_DECISION, L.MAX_BRIEF_ITEMS)),
]);

export const PAGE = new Struct("page", [
  field("id", new Str(L.MAX_ID_CHARS, 1)),
  field("room", new Str(L.MAX_ROOM_ID_CHARS, 1)),
  field("sp", new Str(16)),
  field("lang", new OneOf(LANGUAGES)),
  field("why", new Str(L.MAX_REASON_CHARS)),
  field("at", U53),
  field("customer", new Str(L.MAX_NAME_CHARS)),
  field("risk", new Int(1, 5), false),
  field("product", new Str(L.MAX_ID_CHARS, 1), false),
  field("brief", BRIEFING, false),
  field("first", new Bool(), false),
]);

/** Messages a client sends, by `t`. */
export const CLIENT_MESSAGES = new Map();
/** Messages the server sends, by `t`. A type known in one direction is unknown in the other. */
export const SERVER_MESSAGES = new Map();
/** Server messages that carry `seq`: delivered once each, in order, replayed after a reconnect. */
export const RELIABLE = new Set();

function client(type, ...fields) {
  CLIENT_MESSAGES.set(type, new Struct(type, fields));
}

function server(type, ...fields) {
  SERVER_MESSAGES.set(type, new Struct(type, fields));
}

function reliable(type, ...fields) {
  server(type, ...fields);
  RELIABLE.add(type);
}

// --- client -> server -----------------------------------------------------------------------

client("hello", field("v", new Int(1, 65535)), field("client", new Str(L.MAX_CLIENT_CHARS), false));
client(
  "join",
  field("name", new Str(L.MAX_NAME_CHARS, 1)),
  field("since", U53, false),
  field("look", LOOK, false),
);
client(
  "pose",
  field("p", new Vec(COORD, 3)),
  field("q", new Vec(QC, 4)),
  field("hm", new Int(0, 2), false),
  field("lh", HAND, false),
  field("rh", HAND, false),
  field("ack", U53, false),
  field("n", U32, false),
);
client("look", field("look", LOOK));
client("sit", field("seat", new Str(L.MAX_SEAT_CHARS, 1)));
client("stand");
client("ack", field("tick", U53));
client("chat", field("text", new Str(L.MAX_CHAT_CHARS, 1)));
client("remove", field("member", MEMBER_ID));
client("leave");
client("ping", field("n", U32));
client(
  "ask",
  field("text", new Str(L.MAX_QUESTION_CHARS, 1)),
  field("lang", new OneOf(LANGUAGES), false),
  field("gender", new OneOf(GENDERS), false),
  field("persona", new Str(L.MAX_ID_CHARS, 1), false),
);
client(
  "summon",
  field("sp", new OneOf(SPECIALTIES)),
  field("lang", new OneOf(LANGUAGES), false),
  field("gender", new OneOf(GENDERS), false),
  field("persona", new Str(L.MAX_ID_CHARS, 1), false),
);
client("dismiss", field("expert", U32));
client("help");
client(
  "present",
  field("title", new Str(L.MAX_TITLE_CHARS, 1)),
  field("labels", new ListOf(new Str(L.MAX_TITLE_CHARS, 1), L.MAX_CHART_ITEMS)),
  field("values", new ListOf(new Float(0.0, 1e15), L.MAX_CHART_ITEMS)),
  field("screen", new Str(L.MAX_ID_CHARS, 1), false),
);
client("unpresent", field("screen", new Str(L.MAX_ID_CHARS, 1), false));
client("verify", field("code", new Str(8, 6)));
client("portfolio");
client("interest", field("product", new Str(L.MAX_ID_CHARS, 1)));
client("presence", field("state", new OneOf(ADVISOR_STATES)));
client("accept", field("page", new Str(L.MAX_ID_CHARS, 1)));
client("decline", field("page", new Str(L.MAX_ID_CHARS, 1)));
client("offer", field("start", U53), field("end", U53));
client("book", field("slot", new Str(L.MAX_ID_CHARS, 1)));
client("cancel", field("slot", new Str(L.MAX_ID_CHARS, 1)));
client(
  "move",
  field("slot", new Str(L.MAX_ID_CHARS, 1)),
  field("to", new Str(L.MAX_ID_CHARS, 1), false),
  field("start", U53, false),
);
client(
  "media",
  field("send", new ListOf(new OneOf(MEDIA_KINDS), 2)),
  field("view", new OneOf(MEDIA_VIEWS), false),
  field("dc", new Bool(), false),
  field("q", new OneOf(VIDEO_QUALITIES), false),
);
client("rtc_answer", field("n", U32), field("sdp", new Str(L.MAX_SDP_CHARS, 1)));
client(
  "ice",
  field("n", U32),
  field("cand", new Str(L.MAX_ICE_CHARS)),
  field("mid", new Str(16), false),
  field("idx", new Int(0, 255), false),
);
client("mute", field("mic", new OneOf(DEVICE_STATES), false), field("cam", new OneOf(DEVICE_STATES), false));
client("voice", field("mode", new OneOf(VOICE_MODES)));
client("ptt", field("on", new Bool()));
client("record", field("on", new Bool()));
client("seen", field("rec", new Str(L.MAX_ID_CHARS, 1)));
client(
  "invite",
  field("uses", new Int(1, L.MAX_INVITE_USES), false),
  field("ttl", new Int(60, L.MAX_INVITE_S), false),
);
client("revoke", field("id", new Str(L.MAX_ID_CHARS, 1)));

// --- server -> client -----------------------------------------------------------------------

server(
  "welcome",
  field("v", new Int(1, 65535)),
  field("member", MEMBER_ID),
  field("room", new Str(L.MAX_ROOM_ID_CHARS, 1)),
  field("role", new Str(16, 1)),
  field("tick_hz", new Int(1, 240)),
  field("seq", U53),
  field("max_frame", U32),
  field("rate", U32),
  field("layout", new Str(L.MAX_ID_CHARS, 1), false),
);
server("snapshot", field("tick", U53), field("ents", new ListOf(ENT, L.MAX_ENTITIES)));
server(
  "delta",
  field("tick", U53),
  field("base", U53),
  field("ents", new ListOf(ENT, L.MAX_ENTITIES)),
  field("gone", new ListOf(U32, L.MAX_ENTITIES)),
);
reliable(
  "chat",
  field("seq", U53),
  field("by", MEMBER_ID),
  field("name", new Str(L.MAX_NAME_CHARS)),
  field("text", new Str(L.MAX_CHAT_CHARS, 1)),
  field("at", U53),
);
reliable(
  "joined",
  field("seq", U53),
  field("member", MEMBER_ID),
  field("name", new Str(L.MAX_NAME_CHARS)),
  field("role", new Str(16, 1)),
  field("at", U53),
);
reliable(
  "left",
  field("seq", U53),
  field("member", MEMBER_ID),
  field("reason", new Str(L.MAX_REASON_CHARS)),
  field("at", U53),
);
server("pong", field("n", U32));
server(
  "error",
  field("code", new Int(0, 65535)),
  field("msg", new Str(L.MAX_ERROR_CHARS)),
  field("ref", new Str(16), false),
  field("fatal", new Bool(), false),
);
reliable(
  "asked",
  field("seq", U53),
  field("by", MEMBER_ID),
  field("name", new Str(L.MAX_NAME_CHARS)),
  field("text", new Str(L.MAX_QUESTION_CHARS, 1)),
  field("sp", new ListOf(new OneOf(SPECIALTIES), 7)),
  field("at", U53),
);
reliable(
  "expert",
  field("seq", U53),
  field("e", U32),
  field("st", new OneOf(["arrived", "left"])),
  field("p", new Str(L.MAX_ID_CHARS, 1)),
  field("name", new Str(L.MAX_NAME_CHARS)),
  field("sp", new OneOf(SPECIALTIES)),
  field("lang", new OneOf(LANGUAGES)),
  field("dialect", new Str(L.MAX_TITLE_CHARS)),
  field("gender", new OneOf(GENDERS)),
  field("age", new Int(18, 99)),
  field("label", new Str(L.MAX_LABEL_CHARS, 1)),
  field("why", new Str(L.MAX_REASON_CHARS), false),
  field("at", U53),
);
reliable(
  "answer",
  field("seq", U53),
  field("text", new Str(L.MAX_ANSWER_CHARS, 1)),
  field("label", new Str(L.MAX_LABEL_CHARS, 1)),
  field("lang", new OneOf(LANGUAGES)),
  field("src", new ListOf(new Str(L.MAX_ID_CHARS, 1), 16)),
  field("handoff", new Bool()),
  field("q", U53),
  field("at", U53),
  field("e", U32, false),
  field("sp", new OneOf(SPECIALTIES), false),
  field("risk", new Int(1, 5), false),
  field("product", new Str(L.MAX_ID_CHARS, 1), false),
  field("why", new Str(L.MAX_REASON_CHARS), false),
);
reliable(
  "handoff",
  field("seq", U53),
  field("page", new Str(L.MAX_ID_CHARS, 1)),
  field("st", new OneOf(HANDOFF_STATES)),
  field("why", new Str(L.MAX_REASON_CHARS)),
  field("at", U53),
  field("sp", new OneOf(SPECIALTIES), false),
  field("advisor", new Str(L.MAX_NAME_CHARS), false),
  field("eta", U32, false),
  field("read", new Bool(), false),
);
reliable(
  "presented",
  field("seq", U53),
  field("screen", new Str(L.MAX_ID_CHARS, 1)),
  field("c", new Str(L.MAX_ID_CHARS)),
  field("title", new Str(L.MAX_TITLE_CHARS)),
  field("labels", new ListOf(new Str(L.MAX_TITLE_CHARS, 1), L.MAX_CHART_ITEMS)),
  field("values", new ListOf(new Float(0.0, 1e15), L.MAX_CHART_ITEMS)),
  field("by", MEMBER_ID),
  field("at", U53),
);
server("verified", field("until", U53));
server("holdings", field("items", new ListOf(HOLDING, L.MAX_HOLDINGS)), field("risk", new Int(1, 5), false));
server(
  "console",
  field("name", new Str(L.MAX_NAME_CHARS)),
  field("state", new OneOf(ADVISOR_STATES)),
  field("skills", new ListOf(new OneOf(SPECIALTIES), 7)),
  field("langs", new ListOf(new OneOf(LANGUAGES), 3)),
);
server("pages", field("pages", new ListOf(PAGE, L.MAX_PAGES)));
server(
  "accepted",
  field("page", new Str(L.MAX_ID_CHARS, 1)),
  field("room", new Str(L.MAX_ROOM_ID_CHARS, 1)),
  field("token", new Str(4096, 1)),
  field("url", new Str(512, 1)),
);
export const SLOT = new Struct("slot", [
  field("id", new Str(L.MAX_ID_CHARS, 1)),
  field("start", U53),
  field("end", U53),
  field("adv", new Str(L.MAX_NAME_CHARS)),
  field("st", new OneOf(SLOT_STATES)),
  field("customer", new Str(L.MAX_NAME_CHARS), false),
  field("room", new Str(L.MAX_ROOM_ID_CHARS, 1), false),
]);
server("slots", field("slots", new ListOf(SLOT, L.MAX_SLOTS)));
server(
  "appointment",
  field("slot", new Str(L.MAX_ID_CHARS, 1)),
  field("room", new Str(L.MAX_ROOM_ID_CHARS, 1)),
  field("start", U53),
  field("end", U53),
  field("adv", new Str(L.MAX_NAME_CHARS)),
  field("token", new Str(4096, 1), false),
  field("url", new Str(512, 1), false),
);

export const OFFERED_TRACK = new Struct("track", [
  field("mid", new Str(16, 1)),
  field("src", new Str(L.MAX_ID_CHARS, 1)),
  field("ent", U32, false),
]);

server(
  "rtc_offer",
  field("n", U32),
  field("sdp", new Str(L.MAX_SDP_CHARS, 1)),
  field("tracks", new ListOf(OFFERED_TRACK, 64)),
);
export const ICE_SERVER = new Struct("ice_server", [
  field("urls", new ListOf(new Str(L.MAX_ICE_CHARS, 1), 8)),
  field("username", new Str(L.MAX_ICE_CHARS), false),
  field("credential", new Str(L.MAX_ICE_CHARS), false),
]);
server("ice_servers", field("servers", new ListOf(ICE_SERVER, 8)), field("until", U53));
reliable(
  "recording",
  field("seq", U53),
  field("on", new Bool()),
  field("rec", new Str(L.MAX_ID_CHARS, 1)),
  field("by", MEMBER_ID),
  field("notice", new Str(L.MAX_NOTICE_CHARS)),
  field("days", new Int(0, 36500)),
  field("at", U53),
);
server("briefing", field("page", new Str(L.MAX_ID_CHARS, 1)), field("brief", BRIEFING));
server(
  "heard",
  field("text", new Str(L.MAX_QUESTION_CHARS)),
  field("conf", new Float(0, 1)),
  field("lang", new OneOf(LANGUAGES)),
  field("st", new OneOf(HEARD_STATES)),
);
server(
  "invitation",
  field("id", new Str(L.MAX_ID_CHARS, 1)),
  field("st", new OneOf(INVITE_STATES)),
  field("uses", new Int(1, L.MAX_INVITE_USES)),
  field("exp", U53),
  field("url", new Str(L.MAX_URL_CHARS), false),
  field("qr", new Str(L.MAX_QR_CHARS), false),
);
server("notice", field("kind", new OneOf(NOTICE_KINDS)), field("text", new Str(L.MAX_NOTICE_CHARS, 1)));
