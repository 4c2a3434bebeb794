"""The QA simulator: scenarios in-process and over real sockets, and the verdict's teeth."""

from __future__ import annotations

import ast
import asyncio
import json
import math
import random
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
from panda3d.core import Filename, PNMImage

import run_server
from avatars.placement import MAX_SPEED_MM_S
from avatars.pose import MAX_REACH_MM
from rooms.roles import Role
from scenes.layout import load_layout
from server.app import WealthroomServer
from simulator import plot
from simulator import scenario as sc
from simulator.load import disturbed, judge
from simulator.load_level import LevelResult
from simulator.motion import Motion, wander_target
from simulator.report import summary, to_json, to_markdown
from simulator.runner import RunResult
from simulator.scenario import (
    SCENARIOS_DIR,
    ScenarioError,
    available,
    known_layouts,
    load_scenario,
    parse_scenario,
    thin_bots,
)
from simulator.simulate import run_in_process, run_over_sockets
from simulator.steps.registry import HANDLERS, UnknownStep, handler_for
from simulator.verdict import (
    MIN_VIEW_FRAMES,
    Ledger,
    MediaSession,
    Verdict,
    View,
    check_agreement,
    check_hearing,
    check_ledger,
    check_media,
    compare_views,
)
from tests.conftest import Mint

ROOT = Path(__file__).resolve().parents[2]


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCENARIOS_DIR / f"{name}.json").read_text())
    return data


# --- every scenario, in-process --------------------------------------------------------------


# Thin-client bots need WebRTC and a server: their scenarios run over sockets only (below).
IN_PROCESS = [n for n in available() if not thin_bots(load_scenario(n))]


@pytest.mark.parametrize("name", IN_PROCESS)
async def test_each_scenario_passes_in_process(name: str) -> None:
    result = await run_in_process(load_scenario(name))
    assert result.ok, "\n".join(str(f) for f in result.verdict.findings)
    assert result.checkpoints
    assert all(c.converged for c in result.checkpoints)
    assert all(c.compared_with == "the server" for c in result.checkpoints)
    assert all(r.status == "ok" for r in result.steps)
    bots = result.world.bots.values()
    assert all(b.ledger.received > 0 for b in bots if b.connections)
    assert result.world.series.latencies, "no pose ever reached a peer"


async def test_an_in_process_report_gives_the_rooms_cpu() -> None:
    result = await run_in_process(load_scenario("private_visit"))
    doc = to_json(result)
    assert doc["cpu"]["mean_pct"] is not None
    assert doc["cpu"]["peak_pct"] >= doc["cpu"]["mean_pct"] > 0
    assert f"- CPU: {doc['cpu']['mean_pct']:.0f}% of a core on average" in to_markdown(doc)


async def test_scenarios_cover_what_qa_asked_for() -> None:
    assert {"private_visit", "seminar_50", "lobby_rush", "network_trouble"} <= set(available())
    seminar = load_scenario("seminar_50")
    assert seminar.layout == "seminar_room"
    assert sum(1 for b in seminar.bots if b.role == "guest") == 50
    trouble = load_scenario("network_trouble")
    kinds = {type(s).__name__ for s in trouble.steps}
    assert {"Drop", "Reconnect", "Delay", "Stall"} <= kinds


async def test_an_in_process_run_is_deterministic() -> None:
    a = await run_in_process(load_scenario("network_trouble"))
    b = await run_in_process(load_scenario("network_trouble"))
    assert [c.digest for c in a.checkpoints] == [c.digest for c in b.checkpoints]
    assert a.world.series.latencies == b.world.series.latencies


# --- over real WebSockets --------------------------------------------------------------------


async def test_the_private_visit_passes_over_real_websockets(server: WealthroomServer) -> None:
    result = await run_over_sockets(
        load_scenario("private_visit"), url=server.base_url, tokens=server.tokens
    )
    assert result.ok, "\n".join(str(f) for f in result.verdict.findings)
    assert result.mode == "sockets"
    # Compared with the server's own scene through the QA endpoint, not just bot to bot.
    assert [c.compared_with for c in result.checkpoints] == ["the server"] * 4
    ann = result.world.bots["Ann Lee"]
    assert ann.spec.vr
    assert 72 <= ann.hz <= 90
    assert ann.poses_sent > 100
    assert ann.max_speed < MAX_SPEED_MM_S / 1000
    # A server the simulator did not start is not a process whose CPU it can read.
    assert "- CPU: not measured (remote server)\n" in to_markdown(to_json(result))


