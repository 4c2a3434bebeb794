"""The bank's content, changed while the server runs: picked up by new rooms, kept by open
ones, and a broken file refused with the version in use kept."""

from __future__ import annotations

import asyncio
import json
import logging
import os
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
