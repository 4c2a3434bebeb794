// A plain Colyseus 0.16 room for bench/bench_peer.py: members send head and both hands, the room
// stores them as they come (no validation) and Colyseus patches the state to everyone.
//
//   node server.js --port 0 [--patch-hz 20] [--room-size 10]
//
// Prints "listening <port>" once it accepts connections.
"use strict";
const { parseArgs } = require("node:util");
const { Server, Room } = require("@colyseus/core");
const { WebSocketTransport } = require("@colyseus/ws-transport");
const { PARTS, FIELDS, Part, Player, State } = require("./state");

const { values: opts } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    "patch-hz": { type: "string", default: "20" }, // Colyseus's default patch rate
    "room-size": { type: "string", default: "10" },
  },
});
const patchMs = 1000 / Number(opts["patch-hz"]);
const roomSize = Number(opts["room-size"]);

class PoseRoom extends Room {
  onCreate() {
    this.maxClients = roomSize;
    this.patchRate = patchMs;
    this.state = new State();
    // 21 numbers: head, left hand, right hand, each px py pz qx qy qz qw.
    this.onMessage("pose", (client, pose) => {
      const player = this.state.players.get(client.sessionId);
      if (player === undefined || !Array.isArray(pose)) return;
      let i = 0;
      for (const name of PARTS) {
        const part = player[name];
        for (const f of FIELDS) part[f] = pose[i++];
      }
    });
  }

  onJoin(client) {
    this.state.players.set(
      client.sessionId,
      new Player({ head: new Part(), lh: new Part(), rh: new Part() }),
    );
  }

  onLeave(client) {
    this.state.players.delete(client.sessionId);
  }
}

const server = new Server({ transport: new WebSocketTransport(), greet: false });
server.define("pose", PoseRoom);
server.listen(Number(opts.port), opts.host).then(() => {
  const address = server.transport.server.address();
  console.log(`listening ${address.port}`);
});