async def test_simulate_starts_its_own_server_process_and_writes_a_report(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        "simulate",
        "--scenario",
        "private_visit",
        "--report",
        str(tmp_path),
        "--snapshot",
        "Ben Lee",
        "--quiet",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, out.decode() + err.decode()
    assert "PASSED" in out.decode()
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["verdict"]["ok"]
    assert doc["mode"] == "sockets"
    assert doc["cpu"]["measures"].startswith("server process CPU")
    assert doc["latency_ms"]["samples"] > 0
    for name in ("latency.png", "bandwidth.png", "cpu.png", "report.md"):
        assert (tmp_path / name).is_file(), name
    assert re.search(
        r"^- CPU: \d+% of a core on average, peak \d+% \(server process CPU",
        (tmp_path / "report.md").read_text(),
        re.MULTILINE,
    )
    shots = sorted((tmp_path / "snapshots").glob("*.png"))
    assert len(shots) == 4  # Ben is in the room at all four checkpoints
    image = PNMImage()
    assert image.read(Filename.from_os_specific(str(shots[-1])))
    assert (image.get_x_size(), image.get_y_size()) == (960, 540)


# --- thin-client bots: WebRTC media over a real server ---------------------------------------


def _holds(result: RunResult) -> None:
    """Everything but the limits on speed (a freeze, a slow first picture), which the
    server-drawn video on a machine busy with other work can miss: those are printed, and
    reported by every QA run (``simulate --report``), not asserted here."""
    assert result.verdict.faults == [], "\n".join(str(f) for f in result.verdict.findings)
    for finding in result.verdict.findings:
        print(f"not asserted: {finding}")


def _thin_scenario() -> dict[str, Any]:
    """One thin guest beside a desktop customer; it drops and comes back once."""
    return {
        "scenario": "thin_one",
        "title": "One thin client",
        "layout": "private_room",
        "room": "sim-thin-one",
        "seed": 5,
        "within_s": 8,
        "bots": [
            {"name": "Ann Lee", "role": "customer"},
            {"name": "Tom Lee", "role": "guest", "device": "thin"},
        ],
        "steps": [
            {"do": "join", "bots": ["Ann Lee", "Tom Lee"]},
            {"do": "look_around", "bots": ["Ann Lee", "Tom Lee"], "seconds": 2},
            {"do": "checkpoint", "name": "arrived"},
            {"do": "drop", "bot": "Tom Lee"},
            {"do": "reconnect", "bot": "Tom Lee"},
            {"do": "look_around", "bot": "Tom Lee", "seconds": 1.5},
            {"do": "checkpoint", "name": "back"},
            {"do": "leave", "bot": "Tom Lee"},
            {"do": "wait_for", "bot": "Ann Lee", "until": {"gone": "Tom Lee"}},
        ],
    }


async def test_a_thin_bot_sees_its_view_and_sends_poses_on_the_data_channel(
    server: WealthroomServer,
) -> None:
    scenario = parse_scenario(_thin_scenario(), source="thin_one.json", layouts=known_layouts())
    result = await run_over_sockets(scenario, url=server.base_url, tokens=server.tokens)
    _holds(result)
    tom = result.world.bots["Tom Lee"]
    assert tom.media is None, "every peer is closed after the run"
    assert [s.connection for s in tom.media_sessions] == [1, 2]  # one peer per connection
    for session in tom.media_sessions:
        assert session.view_frames > 0
        assert session.first_frame_s is not None
        assert session.speaks, "a guest may speak: it sends its microphone"
        assert session.poses_on_channel > 0
    assert "media -> first picture" in result.timings
    # Its poses reached the room over the data channel: the customer saw it look around.
    assert result.world.series.latencies

    doc = to_json(result)
    bots = {b["name"]: b for b in doc["bots"]}
    assert "media" not in bots["Ann Lee"], "a desktop bot has no media"
    media = bots["Tom Lee"]["media"]
    assert media["view_frames"] >= MIN_VIEW_FRAMES
    assert media["view_sizes"] == ["640x360"]
    assert media["first_frame_s"] > 0
    assert media["poses_on_channel"] > 0
    assert len(media["sessions"]) == 2
    assert "  thin Tom Lee: view " in summary(doc)
    assert "## Thin clients" in to_markdown(doc)


async def test_the_thin_clients_scenario_passes_and_thin_bots_hear_each_other(
    server: WealthroomServer,
) -> None:
    result = await run_over_sockets(
        load_scenario("thin_clients"), url=server.base_url, tokens=server.tokens
    )
    _holds(result)
    mia, leo = (result.world.bots[n] for n in ("Mia Wong", "Leo Wong"))
    (heard_by_mia,) = mia.media_sessions
    (heard_by_leo,) = leo.media_sessions
    assert heard_by_mia.loud_frames[f"m{heard_by_leo.member}.a"] > 0
    assert heard_by_leo.loud_frames[f"m{heard_by_mia.member}.a"] > 0
    experts = [src for src in heard_by_mia.audio_frames if src.startswith("e")]
    assert experts, "the bond expert's answer is heard"


async def test_thin_bots_are_refused_in_process_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thin.json"
    path.write_text(json.dumps(_thin_scenario()))
    with pytest.raises(ScenarioError, match="Tom Lee: thin-client bots receive the room as WebRTC"):
        await run_in_process(load_scenario(path))
    code = await asyncio.to_thread(
        run_server.main, ["simulate", "--scenario", str(path), "--in-process", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "error: thin.json: Tom Lee: thin-client bots" in err
    assert "in-process run (no sockets, no server) cannot carry" in err
    assert "run the scenario over sockets (without --in-process)" in err


def _session(**kw: Any) -> MediaSession:
    base: dict[str, Any] = {
        "connection": 1,
        "member": 1,
        "opened_at": 1.0,
        "ended_at": 20.0,
        "view_frames": 250,
        "first_frame_s": 0.4,
        "longest_freeze_s": 0.2,
        "freezes": 0,
        "speaks": True,
    }
    base.update(kw)
    return MediaSession(**base)


def test_the_media_check_wants_pictures_soon_and_no_long_freeze() -> None:
    assert check_media("Tom", [_session()]) == []
    assert check_media("Tom", []) == [], "a thin bot that never got in is judged elsewhere"
    few = check_media("Tom", [_session(view_frames=3)])
    assert [f.message for f in few] == ["Tom received 3 pictures of its view; expected at least 15"]
    frozen = check_media("Tom", [_session(longest_freeze_s=2.5, freezes=1)])
    assert [f.message for f in frozen] == ["Tom's view froze for 2.50 s (limit 1 s)"]
    assert all(f.kind == "media" for f in few + frozen)
    never = check_media(
        "Tom", [_session(), _session(connection=2, view_frames=0, first_frame_s=None)]
    )
    assert [f.message for f in never] == ["Tom never saw its view on connection 2 (19.0 s)"]
    slow = check_media("Tom", [_session(first_frame_s=12.0)])
    assert [f.message for f in slow] == [
        "Tom's first picture came 12.0 s after asking (limit 10 s)"
    ]
    # Too few pictures or none is wrong however busy the machine; a freeze or a slow first
    # picture is a limit on speed, which a QA run fails on and a test only reports.
    assert [f.timing for f in few + never + frozen + slow] == [False, False, True, True]
    verdict = Verdict(few + frozen)
    assert verdict.faults == few
    assert not verdict.ok
    # A connection too short to have connected is not blamed for having no picture.
    brief = _session(connection=2, ended_at=3.0, view_frames=0, first_frame_s=None)
    assert check_media("Tom", [_session(), brief]) == []

    heard = _session(member=2, audio_frames={"m1.a": 300})
    deaf = _session(member=2, audio_frames={})
    assert check_hearing({"Mia": [_session(audio_frames={"m2.a": 300})], "Leo": [heard]}) == []
    (finding,) = check_hearing({"Mia": [_session(audio_frames={"m2.a": 300})], "Leo": [deaf]})
    assert finding.message == "Leo never heard Mia's microphone in 18.6 s connected together"
    silent = _session(speaks=False, audio_frames={"m2.a": 300})  # Mia sends no microphone
    assert check_hearing({"Mia": [silent], "Leo": [deaf]}) == []


# --- the verdict has teeth -------------------------------------------------------------------


async def test_a_broken_expectation_fails_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _raw("private_visit")
    ask = next(s for s in raw["steps"] if s["do"] == "ask")
    ask["expect"] = {"experts": ["bonds"]}  # a stock question brings the stock expert
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(raw))
    code = await asyncio.to_thread(
        run_server.main, ["simulate", "--scenario", str(path), "--in-process", "--quiet"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED" in out
    assert (
        "expected a bonds expert for 'What do you think about Tencent shares?'; the question "
        "was routed to stocks and these experts came: stocks" in out
    )


async def test_a_bot_that_misses_a_reliable_message_is_caught() -> None:
    result = await run_in_process(load_scenario("private_visit"), lose={"Ben Lee": {6}})
    assert not result.ok
    reliable = [f.message for f in result.verdict.findings if f.kind == "reliable"]
    assert len(reliable) == 1
    assert reliable[0].startswith("Ben Lee: missed seq ")
    assert "Ann Lee" not in reliable[0]  # nobody else is blamed


async def test_a_reconnect_without_since_is_a_gap() -> None:
    raw = _raw("network_trouble")
    for step in raw["steps"]:
        if step["do"] == "reconnect" and step["bot"] == "Cleo Lee":
            step["since"] = False
    scenario = parse_scenario(raw, source="nosince.json", layouts=known_layouts())
    result = await run_in_process(scenario)
    assert any(
        f.kind == "reliable" and f.message.startswith("Cleo Lee: missed seq")
        for f in result.verdict.findings
    )


def test_the_ledger_checks_exactly_once_in_order_across_reconnects() -> None:
    ledger = Ledger()
    ledger.begin_visit()
    ledger.begin_connection(None)
    ledger.record("presented", 3)  # a screen's catch-up before our own arrival
    for seq in (8, 9, 10):
        ledger.record("chat", seq, own_join=seq == 8)
    ledger.begin_connection(10)
    for seq in (11, 12, 13):
        ledger.record("chat", seq, own_join=seq == 13)
    assert check_ledger("Ann", ledger) == []
    assert ledger.last_seq == 13
    assert ledger.received == 6

    ledger.record("chat", 13)
    ledger.record("chat", 15)
    ledger.record("chat", 14)
    messages = [f.message for f in check_ledger("Ann", ledger)]
    assert messages == [
        "Ann: seq 13 (chat) arrived twice (connection 2)",
        "Ann: missed seq 14 (got 13, then 15 chat on connection 2)",
        "Ann: seq 14 (chat) arrived out of order, after 15",
    ]
    ledger.begin_visit()  # left and came back later: a fresh stream
    ledger.begin_connection(None)
    ledger.record("joined", 30, own_join=True)
    assert len(check_ledger("Ann", ledger)) == 3


def test_views_and_agreement() -> None:
    server = View("d1", {1: "a", 2: "b"}, 5, {1: "avatar 'Ann'", 2: "expert 'Olivia'"})
    same = View("d1", {1: "a", 2: "b"}, 5)
    behind = View("d0", {1: "a"}, 4)
    assert compare_views(server, {"Ben": same}) == []
    assert compare_views(server, {"Ben": behind}) == [
        "Ben's scene differs from the server's: expert 'Olivia' missing",
        "Ben has seen up to seq 4; the room is at 5",
    ]
    assert compare_views(None, {"Ann": same, "Ben": behind})[0].startswith(
        "Ben's scene differs from Ann's"
    )
    assert check_agreement({"Ann": {1: "x"}, "Ben": {1: "y"}})[0].message.startswith(
        "seq 1 differs between Ann and Ben"
    )


# --- scenario files are checked before anything runs ----------------------------------------


def _mutated(change: Any) -> dict[str, Any]:
    raw = _raw("private_visit")
    change(raw)
    return raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(layoutt="x"), "unknown key 'layoutt'"),
        (lambda r: r.update(layout="castle"), "layout: no layout 'castle'"),
        (lambda r: r.update(room="a room"), "room: a room id is 1-48 letters"),
        (lambda r: r["bots"][0].update(role="king"), "bots[0]: role: expected one of"),
        (
            lambda r: r["bots"].append({"name": "Eve", "role": "observer", "device": "thin"}),
            "bots[3]: device: an observer has no avatar",
        ),
        (
            lambda r: (
                r["bots"][1].update(device="thin"),
                r["steps"].insert(
                    2, {"do": "churn", "bot": "Ben Lee", "seconds": 2, "stay_s": [1, 2]}
                ),
            ),
            'steps[2] ("churn"): Ben Lee is a thin client',
        ),
        (
            lambda r: r["bots"].append(
                {"name": "Viewer {n}", "count": 4, "group": "v", "role": "guest", "device": "thin"}
            ),
            "bots: 4 thin-client bots; at most 3",
        ),
        (lambda r: r["bots"][1].update(count=3), 'with "count", the name needs "{n}"'),
        (lambda r: r["bots"][1].update(device="vr", hz=200), "hz: expected a number in 72..90"),
        (lambda r: r["steps"][5].pop("text"), 'steps[5] ("ask"): text: missing'),
        (
            lambda r: r["steps"][5].update(text=42),
            "text: expected a string of 1-500 characters, got 42",
        ),
        (
            lambda r: r["steps"][5].update(expect={"experts": ["stock"]}),
            "experts: expected a list of",
        ),
        (
            lambda r: r["steps"][6].update(until={"expert": "stocks", "member": "x"}),
            "expected one condition",
        ),
        (lambda r: r["steps"][2].update(bot="Zed"), "no bot or group called 'Zed'"),
        (
            lambda r: r["steps"].insert(0, {"do": "ask", "bot": "Ann Lee", "text": "hi"}),
            "Ann Lee is not in the room",
        ),
        (
            lambda r: r["steps"].insert(
                3, {"do": "present", "bot": "Ben Lee", "title": "t", "labels": [], "values": []}
            ),
            "Ben Lee is a guest, who may not present",
        ),
        (lambda r: r["steps"].append({"do": "fly", "bot": "Ann Lee"}), "do: expected one of join"),
        (
            lambda r: r["steps"].append({"do": "reconnect", "bot": "Ben Lee"}),
            "Ben Lee was not dropped",
        ),
    ],
)
def test_scenario_files_are_validated(change: Any, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_mutated(change), source="visit.json", layouts=known_layouts())
    assert message in str(info.value)
    assert str(info.value).startswith("visit.json: ")


def test_a_scenario_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"scenario": "x",\n "title": }\n')
    with pytest.raises(ScenarioError, match=r"bad.json: not valid JSON: line 2 column"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="no scenario 'nope' \\(known: lobby_rush"):
        load_scenario("nope")
    assert run_server.main(["simulate", "--scenario", str(path), "--in-process"]) == 2


