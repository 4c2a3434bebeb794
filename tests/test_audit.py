"""The audit trail: what rooms record, the hash chain, tampering found, the verify command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol import messages as m
from rooms.audit import AuditEvent, MemoryAuditLog, entry_hash, text_digest, verify
from rooms.members import Grant
from rooms.outputs import Audit, Output
from rooms.roles import Role
from server.app import WealthroomServer
from server.audit_file import FileAuditLog, read_entries, verify_file
from simulator.client import RoomClient
from tests.conftest import SECRET, make_settings
from tests.harness import Harness
from tests.test_cli import _run


def _events(n: int) -> list[AuditEvent]:
    return [
        AuditEvent(1_795_084_400 + i, "demo", f"user-{i}", "guest", "member.join", "ok", {"i": i})
        for i in range(n)
    ]


def _audits(outputs: list[Output]) -> list[AuditEvent]:
    return [o.event for o in outputs if isinstance(o, Audit)]


def test_room_records_business_events_without_message_bodies() -> None:
    h = Harness()
    events: list[AuditEvent] = []
    adv = h.room.connect(Grant("adv", "r1", Role.ADVISOR), h.now)
    for message in (m.Hello(1), m.Join("Ada")):
        events += _audits(h.send(adv, message))
    guest = h.join(Role.GUEST, "Gus")
    events += _audits(h.send(guest, m.Chat("my account number is 12345")))
    events += _audits(h.send(guest, m.Remove(adv)))
    events += _audits(h.send(adv, m.Remove(guest)))
    actions = [(e.actor, e.action, e.outcome) for e in events]
    assert actions == [
        ("adv", "member.join", "ok"),
        ("Gus", "chat.post", "ok"),
        ("Gus", "permission.denied", "denied"),
        ("adv", "member.remove", "ok"),
        ("Gus", "member.leave", "removed"),
    ]
    chat = events[1]
    assert chat.detail["sha256"] == text_digest("my account number is 12345")
    assert "12345" not in json.dumps([e.detail for e in events])
    assert all(e.room == "r1" for e in events)


def test_chain_verifies_and_each_kind_of_tampering_is_found() -> None:
    log = MemoryAuditLog()
    for event in _events(5):
        log.append(event)
    assert verify(log.entries).ok
    assert verify(log.entries).entries == 5

    edited = [dict(e) for e in log.entries]
    edited[2]["outcome"] = "denied"
    assert (verify(edited).ok, verify(edited).first_broken) == (False, 2)

    dropped = log.entries[:1] + log.entries[2:]
    assert verify(dropped).first_broken == 1

    swapped = [log.entries[0], log.entries[2], log.entries[1], *log.entries[3:]]
    assert verify(swapped).first_broken == 1

    rehashed = [dict(e) for e in log.entries]
    rehashed[3]["actor"] = "someone-else"
    rehashed[3]["hash"] = entry_hash(rehashed[3])  # a forger recomputes one hash...
    verdict = verify(rehashed)
    assert (verdict.first_broken, verdict.reason) == (4, "does not follow the entry before it")


def test_file_log_continues_its_chain_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = FileAuditLog(path)
    for event in _events(3):
        first.append(event)
    first.close()
    second = FileAuditLog(path)
    second.append(_events(4)[3])
    second.close()
    verdict = verify_file(path)
    assert (verdict.ok, verdict.entries) == (True, 4)
    assert path.stat().st_mode & 0o777 == 0o600
    entries = list(read_entries(path))
    assert entries[0] is not None
    assert entries[0]["at"] == "2026-11-19T10:33:20.000+00:00"  # UTC, milliseconds


async def test_server_writes_joins_leaves_and_refused_tokens(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with WealthroomServer(make_settings(audit_path=path), secret=SECRET) as srv:
        token = srv.tokens.mint(room="demo", role=Role.CUSTOMER, subject="cust-7")
        client = await RoomClient.join(srv.room_url("demo"), token, "Ann")
        await client.leave()
        refused = await RoomClient.open(srv.room_url("demo"), "forged.token.here")
        await refused.wait_for(lambda c: c.closed)
    entries = [e for e in read_entries(path) if e is not None]
    assert [(e["actor"], e["action"], e["outcome"]) for e in entries] == [
        ("cust-7", "member.join", "ok"),
        ("cust-7", "member.leave", "left"),
        ("unknown", "auth.refused", "TokenInvalid"),
    ]
    assert verify_file(path).ok
    assert "forged" not in path.read_text()


async def test_audit_verify_command_names_the_first_broken_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = FileAuditLog(path)
    for event in _events(4):
        log.append(event)
    log.close()
    code, out, _ = await _run("audit", "verify", str(path))
    assert (code, out.strip()) == (0, f"{path}: 4 entries, chain intact")

    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"user-2"', '"user-9"')
    path.write_text("\n".join(lines) + "\n")
    code, _, err = await _run("audit", "verify", str(path))
    assert code == 1
    assert "entry 2 (line 3) is broken: content does not match its hash" in err
    assert "the 2 entries before it are intact" in err


@pytest.mark.parametrize("garbage", ["not json", "[1, 2]"])
async def test_audit_verify_reports_an_unreadable_line(tmp_path: Path, garbage: str) -> None:
    path = tmp_path / "audit.jsonl"
    log = FileAuditLog(path)
    log.append(_events(1)[0])
    log.close()
    with path.open("a") as fh:
        fh.write(garbage + "\n")
    code, _, err = await _run("audit", "verify", str(path))
    assert code == 1
    assert "entry 1 (line 2) is broken: not a JSON object" in err
