"""The audit trail: what rooms record, the hash chain, tampering found, the verify command."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from protocol import messages as m
from rooms.audit import (
    AuditEvent,
    MemoryAuditLog,
    checkpoint_for,
    entry_mac,
    text_digest,
    verify,
)
from rooms.members import Grant
from rooms.outputs import Audit, Output
from rooms.roles import Role
from run_server import main
from server.app import WealthroomServer
from server.audit_file import FileAuditLog, checkpoints_path, read_entries, verify_file
from server.cluster.redis_audit import (
    BufferedAuditLog,
    RedisAuditLog,
    read_checkpoints,
    verify_stream,
)
from server.errors import ConfigError
from server.keys import load_audit_key, load_secret
from simulator.client import RoomClient
from tests.conftest import AUDIT_KEY, SECRET, make_settings
from tests.harness import Harness
from tests.redis_fixture import RedisServer, own_redis, redis_client, redis_server
from tests.server.test_cli import _run

__all__ = ["own_redis", "redis_client", "redis_server"]  # fixtures, used by name


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
    log = MemoryAuditLog(AUDIT_KEY)
    for event in _events(5):
        log.append(event)
    assert verify(log.entries, AUDIT_KEY).ok
    assert verify(log.entries, AUDIT_KEY).entries == 5
    assert not verify(log.entries, b"another-key-of-at-least-thirty-two-bytes").ok

    edited = [dict(e) for e in log.entries]
    edited[2]["outcome"] = "denied"
    verdict = verify(edited, AUDIT_KEY)
    assert (verdict.ok, verdict.first_broken, verdict.problem) == (False, 2, "edited")

    dropped = log.entries[:1] + log.entries[2:]
    assert verify(dropped, AUDIT_KEY).first_broken == 1

    swapped = [log.entries[0], log.entries[2], log.entries[1], *log.entries[3:]]
    assert verify(swapped, AUDIT_KEY).first_broken == 1

    rehashed = [dict(e) for e in log.entries]
    rehashed[3]["actor"] = "someone-else"
    rehashed[3]["mac"] = _sha256(rehashed[3])  # a forger without the key re-hashes...
    verdict = verify(rehashed, AUDIT_KEY)
    assert (verdict.first_broken, verdict.problem) == (3, "rehashed")
    assert verdict.reason == "re-hashed without the audit key"

    resealed = [dict(e) for e in log.entries]
    resealed[3]["actor"] = "someone-else"
    resealed[3]["mac"] = entry_mac(resealed[3], AUDIT_KEY)  # ...one with it reseals one entry
    verdict = verify(resealed, AUDIT_KEY)
    assert (verdict.first_broken, verdict.reason) == (4, "does not follow the entry before it")


def test_file_log_continues_its_chain_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    first = FileAuditLog(path, AUDIT_KEY)
    for event in _events(3):
        first.append(event)
    first.close()
    second = FileAuditLog(path, AUDIT_KEY)
    second.append(_events(4)[3])
    second.close()
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.entries, verdict.covered) == (True, 4, 4)
    assert path.stat().st_mode & 0o777 == 0o600
    assert checkpoints_path(path).stat().st_mode & 0o777 == 0o600
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
        ("unknown", "auth.refused", "summary"),
    ]
    # Refusals are summed per window and filed under the node, never the room they named.
    assert (entries[2]["room"], entries[2]["detail"]["total"]) == ("node:local", 1)
    assert verify_file(path, AUDIT_KEY).ok
    assert "forged" not in path.read_text()


def _sha256(entry: dict[str, Any]) -> str:
    """What a forger without the key can compute: the plain SHA-256 of the entry."""
    body = {k: v for k, v in entry.items() if k != "mac"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _write_log(path: Path, n: int, *, every: int = 4) -> None:
    log = FileAuditLog(path, AUDIT_KEY, checkpoint_every=every)
    for event in _events(n):
        log.append(event)
    log.close()


def _keep_lines(path: Path, count: int) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:count]))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))


# --- tampering the checkpoints catch ----------------------------------------------------------


def test_an_edited_log_rehashed_and_rechained_without_the_key_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 6)
    entries = _lines(path)
    entries[2]["actor"] = "someone-else"
    prev = entries[1]["mac"]
    for entry in entries[2:]:  # every entry from the edit on, re-hashed and re-linked
        entry["prev"] = prev
        entry["mac"] = prev = _sha256(entry)
    _write_lines(path, entries)
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.first_broken, verdict.problem) == (False, 2, "rehashed")
    assert verdict.entries == 2


def test_a_truncated_log_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 10)
    _keep_lines(path, 5)  # cut at a line's end: what is left is a sound chain
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.problem, verdict.entries, verdict.first_broken) == (
        False,
        "truncated",
        5,
        5,
    )
    assert "vouches for 10 entries, only 5 are here" in verdict.reason


def test_deleted_last_entries_are_found_even_after_the_log_went_on(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 10)
    _keep_lines(path, 8)
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.problem, verdict.first_broken) == ("truncated", 8)

    log = FileAuditLog(path, AUDIT_KEY)  # the server starts on the shortened log
    for event in _events(3):
        log.append(event)
    log.close()
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.problem, verdict.first_broken) == (False, "rewritten", 9)


def test_a_forged_checkpoint_is_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 10)
    _keep_lines(path, 5)
    side = checkpoints_path(path)
    honest = [cp for cp in _lines(side) if cp["n"] <= 5]
    head = _lines(path)[4]["mac"]
    forged = checkpoint_for(5, head, 1_795_084_500, b"a-guess-at-the-audit-key-of-32-bytes")
    _write_lines(side, [*honest, forged])  # the checkpoints that gave the cut away, replaced
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.problem) == (False, "forged-checkpoint")
    assert verdict.reason.startswith(f"checkpoint {len(honest)} is not signed with the audit key")

    altered = dict(_lines(side)[0], n=5, head=head)  # a real one, changed
    _write_lines(side, [*honest, altered])
    assert verify_file(path, AUDIT_KEY).problem == "forged-checkpoint"


def test_a_log_without_its_checkpoints_is_not_called_intact(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 3)
    checkpoints_path(path).unlink()
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.problem, verdict.entries) == (False, "no-checkpoints", 3)


def test_checkpoints_come_every_n_entries_on_open_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 10, every=4)
    assert [cp["n"] for cp in _lines(checkpoints_path(path))] == [0, 4, 8, 10]
    verdict = verify_file(path, AUDIT_KEY)
    assert (verdict.ok, verdict.checkpoints, verdict.covered) == (True, 4, 10)


def test_a_log_chained_before_the_key_is_moved_aside_not_continued(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    old = {"n": 0, "at": "2026-11-19T10:33:20.000+00:00", "action": "member.join"}
    old["prev"] = "0" * 64
    old["hash"] = hashlib.sha256(b"as the old release hashed it").hexdigest()
    _write_lines(path, [old])
    log = FileAuditLog(path, AUDIT_KEY, clock=lambda: 1_795_084_400)
    log.close()
    assert _lines(tmp_path / "audit.jsonl.unkeyed") == [old]
    entries = _lines(path)
    assert [(e["action"], e["outcome"], e["detail"]["file"]) for e in entries] == [
        ("audit.rotated", "unkeyed", "audit.jsonl.unkeyed")
    ]
    assert verify_file(path, AUDIT_KEY).ok


# --- a damaged end ----------------------------------------------------------------------------


async def _health(server: WealthroomServer) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    response = await reader.read()
    writer.close()
    return dict(json.loads(response.split(b"\r\n\r\n", 1)[1]))


@pytest.mark.parametrize(
    "damage",
    [b'{"n":3,"at":"2026-11-19T10:3', b"\x00" * 300 + b"\n"],
    ids=["cut-mid-write", "zeros-after-a-full-disk"],
)
async def test_a_damaged_end_is_quarantined_and_the_server_starts(
    tmp_path: Path, damage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 3)
    whole = path.stat().st_size
    with path.open("ab") as fh:
        fh.write(damage)
    quarantine = tmp_path / f"audit.jsonl.damaged-{whole}"
    with caplog.at_level(logging.ERROR, logger="server.audit_file"):
        async with WealthroomServer(make_settings(audit_path=path), secret=SECRET) as srv:
            health = await _health(srv)
            token = srv.tokens.mint(room="demo", role=Role.CUSTOMER, subject="cust-7")
            client = await RoomClient.join(srv.room_url("demo"), token, "Ann")
            await client.leave()
    assert quarantine.read_bytes() == damage
    assert health["status"] == "ok"
    assert health["audit"] == {
        "status": "recovered",
        "quarantine": str(quarantine),
        "bytes": len(damage),
    }
    assert f"ended in {len(damage)} damaged bytes" in caplog.text
    assert str(quarantine) in caplog.text
    entries = _lines(path)
    recovered = entries[3]
    assert (recovered["n"], recovered["action"], recovered["outcome"]) == (
        3,
        "audit.recovered",
        "quarantined",
    )
    assert recovered["detail"] == {"file": quarantine.name, "bytes": len(damage), "offset": whole}
    assert [e["action"] for e in entries[4:]] == ["member.join", "member.leave"]
    assert verify_file(path, AUDIT_KEY).ok


async def test_a_server_with_a_sound_log_says_nothing_of_the_audit_in_health(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 2)
    async with WealthroomServer(make_settings(audit_path=path), secret=SECRET) as srv:
        assert "audit" not in await _health(srv)
        assert isinstance(srv.audit, FileAuditLog)
        assert srv.audit.recovery is None


# --- the verify command -----------------------------------------------------------------------


async def test_audit_verify_command_names_the_first_broken_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write_log(path, 4)
    code, out, _ = await _run("audit", "verify", str(path))
    assert (code, out.strip()) == (0, f"{path}: 4 entries, chain intact; 2 checkpoints vouch for 4")

    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"user-2"', '"user-9"')
    path.write_text("\n".join(lines) + "\n")
    code, _, err = await _run("audit", "verify", str(path))
    assert code == 1
    assert err.strip() == (
        f"{path}: entry 2 (line 3) is broken (edited): content does not match its MAC;"
        " the 2 entries before it are intact"
    )


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", str(path), *extra])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).strip()


def test_audit_verify_says_which_kind_of_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEALTHROOM_AUDIT_KEY", raising=False)
    key_file = tmp_path / "audit-key"
    key_file.write_bytes(AUDIT_KEY)
    path = tmp_path / "audit.jsonl"
    _write_log(path, 10)

    _keep_lines(path, 7)
    code, text = _verify(path, capsys, "--key-file", str(key_file))
    assert code == 1
    assert text.startswith(f"{path}: entry 7 (line 8) is broken (truncated): the checkpoint of ")
    assert "vouches for 10 entries, only 7 are here" in text

    entries = _lines(path)
    entries[6]["detail"] = {"i": 99}
    entries[6]["mac"] = _sha256(entries[6])
    _write_lines(path, entries)
    code, text = _verify(path, capsys, "--key-file", str(key_file))
    assert (code, text) == (
        1,
        f"{path}: entry 6 (line 7) is broken (re-hashed): re-hashed without the audit key;"
        " the 6 entries before it are intact",
    )

    side = checkpoints_path(path)
    side.write_text(side.read_text().replace('"n":10', '"n":6', 1))
    code, text = _verify(path, capsys, "--key-file", str(key_file))
    assert (code, text) == (
        1,
        f"{path}: broken (forged checkpoint): checkpoint 3 is not signed with the audit key:"
        " forged or altered",
    )

    code, text = _verify(path, capsys, "--key-file", str(tmp_path / "nowhere"))
    assert code == 2
    assert "no audit key" in text
    assert not (tmp_path / "nowhere").exists()  # verifying never makes a key up


# --- Redis: checkpoints and a lost stream ------------------------------------------------------


def _event(i: int) -> AuditEvent:
    return AuditEvent(1_795_084_400 + i, "room-1", f"user-{i}", "guest", "member.join", "ok")


async def test_redis_checkpoints_catch_a_forgery_and_are_written_at_shutdown(
    redis_client: Redis,
) -> None:
    chain = RedisAuditLog(redis_client, AUDIT_KEY, checkpoint_every=4)
    buffered = BufferedAuditLog(chain)
    buffered.start()
    for i in range(6):
        buffered.append(_event(i))
    await buffered.aclose()
    written = await read_checkpoints(redis_client, chain.checkpoints_key("room-1"))
    assert [cp["n"] for cp in written if cp is not None] == [4, 6]
    verdict = await verify_stream(redis_client, AUDIT_KEY, "room-1")
    assert (verdict.ok, verdict.checkpoints, verdict.covered) == (True, 2, 6)

    other_room = checkpoint_for(6, "0" * 64, 1_795_084_500, AUDIT_KEY, room="room-2")
    await redis_client.xadd(chain.checkpoints_key("room-1"), {"checkpoint": json.dumps(other_room)})
    verdict = await verify_stream(redis_client, AUDIT_KEY, "room-1")
    assert (verdict.ok, verdict.problem) == (False, "forged-checkpoint")


async def test_a_stream_lost_when_redis_restarts_empty_is_found(
    own_redis: Callable[[], subprocess.Popen[bytes]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis = own_redis()
    server = RedisServer("127.0.0.1", own_redis.port)  # type: ignore[attr-defined]
    client = server.client()
    chain = RedisAuditLog(client, AUDIT_KEY)
    buffered = BufferedAuditLog(chain, retry_s=0.05)
    buffered.start()
    try:
        for i in range(5):
            buffered.append(_event(i))
        await buffered.flush()
        assert (await verify_stream(client, AUDIT_KEY, "room-1")).ok

        redis.terminate()
        redis.wait(10)
        own_redis()  # back on the same port, with nothing saved
        for i in range(5, 8):
            buffered.append(_event(i))
        await buffered.flush()
        verdict = await verify_stream(client, AUDIT_KEY, "room-1")
    finally:
        await buffered.aclose()
        await client.aclose()
    assert (verdict.ok, verdict.problem) == (False, "lost")
    assert "vouches for 5 entries, and the stream was begun again after it" in verdict.reason

    monkeypatch.setenv("WEALTHROOM_AUDIT_KEY", AUDIT_KEY.decode())
    url = f"redis://{server.host}:{server.port}/0"
    args = ["audit", "verify-stream", "--redis", url, "--room", "room-1"]
    assert await asyncio.to_thread(main, args) == 1
    assert "room-1 (wr:audit:room-1): broken (lost): the checkpoint of" in capsys.readouterr().err


# --- the audit key ----------------------------------------------------------------------------


def test_the_audit_key_is_made_on_first_run_and_is_never_the_token_key(tmp_path: Path) -> None:
    settings = make_settings(
        audit_key=None, audit_key_file=tmp_path / "audit-key", secret_file=tmp_path / "secret"
    )
    with pytest.raises(ConfigError, match="no audit key"):
        load_audit_key(settings, create=False)
    key = load_audit_key(settings)
    assert (tmp_path / "audit-key").stat().st_mode & 0o777 == 0o600
    assert load_audit_key(settings) == key
    assert len(key) >= 32
    assert key != load_secret(settings)
    same = make_settings(audit_key=SECRET.decode(), secret=SECRET.decode())
    with pytest.raises(ConfigError, match="must not be the token signing key"):
        load_audit_key(same)
