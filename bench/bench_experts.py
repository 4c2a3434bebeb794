"""How fast experts appear and answer, measured at every member of real rooms over WebSockets.

The server runs as its own process; rooms of one customer and a few guests each; in every
room the customer asks a question (one, two or "all of you" topics) and each member's client
records when the expert entities appear in its replica of the scene and when the answers
arrive. Run twice in one go: with the local brain, and with an OpenAI-compatible endpoint
(a stub in this process) that takes ``--slow-ms`` to answer, as a hosted model would.

The naive baseline is the design where an expert appears with its answer: its latency is
the answer column. Ours shows the expert at once, whatever the brain takes.

Also timed in-process: each stage of the answer pipeline (route, prepare, draft, guard) over
the routing evaluation set.

    .venv/bin/python -m bench.bench_experts [--rooms 10] [--members 4] [--slow-ms 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from avatars.advice import Profile
from avatars.expertise import default_expertise
from avatars.guardrails import guard
from avatars.local_brain import LocalBrain
from avatars.suitability import prepare
from protocol import messages as m
from rooms.roles import Role
from server.auth import TokenAuthority
from simulator.client import RoomClient
from simulator.server_process import HOST, ServerProcess

QUESTIONS = [
    "What do you think of government bonds right now?",
    "Compare my bond fund with a pension insurance plan",
    "我想了解一下定期存款",
    "I want to talk to all of you",
    "美元兑港元的汇率会怎么走？",
    "How should I plan my estate and inheritance tax?",
]
EVAL = Path(__file__).resolve().parent.parent / "avatars" / "data" / "routing_eval.jsonl"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- in-process: the answer pipeline --------------------------------------------------------


def pipeline_timings() -> dict[str, list[float]]:
    x = default_expertise()
    brain = LocalBrain(x.knowledge)
    stages: dict[str, list[float]] = {"route": [], "prepare": [], "draft": [], "guard": []}
    questions = [json.loads(line)["q"] for line in EVAL.read_text("utf-8").splitlines() if line]
    for text in questions:
        t0 = time.perf_counter()
        routing = x.router.route(text)
        t1 = time.perf_counter()
        stages["route"].append((t1 - t0) * 1e6)
        for specialty in routing.specialties:
            t1 = time.perf_counter()
            brief = prepare(text, specialty, Profile(3), x.knowledge, language=routing.language)
            t2 = time.perf_counter()
            draft = brain.draft(brief)
            t3 = time.perf_counter()
            guard(draft, brief)
            t4 = time.perf_counter()
            stages["prepare"].append((t2 - t1) * 1e6)
            stages["draft"].append((t3 - t2) * 1e6)
            stages["guard"].append((t4 - t3) * 1e6)
    return stages


# --- a slow OpenAI-compatible endpoint --------------------------------------------------------


async def slow_brain(delay_s: float) -> tuple[asyncio.Server, int]:
    """Answers every chat completion after ``delay_s`` with a plain, rule-abiding text."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                await asyncio.sleep(delay_s)  # the model thinking: what is being measured
                body = json.dumps(
                    {
                        "choices": [
                            {
                                "message": {
                                    "role": "assistant",
                                    "content": "Here is what our product sheet says.",
                                }
                            }
                        ]
                    }
                ).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    return server, port


# --- live: rooms of real clients --------------------------------------------------------------


def _experts(c: RoomClient) -> set[int]:
    return {e.i for e in c.replica.entities.values() if e.k == "expert"}


def _answers_beyond(n: int) -> Callable[[RoomClient], bool]:
    return lambda c: len(c.of(m.Answer)) > n


async def _watch(
    client: RoomClient, cond: Callable[[RoomClient], bool], started: float, out: list[float]
) -> None:
    await client.wait_for(cond, 30.0)
    out.append((time.perf_counter() - started) * 1000)


async def run_live(rooms: int, members: int, env: dict[str, str], log: Path) -> dict[str, Any]:
    server = ServerProcess(log, "WARNING", None, None, env={"WEALTHROOM_AUDIT_PATH": "", **env})
    await server.start()
    tokens = TokenAuthority(server.secret.encode())
    base = f"ws://{HOST}:{server.port}/ws"
    visible: list[float] = []
    answered: list[float] = []
    try:
        clients: list[list[RoomClient]] = []
        for r in range(rooms):
            room = f"bench-{r}"
            group = []
            for i in range(members):
                role = Role.CUSTOMER if i == 0 else Role.GUEST
                token = tokens.mint(room=room, role=role, subject=f"{room}-{i}", risk=4)
                group.append(await RoomClient.join(f"{base}/{room}", token, f"M{i}"))
            clients.append(group)
        for group in clients:
            await asyncio.gather(*(c.wait_for(lambda c: c.replica.tick >= 0) for c in group))
        waits = []
        for r, group in enumerate(clients):
            question = QUESTIONS[r % len(QUESTIONS)]
            before = len(group[0].of(m.Answer))
            started = time.perf_counter()
            await group[0].send(m.Ask(question))
            for c in group:
                waits.append(_watch(c, lambda c: bool(_experts(c)), started, visible))
            waits.append(_watch(group[0], _answers_beyond(before), started, answered))
        await asyncio.gather(*waits)
        for group in clients:
            for c in group:
                await c.close()
    finally:
        await server.stop()
    return {"visible_ms": visible, "answer_ms": answered}


async def main_async(args: argparse.Namespace) -> None:
    print("== answer pipeline, in-process, over the routing evaluation set (µs per call)")
    print(f"{'stage':<10}{'median':>10}{'p99':>10}{'calls':>8}")
    for stage, values in pipeline_timings().items():
        print(
            f"{stage:<10}{statistics.median(values):>10.1f}{pct(values, 0.99):>10.1f}"
            f"{len(values):>8}"
        )

    stub, port = await slow_brain(args.slow_ms / 1000)
    modes = {
        "local brain": {},
        f"remote brain, {args.slow_ms} ms": {
            "WEALTHROOM_BRAIN_URL": f"http://{HOST}:{port}/v1",
            "WEALTHROOM_BRAIN_MODEL": "stub",
        },
    }
    tick_ms = 1000 / 30
    print(
        f"\n== live: {args.rooms} rooms x {args.members} members, one question per room "
        f"(ms from the question; ticks at 30 Hz = {tick_ms:.1f} ms)"
    )
    print(
        f"{'brain':<26}{'expert visible p50/p99':>24}{'in ticks p99':>14}"
        f"{'answer p50/p99 (naive: expert with answer)':>46}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, env in modes.items():
            res = await run_live(args.rooms, args.members, env, Path(tmp) / "server.log")
            vis, ans = res["visible_ms"], res["answer_ms"]
            print(
                f"{name:<26}{pct(vis, 0.5):>11.1f} / {pct(vis, 0.99):<10.1f}"
                f"{pct(vis, 0.99) / tick_ms:>14.1f}"
                f"{pct(ans, 0.5):>30.1f} / {pct(ans, 0.99):<10.1f}"
            )
    stub.close()
    await stub.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--slow-ms", type=float, default=400.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
