"""A member on the far side of a troubled link: run inside the test's namespace, reports JSON.

    ip netns exec NS python -m tests.network.netns_client --url ws://ADDR:PORT/ws/ROOM --token T ...

It joins, then until told ``finish`` on stdin: turns its head at ``--pose-hz`` (each pose a
new angle, so a peer that sees it can say when it was sent), posts a chat every
``--chat-every`` seconds, pings, and with ``--media`` receives the room's audio and video as an
aiortc peer. What a real client does on a bad link it does too: a connection that has said
nothing for ``--stale`` seconds is given up and a new one joins with ``join.since`` (the last
sequence received); once the room has let the old member go (its ``left`` arrives, so nothing
more from it can be posted) the chats it sent that never came back are sent again, in order.

On ``finish`` it stops moving and chatting, waits until every chat it sent has come back, the
chat ``--end`` has arrived, its last pose is in its own replica and media frames flow again,
then prints one JSON line (see :meth:`Remote.report`) and waits for ``exit`` or EOF to leave.
Times are ``time.monotonic()``: one clock for every process on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from avatars.pose import quantise_pose
from protocol import messages as m
from protocol.pose import AvatarPose
from protocol.quantise import mm_to_pos, yaw_quat
from simulator.client import ClientError, RoomClient
from simulator.media import RtcMedia

JOIN_S = 5.0  # one join attempt; a blackout makes it fail and we try again
RETRY_S = 0.2  # pacing between join attempts, not synchronisation
FENCE_S = 20.0  # the room notices a vanished connection when its own sends bounce
FINISH_S = 40.0
WATCH_S = 0.1
PING_S = 0.25
YAW_STEP = math.radians(0.25)  # 1440 distinct angles: 72 s of poses at 20 Hz


class Remote:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url: str = args.url
        self.token: str = args.token
        self.name: str = args.name
        self.prefix: str = args.prefix
        self.end: str = args.end
        self.stale: float = args.stale
        self.pose_hz: float = args.pose_hz
        self.chat_every: float = args.chat_every
        self.with_media: bool = args.media
        self.client: RoomClient | None = None
        self.past: list[Any] = []  # reliable messages of connections that are over
        self.ready = asyncio.Event()  # joined, fenced, resent: new sends may go
        self.finishing = False
        self.sent: list[str] = []  # own chats, in the order first sent
        self.resent = 0
        self.fence_missed = 0
        self.reconnects = 0
        self.members: list[int] = []
        self.poses: dict[bytes, float | None] = {}  # packed pose -> when sent (None: twice)
        self.last_pose: bytes | None = None
        self.frames: dict[str, list[float]] = {"audio": [], "video": []}
        self.media: RtcMedia | None = None
        self.media_sessions = 0
        self.errors: list[str] = []
        self._k = 0

    # --- the ledger across connections ----------------------------------------------------

    def received(self) -> list[Any]:
        return self.past + (list(self.client.reliable) if self.client is not None else [])

    def last_seq(self) -> int | None:
        got = self.received()
        return got[-1].seq if got else None

    def echoed(self) -> set[str]:
        mine = set(self.members)
        return {r.text for r in self.received() if isinstance(r, m.ChatPosted) and r.by in mine}

    def has_left(self, member: int) -> bool:
        return any(isinstance(r, m.Left) and r.member == member for r in self.received())

    # --- connections ----------------------------------------------------------------------

    async def connect(self) -> RoomClient:
        since = self.last_seq()
        while True:
            try:
                client = await RoomClient.join(
                    self.url, self.token, self.name, since=since, timeout=JOIN_S
                )
                break
            except (ClientError, OSError, InvalidHandshake, TimeoutError):
                await asyncio.sleep(RETRY_S)
        self.client = client
        self.members.append(client.member)
        return client

    async def reconnect(self) -> None:
        self.ready.clear()
        old = self.client
        assert old is not None
        self.reconnects += 1
        await self.close_media()
        old.ws.transport.abort()
        await old.close()  # its reader is done: nothing more lands in old.reliable
        self.past += old.reliable
        self.client = None
        client = await self.connect()
        try:
            await client.wait_for(lambda c: self.has_left(old.member), FENCE_S)
        except ClientError:
            self.fence_missed += 1
        echoed = self.echoed()
        for text in self.sent:
            if text not in echoed:
                with contextlib.suppress(ConnectionClosed):
                    await client.chat(text)
                self.resent += 1
        self.ready.set()
        await self.open_media()

    async def watch(self) -> None:
        """Give up a connection that is closed or has been silent for ``stale`` seconds."""
        heard, at = -1, time.monotonic()
        while True:
            await asyncio.sleep(WATCH_S)  # a watchdog's tick
            client = self.client
            if client is None or not self.ready.is_set():
                heard, at = -1, time.monotonic()
                continue
            now = time.monotonic()
            if client.bytes_in != heard:
                heard, at = client.bytes_in, now
            elif client.closed or now - at > self.stale:
                await self.reconnect()
                heard, at = -1, time.monotonic()

    # --- media ----------------------------------------------------------------------------

    async def open_media(self) -> None:
        if not self.with_media or self.client is None:
            return
        self.media = RtcMedia(self.client)
        self.media.on_frame = self._on_frame
        self.media_sessions += 1
        await self.media.open()

    def _on_frame(self, source: str, kind: str, at: float) -> None:
        frames = self.frames.setdefault(kind, [])
        frames.append(at)
        if len(frames) == 1 and all(self.frames.values()):
            print(json.dumps({"ev": "media"}), flush=True)  # audio and video both flowing

    async def close_media(self) -> None:
        media, self.media = self.media, None
        if media is not None:
            await media.close()

    # --- what it sends --------------------------------------------------------------------

    async def ping(self) -> None:
        n = 0
        while True:
            await self.ready.wait()
            client = self.client
            if client is not None:
                n += 1
                with contextlib.suppress(ConnectionClosed):
                    await client.send(m.Ping(n))
            await asyncio.sleep(PING_S)  # pacing

    async def chat(self) -> None:
        i = 0
        while not self.finishing:
            await self.ready.wait()
            client = self.client
            if client is None or self.finishing:
                continue
            text = f"{self.prefix}{i}"
            i += 1
            self.sent.append(text)  # before sending: a send that dies is sent again
            with contextlib.suppress(ConnectionClosed):
                await client.chat(text)
            await asyncio.sleep(self.chat_every)  # pacing

    async def move(self) -> None:
        while not self.finishing:
            await self.ready.wait()
            await self.send_pose()
            await asyncio.sleep(1 / self.pose_hz)  # pacing

    async def send_pose(self) -> bool:
        client = self.client
        if client is None:
            return False
        ent = client.replica.by_member(client.member)
        if ent is None or ent.x is None:
            return False
        head = AvatarPose.unpack(ent.x).head
        pose = m.Pose(mm_to_pos(head.pos), yaw_quat(self._k * YAW_STEP))
        self._k += 1
        packed = quantise_pose(pose).pack()
        self.poses[packed] = None if packed in self.poses else time.monotonic()
        try:
            await client.send(pose)
        except ConnectionClosed:
            return False
        self.last_pose = packed
        return True

    # --- the end --------------------------------------------------------------------------

    async def finish(self) -> None:
        self.finishing = True
        deadline = time.monotonic() + FINISH_S
        while not await self._settled(max(0.1, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                self.errors.append("not settled before the deadline")
                break

    async def _settled(self, left: float) -> bool:
        """One try at the end state on the connection of the moment; False to try again."""
        await asyncio.wait_for(self.ready.wait(), left)
        client = self.client
        assert client is not None
        if not await self.send_pose():
            return False
        last = self.last_pose
        media = {k: len(v) for k, v in self.frames.items()}

        def settled(c: RoomClient) -> bool:
            own = c.replica.by_member(c.member)
            if c.closed:
                return True  # a reconnect took over: try again on the new connection
            return (
                own is not None
                and own.x == last
                and set(self.sent) <= self.echoed()
                and any(isinstance(r, m.ChatPosted) and r.text == self.end for r in c.reliable)
            )

        try:
            await client.wait_for(settled, min(left, 5.0))
            if self.with_media:
                await self._media_again(media, left)
        except (ClientError, TimeoutError):
            return False
        return self.client is client and not client.closed

    async def _media_again(self, before: dict[str, int], left: float) -> None:
        deadline = time.monotonic() + left

        def again(_: RtcMedia) -> bool:
            return all(len(self.frames[k]) >= n + 10 for k, n in before.items())

        while time.monotonic() < deadline:
            media = self.media
            if media is None:
                await asyncio.sleep(WATCH_S)  # a reconnect is opening a new peer
                continue
            with contextlib.suppress(TimeoutError):
                await media.wait_for(again, 1.0)
                return
        raise TimeoutError

    def report(self) -> dict[str, Any]:
        client = self.client
        return {
            "ev": "report",
            "reliable": [
                [
                    r.seq,
                    r.TYPE,
                    getattr(r, "by", getattr(r, "member", None)),
                    getattr(r, "text", None),
                ]
                for r in self.received()
            ],
            "members": self.members,
            "sent": self.sent,
            "resent": self.resent,
            "fence_missed": self.fence_missed,
            "reconnects": self.reconnects,
            "poses": [[k.hex(), t] for k, t in self.poses.items() if t is not None],
            "frames": self.frames,
            "media_sessions": self.media_sessions,
            "digest": client.replica.digest() if client is not None else None,
            "errors": self.errors + [f"{e.code} {e.msg}" for e in self.client_errors()],
        }

    def client_errors(self) -> list[m.Error]:
        return list(self.client.errors) if self.client is not None else []


async def main(args: argparse.Namespace) -> None:
    remote = Remote(args)
    await remote.connect()
    remote.ready.set()
    await remote.open_media()
    print(json.dumps({"ev": "joined", "member": remote.members[0]}), flush=True)
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    tasks = [loop.create_task(c) for c in (remote.watch(), remote.ping(), remote.chat())]
    tasks.append(loop.create_task(remote.move()))
    try:
        while (line := (await stdin.readline()).strip()) not in (b"", b"exit"):
            if line == b"finish":
                await remote.finish()
                print(json.dumps(remote.report()), flush=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await remote.close_media()
        if remote.client is not None:
            with contextlib.suppress(ClientError, ConnectionClosed):
                await remote.client.leave()
            await remote.client.close()


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--name", default="Remote")
    p.add_argument("--prefix", default="r-", help="own chats are PREFIX0, PREFIX1, ...")
    p.add_argument("--end", default="end", help="the chat that ends the run")
    p.add_argument("--stale", type=float, default=1.5, help="seconds of silence: reconnect")
    p.add_argument("--pose-hz", type=float, default=20.0)
    p.add_argument("--chat-every", type=float, default=0.25)
    p.add_argument("--media", action="store_true", help="receive the room's audio and video")
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
