"""Scale-out figures: failover time after ``kill -9`` of a node, and Redis work per room.

Needs ``redis-server`` on PATH; starts its own on a free port and two server processes.

1. Failover, ``--runs`` times at the nodes' default settings (or ``--lease``): ``--rooms``
   rooms with ``--members`` members each on node A, each room with some chat; A is killed
   with SIGKILL; every member reconnects (trying A, then B, as a client with both addresses
   does) and resumes from its last seq. Printed per run: time from the kill to the median
   and the last member resumed; then the median and worst over the runs of the time to the
   last member, and messages lost or duplicated (must be 0).
2. Redis operations per tick per room: rooms of VR members moving at 30 Hz on one node,
   with a chat line a second per room; Redis' own command counters over the window,
   divided by rooms and ticks (the node's default lease). The naive design saves the room every
   tick: at least one operation per tick per room.

    .venv/bin/python -m bench.bench_cluster [--rooms 10] [--members 4] [--seconds 10]
        [--runs 10] [--lease S] [--part all|failover|ops]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis
from websockets.exceptions import InvalidHandshake

from protocol import messages as m
from rooms.roles import Role
from server.auth import TokenAuthority
from server.urls import PLACED
from simulator.client import ClientError, RoomClient
from simulator.server_process import HOST, ServerProcess, free_port

TICK_HZ = 30


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return proc, port


async def wait_redis(port: int) -> None:
    client = Redis(host=HOST, port=port)
    try:
        for _ in range(200):
            try:
                if await client.ping():
                    return
            except Exception:
                await asyncio.sleep(0.05)
        raise RuntimeError("redis-server did not start")
    finally:
        await client.aclose()


def node_env(port: int, node: str, prefix: str, lease_s: float | None) -> dict[str, str]:
    """``lease_s`` None: the node's default lease."""
    env = {
        "WEALTHROOM_REDIS_URL": f"redis://{HOST}:{port}/0",
        "WEALTHROOM_NODE_ID": node,
        "WEALTHROOM_REDIS_PREFIX": prefix,
        "WEALTHROOM_DEMO_ROOM": "",
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_TOTP_PATH": "",
    }
    if lease_s is not None:
        env["WEALTHROOM_LEASE_S"] = str(lease_s)
    return env


async def rejoin(urls: list[str], token: str, name: str, since: int) -> RoomClient:
    while True:
        for url in urls:
            try:
                return await RoomClient.join(url, token, name, since=since, timeout=2.0)
            except (ClientError, OSError, InvalidHandshake):
                pass
        await asyncio.sleep(0.05)  # pacing retries against a dead node


async def failover(args: argparse.Namespace, redis_port: int, tmp: Path) -> None:
    lease = "default lease" if args.lease is None else f"lease {args.lease} s"
    lasts: list[float] = []
    lost = dup = 0
    for run in range(args.runs):
        back, run_lost, run_dup = await failover_once(args, redis_port, tmp)
        lasts.append(max(back))
        lost, dup = lost + run_lost, dup + run_dup
        print(
            f"  run {run + 1}: median member back {statistics.median(back):.2f} s, "
            f"last {max(back):.2f} s"
        )
    print(
        f"failover ({lease}): {args.rooms} rooms x {args.members} members on node A, kill -9 "
        f"of A, every member back on node B after: median {statistics.median(lasts):.2f} s, "
        f"worst {max(lasts):.2f} s over {args.runs} runs; lost {lost}, duplicated {dup}"
    )


async def failover_once(
    args: argparse.Namespace, redis_port: int, tmp: Path
) -> tuple[list[float], int, int]:
    """Seconds from the kill to each member resumed; messages lost and duplicated."""
    prefix = f"b{uuid.uuid4().hex[:6]}:"
    a_env, b_env = (node_env(redis_port, n, prefix, args.lease) for n in ("a", "b"))
    a = ServerProcess(tmp / "a.log", "WARNING", None, None, env=a_env)
    b = ServerProcess(tmp / "b.log", "WARNING", None, None, env=b_env)
    b.secret = a.secret
    await a.start()
    await b.start()
    tokens = TokenAuthority(a.secret.encode())
    try:
        members: list[tuple[str, str, str, RoomClient]] = []
        for r in range(args.rooms):
            room = f"room-{r}"
            for i in range(args.members):
                role = Role.CUSTOMER if i == 0 else Role.GUEST
                token = tokens.mint(room=room, role=role, subject=f"{room}-{i}")
                # Placed: every room on A, rather than spread by load over A and B.
                url = f"ws://{HOST}:{a.port}/ws/{room}?{PLACED}"
                members.append((room, token, f"M{i}", await RoomClient.join(url, token, f"M{i}")))
        talkers = [c for _, _, name, c in members if name == "M0"]
        for c in talkers:
            for k in range(5):
                await c.send(m.Chat(f"line {k}"))
        for _, _, _, c in members:
            await c.wait_for(lambda c: len(c.chats) == 5, 30)
        seen = [max(x.seq for x in c.reliable) for *_, c in members]
        history = {room: [x.text for x in c.chats] for room, _, name, c in members if name == "M0"}

        killed = time.monotonic()
        os.kill(a.pid, signal.SIGKILL)
        back: list[float] = []

        async def resume(i: int) -> RoomClient:
            room, token, name, _ = members[i]
            urls = [f"ws://{HOST}:{p}/ws/{room}" for p in (a.port, b.port)]
            client = await rejoin(urls, token, name, seen[i])
            back.append(time.monotonic() - killed)
            return client

        resumed = await asyncio.gather(*(resume(i) for i in range(len(members))))
        # Nothing lost or repeated: a member that asks from the start gets the history once.
        lost = dup = 0
        for room, token, name, _ in members[:: args.members]:
            url = f"ws://{HOST}:{b.port}/ws/{room}"
            fresh = await RoomClient.join(url, token, name, since=0)
            got = [x.text for x in fresh.chats]
            lost += len([t for t in history[room] if t not in got])
            dup += len(got) - len(set(got))
            await fresh.close()
        for c in resumed:
            await c.close()
        return back, lost, dup
    finally:
        await b.stop()
        await a.stop()