# --- the server's QA endpoint ----------------------------------------------------------------


async def test_the_qa_endpoint_shows_the_room_only_to_bot_and_observer_tokens(
    server: WealthroomServer, mint: Mint
) -> None:
    import httpx

    from simulator.client import RoomClient

    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    await ann.wait_for(lambda c: c.replica.tick >= 0)
    url = f"{server.base_url}/qa/rooms/demo"
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 401
        bad = await http.get(url, headers={"Authorization": "Bearer nonsense"})
        assert bad.status_code == 401
        customer = await http.get(url, headers={"Authorization": f"Bearer {mint()}"})
        assert customer.status_code == 403
        other = mint(room="elsewhere", role=Role.BOT)
        assert (
            await http.get(url, headers={"Authorization": f"Bearer {other}"})
        ).status_code == 401
        ok = await http.get(url, headers={"Authorization": f"Bearer {mint(role=Role.OBSERVER)}"})
        missing = await http.get(
            f"{server.base_url}/qa/rooms/closed",
            headers={"Authorization": f"Bearer {mint(room='closed', role=Role.BOT)}"},
        )
    assert ok.status_code == 200
    assert missing.status_code == 404
    view = ok.json()
    room = server.rooms["demo"].room
    assert view["digest"] == room.scene.digest()
    assert view["seq"] == room.seq
    assert view["layout"] == "private_room"
    assert len(view["entities"]) == 1
    await ann.close()


