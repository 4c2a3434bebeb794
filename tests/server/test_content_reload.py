"""The bank's content, changed while the server runs: picked up by new rooms, kept by open
ones, and a broken file refused with the version in use kept."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from avatars.expertise import default_expertise
from avatars.knowledge import DATA_DIR
from protocol import messages as m
from rooms.audit import MemoryAuditLog
from server.app import WealthroomServer
from server.content import Content
from server.portfolios import ContentPortfolios, DemoPortfolios
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings, minter

ROOT = Path(__file__).resolve().parents[2]
RELOAD_TIMEOUT_S = 60.0  # a reload builds the retrieval index on a thread: seconds


def _write(path: Path, text: str) -> None:
    """Writes ``text`` and moves the file's time on, so the watcher sees a change even when
    the size is the same and the clock has not ticked since the last write."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    later = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(later, later))


def _answer_versions(server: WealthroomServer, room: str) -> list[str]:
    assert isinstance(server.audit, MemoryAuditLog)
    return [
        e["detail"]["content"]
        for e in server.audit.entries
        if e["action"] == "expert.answer" and e["room"] == room
    ]


def _health(server: WealthroomServer) -> dict[str, object]:
    with urllib.request.urlopen(f"{server.base_url}/healthz", timeout=10) as resp:
        result: dict[str, object] = json.load(resp)
        return result


async def _ask(client: RoomClient, text: str) -> None:
    answered = len(client.of(m.Answer))
    await client.send(m.Ask(text))
    await client.wait_for(lambda c: len(c.of(m.Answer)) > answered, timeout=30)


async def test_a_content_change_is_picked_up_without_restart_and_a_broken_file_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server.content")
    folder = tmp_path / "content"
    folder.mkdir()
    products = folder / "products.json"
    original = (DATA_DIR / "products.json").read_text(encoding="utf-8")
    _write(products, original)
    settings = make_settings(content_dir=folder, content_poll_s=0.05, demo_room="")
    async with WealthroomServer(settings, secret=SECRET) as server:
        content = server.services.content
        changed = asyncio.Event()
        content.on_change(changed.set)
        first = content.current.version
        assert first == default_expertise().version  # the package's files, copied
        mint = minter(server)
        ann = await RoomClient.join(server.room_url("before"), mint("before"), "Ann")

        data = json.loads(original)
        product = data["products"][0]
        question = f"Tell me about the {product['name']['en']}"
        product["summary"]["en"] = "A product whose summary the bank changed today."
        _write(products, json.dumps(data, ensure_ascii=False, indent=2))
        await asyncio.wait_for(changed.wait(), RELOAD_TIMEOUT_S)
        second = content.current.version
        assert second != first
        assert content.refused is None
        summary = content.current.knowledge.products[product["id"]].summary["en"]
        assert summary == "A product whose summary the bank changed today."
        assert f"content version {second} in use (was {first})" in caplog.text

        assert (await asyncio.to_thread(_health, server))["content"] == second
        bob = await RoomClient.join(server.room_url("after"), mint("after"), "Bob")
        await _ask(ann, question)
        await _ask(bob, question)
        # The open room kept the version it started with; the new one took the new.
        assert _answer_versions(server, "before") == [first]
        assert _answer_versions(server, "after") == [second]

        changed.clear()
        lines = json.dumps(data, ensure_ascii=False, indent=2).splitlines()
        risk_line = next(i for i, line in enumerate(lines) if '"risk"' in line)
        lines[risk_line] = '      "risk": "R9",'
        _write(products, "\n".join(lines) + "\n")
        await asyncio.wait_for(changed.wait(), RELOAD_TIMEOUT_S)
        refused = content.refused
        assert refused is not None
        assert (refused.file, refused.line, refused.field) == (
            "products.json",
            risk_line + 1,
            "products.0.risk",
        )
        assert content.current.version == second
        assert (
            f"content refused: products.json: line {risk_line + 1}: products.0.risk: "
            in caplog.text
        )
        assert f"keeping version {second}" in caplog.text

        # The explicit trigger says the same, and rooms opened now still get the kept version.
        again = await content.reload()
        assert again is not None
        assert (again.file, again.line, again.field) == (refused.file, refused.line, refused.field)
        carol = await RoomClient.join(server.room_url("later"), mint("later"), "Carol")
        await _ask(carol, question)
        assert _answer_versions(server, "later") == [second]

        _write(products, original)
        changed.clear()
        await asyncio.wait_for(changed.wait(), RELOAD_TIMEOUT_S)
        assert content.refused is None
        assert content.current.version == first
        for client in (ann, bob, carol):
            await client.close()