async def redis_ops(args: argparse.Namespace, redis_port: int, tmp: Path) -> None:
    prefix = f"o{uuid.uuid4().hex[:6]}:"
    node = ServerProcess(
        tmp / "ops.log", "WARNING", None, None, env=node_env(redis_port, "a", prefix, args.lease)
    )
    await node.start()
    tokens = TokenAuthority(node.secret.encode())
    client = Redis(host=HOST, port=redis_port)
    try:
        clients: list[RoomClient] = []
        for r in range(args.rooms):
            room = f"ops-{r}"
            for i in range(args.members):
                token = tokens.mint(room=room, role=Role.GUEST, subject=f"{room}-{i}")
                url = f"ws://{HOST}:{node.port}/ws/{room}"
                clients.append(await RoomClient.join(url, token, f"M{i}"))
        homes: list[tuple[float, float, float]] = []
        for c in clients:
            await c.wait_for(lambda c: c.replica.pose_of(c.member) is not None)
            pose = c.replica.pose_of(c.member)
            assert pose is not None
            hx, hy, hz = pose.head.pos
            homes.append((hx / 1000, hy / 1000, hz / 1000))
        for chat in (False, True):
            before = await _calls(client)
            started = time.monotonic()
            stop_at = started + args.seconds
            chats = 0
            while time.monotonic() < stop_at:
                tick_start = time.monotonic()
                t = tick_start - started
                wiggle = 0.002 * (int(t * TICK_HZ) % 10)  # a few millimetres: a head at rest
                for c, home in zip(clients, homes, strict=True):
                    await c.pose((home[0] + wiggle, home[1], home[2]), (0.0, 0.0, 0.0, 1.0))
                if chat and int(t) != int(t - 1 / TICK_HZ):  # once a second per room
                    for c in clients[:: args.members]:
                        await c.send(m.Chat("a line a second"))
                        chats += 1
                await asyncio.sleep(max(0.0, 1 / TICK_HZ - (time.monotonic() - tick_start)))
            window = time.monotonic() - started
            ops = await _calls(client) - before
            per = ops / (window * TICK_HZ) / args.rooms
            what = f"and a chat line a second ({chats})" if chat else "poses only"
            print(
                f"redis commands (those inside scripts included), {args.rooms} rooms of "
                f"{args.members} VR members, {what}: {per:.3f} per tick per room "
                f"({ops} in {window:.1f} s); naive, saving the room every tick: >= 1 "
                f"({1 / per if per else float('inf'):.0f}x more)"
            )
        for c in clients:
            await c.close()
    finally:
        await client.aclose()
        await node.stop()


async def _calls(client: Redis) -> int:
    stats = await client.info("commandstats")
    if os.environ.get("BENCH_SHOW_COMMANDS"):
        print({k: v["calls"] for k, v in stats.items() if isinstance(v, dict)})
    # INFO itself is counted too; it is the measuring, so leave it out.
    return sum(
        int(v["calls"]) for k, v in stats.items() if isinstance(v, dict) and k != "cmdstat_info"
    )


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        proc, port = start_redis(tmp)
        try:
            await wait_redis(port)
            if args.part in ("all", "failover"):
                await failover(args, port, tmp)
            if args.part in ("all", "ops"):
                await redis_ops(args, port, tmp)
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=10, help="failovers to time")
    parser.add_argument("--lease", type=float, default=None, help="default: the node's")
    parser.add_argument("--part", choices=("all", "failover", "ops"), default="all")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