# --- motion, plots, load verdicts (pure) ----------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_vr_motion_is_smooth_within_reach_and_never_too_fast(seed: int) -> None:
    rng = random.Random(seed)
    layout = load_layout("branch_lobby")
    motion = Motion((0.0, 1.6, 0.0), 0.3, vr=True, seated=False, rng=rng, now=0.0)
    motion.look_around(1.0, 2.0)
    arrive = motion.walk_to(3.0, wander_target(layout, (0.0, 0.0), rng))
    dt = 1 / 90
    prev = motion.pose_at(0.0)
    fastest = 0.0
    for i in range(1, int((arrive + 2) / dt)):
        s = motion.pose_at(i * dt)
        assert s.lh is not None
        assert s.rh is not None
        for hand in (s.lh, s.rh):
            assert math.dist(hand[:3], s.p) * 1000 < MAX_REACH_MM * 0.8
        step = math.dist(s.p, prev.p)
        assert step < 0.03, "a jump between two frames"
        fastest = max(fastest, math.hypot(s.p[0] - prev.p[0], s.p[2] - prev.p[2]) / dt)
        prev = s
    assert 0.5 < fastest < MAX_SPEED_MM_S / 1000 / 1.5
    held = motion.pose_at(10.0)
    motion.hold(10.0)
    assert motion.pose_at(12.0) == held
    motion.release(12.0)
    assert math.dist(motion.pose_at(12.0 + dt).p, held.p) < 0.01