async def test_listed_portfolios_come_from_the_content_and_others_from_the_demo(
    tmp_path: Path,
) -> None:
    product = next(iter(default_expertise().knowledge.products.values()))
    listed = {
        "portfolios": [
            {
                "subject": "cust-7",
                "holdings": [{"product": product.id, "value": 250000, "currency": "USD"}],
            }
        ]
    }
    _write(tmp_path / "portfolios.json", json.dumps(listed))
    content = Content(tmp_path)
    portfolios = ContentPortfolios(content)
    (holding,) = await portfolios.holdings("cust-7")
    assert (holding.product, holding.value, holding.ccy) == (product.id, 250000.0, "USD")
    assert holding.risk == product.risk
    demo = await portfolios.holdings("someone-else")
    assert demo == await DemoPortfolios(content.current.knowledge).holdings("someone-else")


async def _line_with(stream: asyncio.StreamReader, needle: str, seen: list[str]) -> str:
    """The first line of ``stream`` holding ``needle`` (the lines before it kept in ``seen``)."""
    while True:
        raw = await asyncio.wait_for(stream.readline(), RELOAD_TIMEOUT_S)
        assert raw, f"the server exited before saying {needle!r}: {''.join(seen)}"
        line = raw.decode()
        seen.append(line)
        if needle in line:
            return line


async def test_serve_reloads_on_sighup_and_refuses_a_broken_file(tmp_path: Path) -> None:
    """The real process: a broken file and SIGHUP give the refusal naming file, line and
    field; a good one and SIGHUP the new version."""
    folder = tmp_path / "content"
    folder.mkdir()
    faqs = folder / "faqs.json"
    original = (DATA_DIR / "faqs.json").read_text(encoding="utf-8")
    _write(faqs, original)
    env = {
        **os.environ,
        "WEALTHROOM_SECRET": SECRET.decode(),
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_AUDIT_KEY": "k" * 40,
        "WEALTHROOM_TOTP_PATH": "",
        "WEALTHROOM_FACTOR_PATH": "",
        "WEALTHROOM_CONTENT_DIR": str(folder),
        "WEALTHROOM_CONTENT_POLL_S": "3600",  # only the signal reloads in this test
        "WEALTHROOM_MEDIA": "false",
        "PYTHONUNBUFFERED": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        "serve",
        "--port",
        "0",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        await _line_with(proc.stderr, "listening on", seen)
        broken = json.loads(original)
        broken["faqs"][0]["answer"] = 42
        text = json.dumps(broken, ensure_ascii=False, indent=2)
        line = text[: text.index('"answer": 42')].count("\n") + 1
        _write(faqs, text)
        proc.send_signal(signal.SIGHUP)
        refused = await _line_with(proc.stderr, "content refused", seen)
        assert f"faqs.json: line {line}: faqs.0.answer: " in refused
        assert f"keeping version {default_expertise().version}" in refused

        data = json.loads(original)
        data["faqs"][0]["answer"]["en"] = "An answer the bank rewrote."
        _write(faqs, json.dumps(data, ensure_ascii=False, indent=2))
        proc.send_signal(signal.SIGHUP)
        taken = await _line_with(proc.stderr, "in use (was", seen)
        assert f"(was {default_expertise().version})" in taken
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0


async def test_serve_does_not_start_on_broken_content(tmp_path: Path) -> None:
    data = json.loads((DATA_DIR / "products.json").read_text(encoding="utf-8"))
    data["products"][1]["risk"] = "R0"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    _write(tmp_path / "products.json", text)
    line = text[: text.index('"risk": "R0"')].count("\n") + 1
    env = {
        **os.environ,
        "WEALTHROOM_SECRET": SECRET.decode(),
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_AUDIT_KEY": "k" * 40,
        "WEALTHROOM_CONTENT_DIR": str(tmp_path),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_server.py"),
        "serve",
        "--port",
        "0",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), RELOAD_TIMEOUT_S)
    assert proc.returncode == 2
    assert f"error: products.json: line {line}: products.1.risk: " in err.decode()
