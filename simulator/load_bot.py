"""The load generator's bots: lean sans-I/O WebSocket clients, many to one core.

Each bot is a ``websockets.client.ClientProtocol`` driven from ``asyncio.Protocol`` callbacks
(no task per client): handshake, hello, join, then poses on demand and an ack for every applied
frame.

Pose identity: client i's k-th pose carries k in its left hand's offset from the head, in
millimetres (dx = k mod 1000 - 500, dy = -(k div 1000)), which the server passes through
unchanged (the head stays where the bot arrived, so no walking rule corrects it); a peer that
sees the hand in an applied snapshot/delta looks up when the pose was sent (one process, one
monotonic clock). Two bots per room (the observers) read every peer's pose; the others apply and
ack every frame but skip that per-peer work, so that one core carries enough bots to load the
server's.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol.codec import pack, unpack
from protocol.limits import PROTOCOL_VERSION, SUBPROTOCOL
from protocol.pose import SIZE_WITH_HANDS, AvatarPose, HandMode
from protocol.pose_frame import HAS_ACK, POSE_TAG
from protocol.quantise import IDENTITY_Q, pack_quat, yaw_quat

# Pose identity: the left hand's offset from the head, in millimetres, within arm's reach.
KSPAN, KROWS = 1000, 700
MAX_POSES = KSPAN * KROWS
OBSERVERS_PER_ROOM = 2
# Head position, the head's rotation skipped, left hand position: after the flags byte.
_POSE_FIELDS = struct.Struct("<hhh4xhhh")
QUATS = [list(yaw_quat(2 * math.pi * j / 72)) for j in range(72)]
PACKED_QUATS = [pack_quat(yaw_quat(2 * math.pi * j / 72)) for j in range(72)]
IDENTITY = pack_quat(IDENTITY_Q)
_FRAME = struct.Struct("<BBhhhIhhhIhhhI")
_FRAME_ACK = struct.Struct("<BBhhhIhhhIhhhII")
BACKPRESSURE_BYTES = 64 * 1024  # skip a pose (as a browser would) while this much is unsent


@dataclass(eq=False)
class LoadRoom:
    """One room's bots and what its observers last saw of it."""

    name: str
    clients: list[LoadBot] = field(default_factory=list)
    member_client: dict[int, int] = field(default_factory=dict)  # member id -> client index
    ents: dict[int, dict[str, Any]] = field(default_factory=dict)  # last seen fields per entity
    ent_owner: dict[int, int] = field(default_factory=dict)  # entity id -> client index
    tick: int = 0


@dataclass(eq=False)
class LoadRun:
    """Counters and switches shared by every bot of one level."""

    clients: list[LoadBot] = field(default_factory=list)
    measuring: bool = False  # frames and bytes are counted only inside the window
    recording: bool = True  # latency samples are still taken while draining after the window
    driving: bool = False
    separate_acks: bool = False  # one ack frame per state frame instead of riding on poses
    binary_poses: bool = True  # binary pose frames (protocol/pose_frame.py), else the map form
    shutting_down: bool = False
    window_start: float = math.inf
    window_end: float = math.inf
    frames_state: int = 0
    frames_reliable: int = 0
    frames_other: int = 0
    payload_bytes: int = 0
    wire_bytes: int = 0
    latencies: array[float] = field(default_factory=lambda: array("d"))
    driver_late: array[float] = field(default_factory=lambda: array("d"))
    driver_resyncs: int = 0
    poses_skipped: int = 0
    stale_frames: int = 0
    undecodable: int = 0
    errors: Counter[int] = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    disconnects: Counter[int] = field(default_factory=Counter)
    disconnect_examples: list[str] = field(default_factory=list)
    client_exceptions: list[str] = field(default_factory=list)