def test_plots_are_valid_pngs(tmp_path: Path) -> None:
    path = plot.histogram(
        [0.01 * i for i in range(100)], tmp_path / "h.png", title="t", xlabel="ms"
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 420)
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4 : idat])
    assert len(zlib.decompress(data[idat + 4 : idat + 4 + length])) == height * (1 + 3 * width)
    image = PNMImage()
    assert image.read(Filename.from_os_specific(str(path)))


def test_a_load_level_holds_only_with_a_short_tail_and_nothing_lost() -> None:
    good = LevelResult(clients=100, rooms=10, connected=100, alive_at_start=100, alive_at_end=100)
    good.p99_ms = 36.0
    assert judge(good, 50.0, 30.0) == (True, "p99 36.0 ms")
    slow = LevelResult(clients=100, rooms=10, connected=100, alive_at_start=100, alive_at_end=100)
    slow.p99_ms = 61.0
    assert judge(slow, 50.0, 30.0) == (False, "p99 61.0 ms")
    lost = LevelResult(clients=100, rooms=10, connected=100, alive_at_start=100, alive_at_end=99)
    lost.p99_ms, lost.disconnects, lost.close_codes = 20.0, 1, {"4409": 1}
    assert judge(lost, 50.0, 30.0)[0] is False
    good.pose_hz_per_client = slow.pose_hz_per_client = 30.0
    assert disturbed(good, 30.0) == ""
    slow.other_cpu_pct = 40.0
    assert disturbed(slow, 30.0).startswith("other work on the machine")


# --- the steps' registry ---------------------------------------------------------------------


def test_every_kind_of_step_has_a_handler() -> None:
    assert set(HANDLERS) == set(get_args(sc.AnyStep))


def test_a_step_nobody_handles_is_refused_by_name() -> None:
    @dataclass(frozen=True, slots=True)
    class Dance(sc.Step):
        pass

    with pytest.raises(UnknownStep, match=r"step 3 \(twirl\): no handler for Dance"):
        handler_for(Dance(3, "twirl"))


# --- the simulator stands apart from the server -----------------------------------------------


def test_the_simulator_imports_nothing_of_the_server() -> None:
    package = ROOT / "simulator"
    found = set()
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                if module == "server" or module.startswith("server."):
                    found.add((path.relative_to(package).as_posix(), module))
    assert found == set()
