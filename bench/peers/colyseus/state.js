// The room's state: per member, head and both hands as float32 position + rotation quaternion.
// Shared by the server (encoder) and the load clients' observers (decoder).
"use strict";
const { schema } = require("@colyseus/schema");

const FIELDS = ["px", "py", "pz", "qx", "qy", "qz", "qw"];
const PARTS = ["head", "lh", "rh"];

const Part = schema(Object.fromEntries(FIELDS.map((f) => [f, "float32"])), "Part");
const Player = schema({ head: Part, lh: Part, rh: Part }, "Player");
const State = schema({ players: { map: Player } }, "State");

module.exports = { FIELDS, PARTS, Part, Player, State };