class LoadBot(asyncio.Protocol):
    """One bot: handshake, hello, join, then poses on demand and an ack for every applied frame."""

    def __init__(self, run: LoadRun, idx: int, room: LoadRoom, seat: int, url: str, token: str):
        self.run = run
        self.idx = idx
        self.room = room
        # Two bots per room read every peer's pose out of the state frames (latency, loss,
        # garbling); the rest check each frame's tick and ack it, as a client must, but skip
        # the per-peer work. Two, so that every bot's poses have a reader other than itself:
        # the load generator then carries about twice as many bots on its one core.
        self.observer = seat < OBSERVERS_PER_ROOM
        self.head: tuple[int, int, int] | None = None  # where the server put us, mm
        self.pending_ack: int | None = None
        self.token = token
        self.proto = ClientProtocol(parse_uri(url), subprotocols=[Subprotocol(SUBPROTOCOL)])
        self.transport: asyncio.Transport | None = None
        self.member: int | None = None
        self.tick = -1
        self.joined = False
        self.closed = False
        self.failure: str | None = None
        self.settled = asyncio.Event()  # set once joined, or once it failed
        self.close_code: int | None = None
        self.sent_at: array[float] = array("d")  # k -> monotonic send time
        self.seen: bytearray = bytearray()  # k -> 1 once any peer applied it
        self.last_k: dict[int, int] = {}  # sender index -> newest k this client has seen
        self.k_start = 0
        self.k_end = 0

    # --- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        request = self.proto.connect()
        request.headers["Authorization"] = f"Bearer {self.token}"
        self.proto.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        run = self.run
        if run.measuring:
            run.wire_bytes += len(data)
        try:
            self.proto.receive_data(data)
            for event in self.proto.events_received():
                if isinstance(event, Frame):
                    if event.opcode is Opcode.BINARY:
                        self._on_message(bytes(event.data), now)
                    elif event.opcode is Opcode.TEXT:
                        self._fail("text frame from server")
                elif isinstance(event, Response):
                    self._on_handshake()
        except Exception as exc:
            if len(run.client_exceptions) < 10:
                run.client_exceptions.append(f"client {self.idx}: {exc!r}")
            if self.transport is not None:
                self.transport.abort()
            return
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        rcvd = self.proto.close_rcvd
        code = rcvd.code if rcvd is not None else 1006
        reason = rcvd.reason if rcvd is not None else (repr(exc) if exc else "no close frame")
        self.close_code = code
        if not self.run.shutting_down:
            self.run.disconnects[code] += 1
            if len(self.run.disconnect_examples) < 5:
                self.run.disconnect_examples.append(f"client {self.idx}: {code} {reason}")
        self._fail(f"closed {code} {reason}")

    # --- protocol ---------------------------------------------------------------------------------

    def _on_handshake(self) -> None:
        proto = self.proto
        if proto.handshake_exc is not None or proto.state is not State.OPEN:
            self._fail(f"handshake failed: {proto.handshake_exc!r}")
            if self.transport is not None:
                self.transport.abort()
            return
        if proto.subprotocol != SUBPROTOCOL:
            self._fail(f"server chose subprotocol {proto.subprotocol!r}")
            return
        self._send({"t": "hello", "v": PROTOCOL_VERSION, "client": "bench_sync"})

    def _on_message(self, data: bytes, now: float) -> None:
        run = self.run
        msg = unpack(data, max_bytes=len(data) + 1)
        t = msg["t"]
        if t == "delta" or t == "snapshot":
            if run.measuring:
                run.frames_state += 1
                run.payload_bytes += len(data)
            self._on_state(msg, t == "snapshot", now)
            return
        if run.measuring:
            run.payload_bytes += len(data)
            if t in ("joined", "left", "chat"):
                run.frames_reliable += 1
            else:
                run.frames_other += 1
        if t == "welcome":
            self.member = msg["member"]
            self.room.member_client[msg["member"]] = self.idx
            self._send({"t": "join", "name": f"bot-{self.idx}"})
        elif t == "joined":
            if msg["member"] == self.member and not self.joined:
                self.joined = True
                self.settled.set()
        elif t == "error":
            run.errors[msg["code"]] += 1
            if len(run.error_examples) < 5:
                run.error_examples.append(f"client {self.idx}: {msg['code']} {msg['msg']}")

    def _on_state(self, msg: dict[str, Any], snapshot: bool, now: float) -> None:
        tick: int = msg["tick"]
        # A snapshot must be newer than what we hold, a delta based on it.
        if not (tick > self.tick if snapshot else msg["base"] <= self.tick < tick):
            if self.run.measuring:
                self.run.stale_frames += 1
            return
        self.tick = tick
        if self.run.separate_acks:
            self._send({"t": "ack", "tick": tick})
        else:
            self.pending_ack = tick  # rides on the next pose, 0-33 ms later
        room = self.room
        if tick > room.tick:
            room.tick = tick
        if not self.observer and self.head is not None:
            return
        ents = room.ents
        if snapshot:
            ents.clear()
        else:
            for gone in msg["gone"]:
                ents.pop(gone, None)
                room.ent_owner.pop(gone, None)
        for e in msg["ents"]:
            i: int = e["i"]
            known = ents.get(i)
            if known is None or "k" in e:
                ents[i] = e
            else:
                known.update(e)
            x = e.get("x")
            if x is None:
                continue
            owner = room.ent_owner.get(i)
            if owner is None:
                member = ents[i].get("m")
                if member is None or member not in room.member_client:
                    continue
                owner = room.ent_owner[i] = room.member_client[member]
            if owner == self.idx:
                if self.head is None:
                    self.head = AvatarPose.unpack(x).head.pos
            else:
                self._on_peer_pose(owner, x, now)

    def _on_peer_pose(self, owner: int, x: bytes, now: float) -> None:
        # Only the few fields the bench reads, straight from the packed record: this runs
        # for every peer in every state frame at every bot, and the load generator has
        # one core to carry hundreds of bots.
        if len(x) != SIZE_WITH_HANDS:
            return  # still as it arrived: no bench pose yet
        hx, hy, hz, lx, ly, lz = _POSE_FIELDS.unpack_from(x, 1)
        k = (lx - hx + KSPAN // 2) + KSPAN * (hy - ly)
        if k <= self.last_k.get(owner, -1):
            return  # seen already (a resent delta), not a new pose
        self.last_k[owner] = k
        run = self.run
        sender = run.clients[owner]
        if not 0 <= k < len(sender.sent_at) or lz != hz:
            run.undecodable += 1
            return
        sender.seen[k] = 1
        sent = sender.sent_at[k]
        if run.recording and run.window_start <= sent < run.window_end:
            run.latencies.append(now - sent)

    # --- sending ----------------------------------------------------------------------------------

    def _send(self, obj: dict[str, Any]) -> None:
        """Queue a frame; written by the ``_flush`` at the end of the current callback."""
        if self.proto.state is State.OPEN:
            self.proto.send_binary(pack(obj))

    def _flush(self) -> None:
        transport = self.transport
        chunks = self.proto.data_to_send()
        if transport is None or not chunks or transport.is_closing():
            return
        out = b"".join(chunks)
        if out:
            transport.write(out)
        if chunks[-1] == b"" and transport.can_write_eof():
            transport.write_eof()

    def send_pose(self) -> None:
        transport = self.transport
        if not self.joined or self.closed or transport is None or self.head is None:
            return
        if transport.get_write_buffer_size() > BACKPRESSURE_BYTES:
            if self.run.measuring:
                self.run.poses_skipped += 1
            return
        k = len(self.sent_at)
        if k >= MAX_POSES:
            return
        hx, hy, hz = self.head
        if self.run.binary_poses:
            self._send_pose_frame(k, hx, hy, hz)
            return
        head = [hx / 1000, hy / 1000, hz / 1000]
        left = [(hx + k % KSPAN - KSPAN // 2) / 1000, (hy - k // KSPAN) / 1000, hz / 1000]
        right = [(hx + 300) / 1000, (hy - 400) / 1000, hz / 1000]
        msg: dict[str, Any] = {
            "t": "pose",
            "p": head,
            "q": QUATS[k % len(QUATS)],
            "hm": 1,
            "lh": [*left, 0.0, 0.0, 0.0, 1.0],
            "rh": [*right, 0.0, 0.0, 0.0, 1.0],
        }
        if self.pending_ack is not None:
            msg["ack"], self.pending_ack = self.pending_ack, None
        data = pack(msg)
        self.sent_at.append(time.monotonic())
        self.seen.append(0)
        self.proto.send_binary(data)
        self._flush()

    def _send_pose_frame(self, k: int, hx: int, hy: int, hz: int) -> None:
        """The same pose as the map form, sent as a binary pose frame (already quantised)."""
        lx, ly = hx + k % KSPAN - KSPAN // 2, hy - k // KSPAN
        ack, self.pending_ack = self.pending_ack, None
        flags = HandMode.CONTROLLERS | (HAS_ACK if ack is not None else 0)
        fields: tuple[int, ...] = (POSE_TAG, flags, hx, hy, hz, PACKED_QUATS[k % len(QUATS)])
        fields += (lx, ly, hz, IDENTITY, hx + 300, hy - 400, hz, IDENTITY)
        data = _FRAME.pack(*fields) if ack is None else _FRAME_ACK.pack(*fields, ack)
        self.sent_at.append(time.monotonic())
        self.seen.append(0)
        self.proto.send_binary(data)
        self._flush()

    def close(self) -> None:
        if self.transport is None or self.closed:
            return
        if self.proto.state is State.OPEN:
            self.proto.send_close(1000, "bench done")
            self._flush()
        else:
            self.transport.abort()

    def _fail(self, why: str) -> None:
        if self.failure is None and not self.joined:
            self.failure = why
        self.settled.set()
