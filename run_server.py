#!/usr/bin/env python3
"""Wealthroom's one entry point.

run_server.py serve                 run the server (embedded mode, demo room open)
run_server.py token --room R --role customer [--layout seminar_room]
                                    mint a room token with this checkout's signing key
run_server.py visit --room demo --name Ann
                                    join a room from the terminal: see who is there, chat
run_server.py render --layout private_room [--out PNG] [--state var/room.snapshot]
                                    draw a room offscreen (software renderer, no GPU)
run_server.py ask --json "Should I buy more bonds?" ["And the risks?" ...] [--risk 3]
                                    ask the experts (several questions: one conversation)
run_server.py ask --audio FILE.wav [--json]
                                    the same, spoken: heard as a microphone is, hands-free
run_server.py advisor-token --name "Ms Chan" --skills bonds,funds --langs en,zh
                                    mint an advisor console token
run_server.py booking-link --subject cust-1 --name "Ann Lee" --room ann-room [--days 7]
                                    a customer's link to book appointments (book.html)
run_server.py enrol --subject demo-customer
                                    enrol a customer's authenticator (TOTP) for step-up
run_server.py audit verify var/audit.jsonl
                                    check the audit log's keyed chain and its checkpoints
run_server.py audit verify-stream --redis redis://... --room R
                                    the same for a room's audit stream in Redis
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import signal
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from avatars.content import ContentError, parse_content
from avatars.expertise import Expertise
from avatars.figures import figures_from_state
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.errors import ProtocolError
from protocol.messages import Direction
from protocol.pose import AvatarPose
from rooms.audit import Verdict
from rooms.roles import Role
from scenes.errors import SceneError
from scenes.layout import known_layouts, load_layout
from scenes.render import render_layout, sample_figures
from server.app import WealthroomServer
from server.audit_file import describe, verify_file
from server.auth import TokenAuthority
from server.cluster.redis_audit import verify_stream
from server.config import Settings
from server.content import read_texts
from server.errors import ServerError
from server.event_loop import loop_name, run_loop
from server.heap import freeze_startup_heap
from server.keys import load_audit_key, load_secret
from server.second_factor import FileEnrolments, provisioning_uri
from server.speech.files import hear_file
from server.speech.results import Heard
from server.speech.setup import make_transcriber
from simulator import cli as simulate_cli
from simulator.client import ClientError, RoomClient
from simulator.inprocess import Spoken, ask_turns, hear_turns

log = logging.getLogger("wealthroom")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        k: v
        for k, v in {
            "host": getattr(args, "host", None),
            "port": getattr(args, "port", None),
            "tick_hz": getattr(args, "tick_hz", None),
            "tls_cert": getattr(args, "tls_cert", None),
            "tls_key": getattr(args, "tls_key", None),
            "redis_url": getattr(args, "redis", None),
            "node_id": getattr(args, "node_id", None),
        }.items()
        if v is not None
    }
    return Settings(**overrides)


def _authority(settings: Settings) -> TokenAuthority:
    return TokenAuthority(
        load_secret(settings),
        max_room_s=settings.max_room_token_s,
        max_console_s=settings.max_console_token_s,
        max_booking_s=settings.max_booking_token_s,
    )


async def _serve(settings: Settings) -> int:
    server = WealthroomServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[object]] = set()

    def reload_content() -> None:
        task: asyncio.Task[object] = loop.create_task(server.services.content.reload())
        reloads.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload_content)
    async with server:
        frozen = freeze_startup_heap()
        log.info("start-up heap frozen: %d objects the collector will not walk", frozen)
        room = settings.demo_room
        mode = (
            f"distributed mode: node {settings.node_id} on Redis"
            if settings.redis_url
            else "embedded mode: in-memory, no Redis"
        )
        print(f"Wealthroom is serving on {server.base_url} ({mode}, {loop_name()} event loop)")
        print(f"  health:  {server.base_url}/healthz    metrics: {server.base_url}/metrics")
        if room:
            token = server.tokens.mint(
                room=room,
                role=Role.CUSTOMER,
                subject="demo-customer",
                name="Demo customer",
                risk=3,  # a balanced profile (C3): what the advisor sees with a page
            )
            console = server.tokens.mint_console(
                subject="demo-advisor",
                name="Ms Chan",
                skills=list(Specialty),
                languages=["en", "zh", "yue"],
            )
            print(f"Demo room '{room}' is open at {server.room_url(room)}")
            print(f"  customer token (1 h): {token}")
            print("  join it from another terminal:")
            print(f"    .venv/bin/python run_server.py visit --room {room} --name Ann --say hello")
            # Tokens ride in the fragment (after #): browsers never send it, so no log sees it.
            print(f"Advisor console (8 h): {server.base_url}/console.html#token={console}")
            booking = server.tokens.mint_booking(
                subject="demo-customer", name="Demo customer", room=room
            )
            print(f"Book an appointment (7 days): {server.base_url}/book.html#token={booking}")
        print("Press Ctrl-C to stop.")
        if room:
            print("Open the demo room in a browser:")
            print(f"  {server.base_url}/room.html#room={room}&token={token}")
        sys.stdout.flush()
        await stop.wait()
        print("stopping: closing rooms", flush=True)
    return 0


def _token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = _authority(settings).mint(
        room=args.room,
        role=Role(args.role),
        subject=args.subject or f"{args.role}-{uuid.uuid4().hex[:8]}",
        name=args.name,
        ttl_s=args.ttl if args.ttl is not None else settings.token_ttl_s,
        risk=args.risk,
        language=args.lang,
        layout=args.layout,
    )
    print(token)
    return 0


def _advisor_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = _authority(settings).mint_console(
        subject=args.subject or f"advisor-{uuid.uuid4().hex[:8]}",
        name=args.name,
        skills=[Specialty(s) for s in _csv(args.skills)],
        languages=_csv(args.langs),
        customers=_csv(args.customers),
    )
    print(token)
    return 0


def _booking_link(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = _authority(settings).mint_booking(
        subject=args.subject,
        name=args.name,
        room=args.room,
        ttl_s=args.days * 24 * 3600,
        language=args.lang,
    )
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    print(f"{base.rstrip('/')}/book.html#token={token}")
    return 0


def _enrol(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.totp_path is None:
        print("error: no totp_path configured; enrolments would be lost", file=sys.stderr)
        return 2
    secret = FileEnrolments(settings.totp_path).enrol(args.subject)
    print(f"enrolled {args.subject} in {settings.totp_path}")
    print(f"  secret: {secret}")
    print(f"  authenticator URI (show as a QR code): {provisioning_uri(secret, args.subject)}")
    return 0


async def _ask(args: argparse.Namespace) -> int:
    # The bank's content as a server started here would serve it (WEALTHROOM_CONTENT_DIR).
    expertise = parse_content(read_texts(Settings().content_dir))
    if args.audio is not None:
        turns = await _ask_by_voice(args, expertise)
    elif args.questions:
        turns = await ask_turns(
            args.questions, risk=args.risk, language=args.lang, expertise=expertise
        )
    else:
        print("ask: give questions, or --audio FILE", file=sys.stderr)
        return 2
    if args.json:
        for turn in turns:  # one object per turn, one per line
            print(json.dumps(turn, ensure_ascii=False))
        return 0
    for index, result in enumerate(turns):
        if (heard := result.get("heard")) is not None:
            print(
                ("\n" if index else "") + f"heard ({heard['st']}, {heard['conf']:.2f}): "
                f"{heard['text'] or '-'}"
            )
            if result["question"] is None:
                continue
        elif len(turns) > 1:
            print(("\n" if index else "") + f"> {result['question']}")
        print(f"routed to: {', '.join(result['specialties']) or '(no specialty)'}")
        for answer in result["answers"]:
            who = answer["expert"]["name"] if answer["expert"] else "Concierge"
            print(f"\n[{answer['label']}] {who} ({answer['specialty'] or 'general'}):")
            print(f"  {answer['text']}")
            if answer["risk_class"]:
                print(f"  risk class: {answer['risk_class']}")
            if answer["handoff"]:
                print(f"  -> a human advisor takes over: {answer['reason']}")
    return 0


async def _ask_by_voice(args: argparse.Namespace, expertise: Expertise) -> list[dict[str, Any]]:
    """The file's utterances through the server's recogniser, then the room, hands-free."""
    language = args.lang or "en"
    heard = await hear_file(Path(args.audio), make_transcriber(Settings()), language)
    spoken = [
        Spoken(t.text, t.confidence, t.language, h.utterance.cut)
        if isinstance(t := h.transcript, Heard)
        else Spoken("", 0.0, t.language, h.utterance.cut, typed=True)
        for h in heard
    ]
    return await hear_turns(spoken, risk=args.risk, language=args.lang, expertise=expertise)


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


async def _visit(args: argparse.Namespace) -> int:
    settings = _settings(args)
    token = args.token or _authority(settings).mint(
        room=args.room,
        role=Role(args.role),
        subject=f"visit-{uuid.uuid4().hex[:8]}",
        name=args.name,
        risk=args.risk,
    )
    url = args.url or f"ws://{settings.host}:{settings.port}/ws/{args.room}"
    try:
        client = await RoomClient.join(url, token, args.name)
    except (ClientError, OSError) as exc:
        print(f"could not join {url}: {exc}", file=sys.stderr)
        return 1
    print(f"joined {client.member} in room {args.room} as {args.name}")
    await client.wait_for(lambda c: c.replica.tick >= 0)
    for ent in client.replica.entities.values():
        head = AvatarPose.unpack(ent.x).head.pos if ent.x else None
        where = f"in seat {ent.s}" if ent.s else f"standing at {head} mm"
        print(_printable(f"  in the room: {ent.n} ({ent.r}), {where}"))
    if args.say:
        await client.chat(args.say)
    if args.ask:
        await client.send(m.Ask(args.ask))
    shown = 0
    deadline = time.monotonic() + args.seconds
    with contextlib.suppress(ClientError):
        while time.monotonic() < deadline and not client.closed:
            await client.wait_for(_news_after(shown), deadline - time.monotonic())
            for msg in client.reliable[shown:]:
                print(f"  [{msg.seq}] {_describe(msg)}")
            shown = len(client.reliable)
    if args.save_state:
        snapshot = encode(client.replica.to_snapshot())
        saved = Path(args.save_state)
        saved.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(saved.write_bytes, snapshot)
        print(
            f"  room state saved to {args.save_state} (draw it: render --state {args.save_state})"
        )
    await client.leave()
    return 0


def _render(args: argparse.Namespace) -> int:
    layout = load_layout(args.layout)
    figures = []
    if args.state:
        frame = decode(Path(args.state).read_bytes(), Direction.SERVER)
        if not isinstance(frame, m.Snapshot):
            print(
                f"error: {args.state} holds a {frame.TYPE} frame, not a snapshot", file=sys.stderr
            )
            return 2
        figures = figures_from_state(frame.ents)
    elif args.people:
        figures = sample_figures(layout)
    started = time.perf_counter()
    out = render_layout(
        layout.name,
        args.out or Path("var") / "render" / f"{layout.name}.png",
        width=args.width,
        height=args.height,
        avatars=figures,
        supersample=args.supersample,
        charts=args.charts,
    )
    took = time.perf_counter() - started
    print(f"wrote {out} ({args.width}x{args.height}, {len(figures)} avatars, {took:.2f} s)")
    return 0


async def _audit_stream(args: argparse.Namespace, key: bytes) -> int:
    client = Redis.from_url(args.redis)
    try:
        verdict = await verify_stream(client, key, args.room, prefix=args.prefix)
    finally:
        await client.aclose()
    where = f"audit stream of room {args.room} ({args.prefix}audit:{args.room})"
    return _verdict(verdict, where, lines=False)


def _verdict(verdict: Verdict, where: str, *, lines: bool) -> int:
    print(describe(verdict, where, lines=lines), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def _audit(args: argparse.Namespace) -> int:
    settings = Settings(**({"audit_key_file": args.key_file} if args.key_file else {}))
    key = load_audit_key(settings, create=False)
    if args.audit_command == "verify-stream":
        return asyncio.run(_audit_stream(args, key))
    path = Path(args.path)
    if not path.is_file():
        print(f"error: no audit log at {path}", file=sys.stderr)
        return 2
    return _verdict(verify_file(path, key), str(path), lines=True)


def _port_taken(settings: Settings) -> str:
    port = settings.port
    other = port + 1 if port < 65535 else port - 1
    return (
        f"error: port {port} on {settings.host} is already in use (is another Wealthroom "
        f"still running?).\n  Stop it, or serve on another port: run_server.py serve "
        f"--port {other}  (or set WEALTHROOM_PORT={other})"
    )


def _news_after(shown: int) -> Callable[[RoomClient], bool]:
    return lambda c: len(c.reliable) > shown or c.closed


def _printable(text: str) -> str:
    """``text`` safe for a terminal: control and format characters (escape sequences, bidi
    overrides, newlines) shown as escapes, so a member's chat cannot drive the viewer's
    terminal or forge a line of its own."""
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else ch.encode("unicode_escape").decode()
        for ch in text
    )


def _describe(msg: m.Message) -> str:
    return _printable(_described(msg))


def _described(msg: m.Message) -> str:
    if isinstance(msg, m.ChatPosted):
        return f"{msg.name}: {msg.text}"
    if isinstance(msg, m.Joined):
        return f"{msg.name} ({msg.role}) joined"
    if isinstance(msg, m.Left):
        return f"member {msg.member} left ({msg.reason})"
    if isinstance(msg, m.Asked):
        return f"{msg.name} asked: {msg.text}"
    if isinstance(msg, m.ExpertCame):
        return f"[{msg.label}] {msg.name}, {msg.sp} expert, {msg.st}" + (
            f" ({msg.why})" if msg.why else ""
        )
    if isinstance(msg, m.Answer):
        return f"[{msg.label}] {msg.sp or 'concierge'}: {msg.text}"
    if isinstance(msg, m.Handoff):
        who = f" {msg.advisor}" if msg.advisor else ""
        return f"advisor{who}: {msg.st} ({msg.why})"
    if isinstance(msg, m.Presented):
        return f"on screen {msg.screen}: {msg.title or '(cleared)'}"
    return msg.TYPE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_server.py", description=__doc__.split("\n")[0])
    p.add_argument("--log-level", default="INFO")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--tick-hz", type=int, dest="tick_hz")
    serve.add_argument("--tls-cert", dest="tls_cert", help="PEM certificate: serve https/wss")
    serve.add_argument("--tls-key", dest="tls_key", help="PEM private key for --tls-cert")
    serve.add_argument("--redis", help="redis://host:port/db: share rooms, advisors and pages")
    serve.add_argument("--node-id", dest="node_id", help="this node's name (with --redis)")

    token = sub.add_parser("token", help="mint a room token")
    token.add_argument("--room", required=True)
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--name", help="display name carried in the token")
    token.add_argument("--subject", help="user id (default: random)")
    token.add_argument("--ttl", type=int, help="lifetime in seconds (default from settings)")
    token.add_argument("--risk", type=int, choices=range(1, 6), help="risk profile C1-C5")
    token.add_argument("--lang", choices=["en", "zh", "yue"], help="preferred language")
    token.add_argument(
        "--layout",
        choices=sorted(known_layouts()),
        help="the room's layout, if the token opens it (default: the server's)",
    )

    adv = sub.add_parser("advisor-token", help="mint an advisor console token")
    adv.add_argument("--name", required=True)
    adv.add_argument("--subject", help="advisor id (default: random)")
    adv.add_argument("--skills", default=",".join(s.value for s in Specialty))
    adv.add_argument("--langs", default="en,zh,yue")
    adv.add_argument("--customers", help="comma-separated subjects of assigned customers")

    link = sub.add_parser("booking-link", help="mint a customer's link to book appointments")
    link.add_argument("--subject", required=True, help="the customer's id")
    link.add_argument("--name", required=True, help="the customer's display name")
    link.add_argument("--room", required=True, help="the room their appointments open in")
    link.add_argument("--days", type=float, default=7.0, help="how long the link works (max 14)")
    link.add_argument("--lang", choices=["en", "zh", "yue"], help="the customer's language")

    enrol = sub.add_parser("enrol", help="enrol a customer's authenticator for step-up")
    enrol.add_argument("--subject", required=True)

    ask = sub.add_parser(
        "ask", help="ask the experts one question, or several as one conversation (no server)"
    )
    ask.add_argument("questions", nargs="*", metavar="question", help="the turns, in order")
    ask.add_argument(
        "--audio", metavar="FILE.wav", help="speak the questions: a recording, heard hands-free"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object per turn a line")
    ask.add_argument("--risk", type=int, choices=range(1, 6), help="customer's profile C1-C5")
    ask.add_argument("--lang", choices=["en", "zh", "yue"], help="answer in this language")

    visit = sub.add_parser("visit", help="join a room from the terminal")
    visit.add_argument("--room", default="demo")
    visit.add_argument("--name", default="Visitor")
    visit.add_argument("--role", default="guest", choices=[r.value for r in Role])
    visit.add_argument("--token", help="use this token instead of minting one")
    visit.add_argument("--url", help="room WebSocket URL (default from settings)")
    visit.add_argument("--say", help="chat message to send after joining")
    visit.add_argument("--ask", help="question for the experts, asked after joining")
    visit.add_argument("--risk", type=int, choices=range(1, 6), help="risk profile C1-C5")
    visit.add_argument("--seconds", type=float, default=5.0, help="how long to stay")
    visit.add_argument(
        "--save-state",
        nargs="?",
        const="var/room.snapshot",
        help="write the room as a snapshot frame to this file (default var/room.snapshot)",
    )
    visit.add_argument("--host")
    visit.add_argument("--port", type=int)

    audit = sub.add_parser("audit", help="work with the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_sub.add_parser(
        "verify", help="check the log's chain and hold it to its checkpoints"
    )
    audit_verify.add_argument("path")
    audit_stream = audit_sub.add_parser(
        "verify-stream", help="check a room's audit stream in Redis (distributed mode)"
    )
    audit_stream.add_argument("--redis", required=True, help="redis://host:port/db")
    audit_stream.add_argument("--room", required=True)
    audit_stream.add_argument(
        "--prefix", default="wr:", help="key prefix (WEALTHROOM_REDIS_PREFIX)"
    )
    for verifier in (audit_verify, audit_stream):
        verifier.add_argument(
            "--key-file", help="the audit key (default WEALTHROOM_AUDIT_KEY, or var/audit-key)"
        )

    render = sub.add_parser("render", help="draw a room layout offscreen to PNG")
    render.add_argument("--layout", default="private_room")
    render.add_argument("--out", help="the PNG to write (default var/render/LAYOUT.png)")
    render.add_argument("--state", help="a snapshot frame (from visit --save-state) to draw")
    render.add_argument("--people", action="store_true", help="draw sample people instead")
    render.add_argument("--charts", action="store_true", help="illustrative charts on screens")
    render.add_argument("--width", type=int, default=1280)
    render.add_argument("--height", type=int, default=720)
    render.add_argument("--supersample", type=int, default=2, help="1..4, smooths edges")

    simulate_cli.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per connection opened and closed drowns what matters; our own gateway logs
    # refusals, and /metrics counts the rest. The retrieval index says when it is built.
    for noisy in ("websockets", "bm25s"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        if args.command == "serve":
            settings = _settings(args)
            try:
                return run_loop(_serve(settings), settings.event_loop)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                print(_port_taken(settings), file=sys.stderr)
                return 2
        if args.command == "token":
            return _token(args)
        if args.command == "advisor-token":
            return _advisor_token(args)
        if args.command == "booking-link":
            return _booking_link(args)
        if args.command == "enrol":
            return _enrol(args)
        if args.command == "ask":
            return asyncio.run(_ask(args))
        if args.command == "visit":
            return asyncio.run(_visit(args))
        if args.command == "render":
            return _render(args)
        if args.command == "audit":
            return _audit(args)
        if args.command == "simulate":
            return simulate_cli.main(
                args, minter=TokenAuthority, local_secret=lambda: load_secret(Settings())
            )
    except (ServerError, SceneError, ProtocolError, ContentError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
