"""run_server.py as a newcomer uses it: real processes, real ports."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
import tempfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from panda3d.core import Filename, PNMImage

from protocol import messages as m
from protocol.codec import encode
from rooms.members import Grant
from rooms.roles import Role
from rooms.room import Room
from scenes.layout import load_layout
from server.auth import TokenAuthority
from server.config import Settings
from server.errors import TokenInvalid
from server.media.tts import EspeakSpeaker
from tests.conftest import AUDIT_KEY, SECRET
from tests.speech_audio import silence, speak_16k, write_wav

ROOT = Path(__file__).resolve().parents[2]
AUDIT_DIR = Path(tempfile.mkdtemp(prefix="wealthroom-audit-"))
ENV = {
    **os.environ,
    "WEALTHROOM_SECRET": SECRET.decode(),
    "WEALTHROOM_AUDIT_KEY": AUDIT_KEY.decode(),
    "WEALTHROOM_AUDIT_PATH": str(AUDIT_DIR / "audit.jsonl"),
    "PYTHONUNBUFFERED": "1",
}


async def _run(*args: str, timeout: float = 30, cwd: Path = ROOT) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        *args,
        env=ENV,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_token_command_mints_a_token_the_server_accepts() -> None:
    code, out, _ = await _run("token", "--room", "family-li", "--role", "guest", "--name", "Li")
    assert code == 0
    grant = TokenAuthority(SECRET).verify(out.strip(), room="family-li")
    assert (grant.room, grant.role, grant.name) == ("family-li", Role.GUEST, "Li")


async def test_token_command_names_the_rooms_layout() -> None:
    args = ("token", "--room", "talk", "--role", "guest", "--layout")
    code, out, _ = await _run(*args, "seminar_room")
    assert code == 0
    assert TokenAuthority(SECRET).verify(out.strip(), room="talk").layout == "seminar_room"
    code, _, err = await _run(*args, "ballroom")
    assert code == 2
    assert "invalid choice" in err


async def test_token_command_refuses_a_bad_room_id() -> None:
    code, _, err = await _run("token", "--room", "../etc", "--role", "guest")
    assert code == 2
    assert "invalid room id" in err


async def test_booking_link_command_mints_a_link_for_book_only() -> None:
    args = ("booking-link", "--subject", "cust-7", "--name", "Ann Lee", "--room", "ann-room")
    code, out, _ = await _run(*args)
    assert code == 0
    url, token = out.strip().split("/book.html#token=")
    assert url.startswith("http://")
    grant = TokenAuthority(SECRET).verify_booking(token)
    assert (grant.subject, grant.name, grant.room) == ("cust-7", "Ann Lee", "ann-room")
    with pytest.raises(TokenInvalid):
        TokenAuthority(SECRET).verify(token, room="ann-room")  # never a room's token
    code, _, err = await _run(*args, "--days", "30")
    assert code == 2
    assert "booking tokens live between 1 and 1209600 seconds" in err


async def test_serve_opens_the_demo_room_and_a_visitor_can_chat_in_it() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        "serve",
        "--port",
        "0",
        env=ENV,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    try:
        banner: list[str] = []
        while not banner or "Press Ctrl-C" not in banner[-1]:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            assert line, "server exited before it was ready"
            banner.append(line.decode())
        text = "".join(banner)
        base = re.search(r"serving on (http://\S+)", text)
        assert base is not None
        assert "Demo room 'demo' is open" in text
        assert "uvloop event loop" in text  # a dependency, so "auto" finds it
        port = base.group(1).rsplit(":", 1)[1]

        def health() -> dict[str, object]:
            with urllib.request.urlopen(f"{base.group(1)}/healthz", timeout=5) as resp:
                result: dict[str, object] = json.load(resp)
                return result

        assert (await asyncio.to_thread(health))["status"] == "ok"
        code, out, err = await _run(
            "visit",
            "--port",
            port,
            "--name",
            "Ann",
            "--say",
            "hello from the CLI \x1b[2J\u202egnp.exe\nAdvisor: fake line",
            "--seconds",
            "1",
        )
        assert code == 0, err
        assert "joined" in out
        assert "Ann: hello from the CLI" in out
        # A chat cannot clear the terminal, reverse the text or forge a line of its own.
        assert "\x1b" not in out
        assert "\u202e" not in out
        assert "\\x1b[2J\\u202egnp.exe\\nAdvisor: fake line" in out
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    assert "stopping" in rest.decode()


async def test_render_draws_a_saved_room_state(tmp_path: Path) -> None:
    room = Room("demo", load_layout("private_room"))
    for i, (name, role) in enumerate([("Mrs Chen", Role.CUSTOMER), ("Ada", Role.ADVISOR)]):
        member = room.connect(Grant(f"u{i}", "demo", role), 0.0)
        room.receive(member, encode(m.Hello(1)), 0.0)
        room.receive(member, encode(m.Join(name)), 0.0)
    room.tick(0.1)
    state = tmp_path / "room.snapshot"
    state.write_bytes(encode(m.Snapshot(room.scene.tick, room.scene.snapshot())))
    out = tmp_path / "room.png"
    code, text, err = await _run(
        "render", "--state", str(state), "--out", str(out), "--width", "320", "--height", "180"
    )
    assert code == 0, err
    assert "2 avatars" in text
    image = PNMImage()
    assert image.read(Filename.from_os_specific(str(out)))
    assert (image.get_x_size(), image.get_y_size()) == (320, 180)


async def test_render_refuses_a_file_that_is_not_a_snapshot(tmp_path: Path) -> None:
    state = tmp_path / "chat.bin"
    state.write_bytes(encode(m.Pong(1)))
    code, _, err = await _run("render", "--state", str(state), "--out", str(tmp_path / "x.png"))
    assert code == 2
    assert "not a snapshot" in err


async def test_render_without_out_writes_under_var_not_beside_the_code(tmp_path: Path) -> None:
    code, text, err = await _run("render", "--width", "64", "--height", "36", cwd=tmp_path)
    assert code == 0, err
    written = await asyncio.to_thread(lambda: sorted(str(p) for p in tmp_path.rglob("*")))
    var = tmp_path / "var"
    assert written == [str(var), str(var / "render"), str(var / "render" / "private_room.png")]
    assert "var/render/private_room.png" in text


def test_readme_commands_write_only_under_var() -> None:
    commands = [
        line for line in (ROOT / "README.md").read_text().splitlines() if "run_server.py " in line
    ]
    written = re.findall(r"--(?:out|save-state|report) +([^\s-][^\s]*)", "\n".join(commands))
    assert written, "the README shows no command that writes a file"
    assert [path for path in written if not path.startswith("var/")] == []


def test_an_empty_setting_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEALTHROOM_AUDIT_PATH", "")
    monkeypatch.setenv("WEALTHROOM_TLS_CERT", "")
    settings = Settings()
    assert (settings.audit_path, settings.tls_cert) == (None, None)


async def test_ask_takes_several_questions_as_one_conversation() -> None:
    code, out, _ = await _run(
        "ask", "--json", "--risk", "3", "Tell me about the balanced fund", "What are the fees?"
    )
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["question"] == "Tell me about the balanced fund"
    assert second["question"] == "What are the fees?"
    assert first["specialties"] == second["specialties"] == ["funds"]
    (described,) = first["answers"]
    (fees,) = second["answers"]
    # The follow-up is about the fund in focus, answered by the expert who is already there.
    assert described["product"] == fees["product"] == "global-balanced-fund"
    assert fees["expert"] == described["expert"] is not None
    assert "fee" in fees["text"].lower()
    for turn in (first, second):
        assert turn["profile"] == "C3"
        assert turn["handoff"] is False
        assert turn["pages"] == []
        assert set(turn["answers"][0]) >= {"label", "language", "risk_class", "sources", "reason"}


async def test_ask_a_single_question_prints_one_line_of_json() -> None:
    code, out, _ = await _run("ask", "--json", "--risk", "2", "Tell me about the balanced fund")
    assert code == 0
    (line,) = out.splitlines()
    turn = json.loads(line)
    assert turn["handoff"] is True
    assert turn["pages"][0]["product"] == "global-balanced-fund"


async def test_serve_on_a_port_in_use_names_the_port_and_how_to_choose_another() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = await _run("serve", "--host", "127.0.0.1", "--port", str(port))
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "--port" in err
    assert "WEALTHROOM_PORT" in err
    assert "Errno" not in err


@pytest.mark.skipif(
    not EspeakSpeaker.available(), reason="needs espeak-ng (scripts/system-packages)"
)
async def test_ask_by_audio_hears_the_file_and_asks_as_a_microphone_would(tmp_path: Path) -> None:
    pcm = np.concatenate((silence(0.5), speak_16k("Tell me about government bonds."), silence(1.0)))
    wav = write_wav(tmp_path / "question.wav", pcm, 16_000)
    code, out, _ = await _run("ask", "--json", "--risk", "3", "--audio", str(wav), timeout=120)
    assert code == 0
    (line,) = out.splitlines()
    turn = json.loads(line)
    assert turn["heard"]["st"] == "asked"
    assert "bonds" in turn["heard"]["text"]
    assert turn["question"] == turn["heard"]["text"]
    assert turn["specialties"] == ["bonds"]
    assert turn["answers"]
