"""A room's durable state as bytes, and a fresh room rebuilt from them (failover).

What a member must find again when the room comes back on another node: the reliable
sequence and its log (so ``join.since`` replays exactly what was missed), who was admitted
when (so replay never reaches back past a person's arrival), the experts standing and what the
screens show, open pages, and step-up failures and lock-outs (a lock-out must not lapse
because a machine died). Avatars are not kept: members bring them back when they reconnect.
The scene's tick and id counters move past the old ones, so no client mistakes new state for
old. Pure: msgpack in, msgpack out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack

from avatars.personas import UnknownPersona
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.messages import Direction

if TYPE_CHECKING:
    from rooms.room import Room

VERSION = 1
# Ticks the restored scene jumps ahead: more than a client could have seen since the last save.
TICK_MARGIN = 3600


class StateError(ValueError):
    """Saved room state that cannot be restored (wrong version, damaged)."""


def dump(room: Room, *, with_log: bool = True) -> bytes:
    """``with_log=False`` leaves the reliable log out, for a store that appends it by itself
    (see :func:`log_entries`)."""
    consulting, stepup = room.consulting, room.stepup
    state: dict[str, Any] = {
        "v": VERSION,
        "room": room.id,
        "seq": room.seq,
        "log": [[seq, data] for seq, data in room._log] if with_log else [],
        "admitted": dict(room._admitted),
        "next_member": room._next_member,
        "tick": room.scene.tick,
        "next_entity": room.scene._next_id,
        "experts": [[x.persona.id, x.spot] for x in consulting.desk.active],
        "screens": [
            [screen, s.presented, s.seq] for screen, s in consulting._screens.items() if s.presented
        ],
        "pages": [
            [p.id, p.skill.value if p.skill else None, p.state, p.advisor]
            for p in consulting._pages.values()
        ],
        "paged": consulting._paged,
        "contents": consulting._contents,
        "stepup": {
            subject: [f.failures, _finite(f.locked_until), _finite(f.verified_until)]
            for subject, f in stepup._subjects.items()
        },
        # The scene as members saw it last, for inspection; restoring does not need it.
        "snapshot": encode(m.Snapshot(room.scene.tick, room.scene.snapshot())),
    }
    data: bytes = msgpack.packb(state, use_bin_type=True)
    return data


def log_entries(room: Room, after: int) -> list[tuple[int, bytes]]:
    """Reliable messages with a seq above ``after``, oldest first: what a journal appends."""
    return [(seq, data) for seq, data in room._log if seq > after]


def load(
    room: Room, data: bytes, now: float, *, log: list[tuple[int, bytes]] | None = None
) -> None:
    """Fill a fresh room (no members yet) with the state ``dump`` saved; ``log``, when the
    store kept the reliable log apart, replaces the one in ``data`` (it may be newer)."""
    if room.members:
        raise StateError("state can only be restored into an empty room")
    try:
        state = msgpack.unpackb(data, raw=False, strict_map_key=False)
        if state.get("v") != VERSION or state.get("room") != room.id:
            raise StateError(f"saved state is version {state.get('v')} of {state.get('room')}")
        if log is not None:
            state["log"] = [[seq, data] for seq, data in log]
            if log:
                state["seq"] = max(int(state["seq"]), log[-1][0])
        _load(room, state, now)
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
        raise StateError(f"saved state of room {room.id} is damaged: {exc}") from exc


def _load(room: Room, state: dict[str, Any], now: float) -> None:
    from rooms.consulting import _Page
    from rooms.stepup import _Factor

    room.seq = int(state["seq"])
    room._log.clear()
    room._log.extend((int(seq), bytes(data)) for seq, data in state["log"])
    room._admitted = {str(k): int(v) for k, v in state["admitted"].items()}
    room._next_member = int(state["next_member"])
    scene = room.scene
    scene.tick = int(state["tick"]) + TICK_MARGIN
    scene._next_id = max(scene._next_id, int(state["next_entity"]))
    scene._last_change = scene.tick
    consulting = room.consulting
    for persona_id, spot in state["experts"]:
        try:
            persona = consulting.expertise.personas.get(str(persona_id))
        except UnknownPersona:
            continue  # the bank retired the persona meanwhile: the expert does not come back
        consulting.desk.restore(persona, str(spot), now)
    for screen, presented, seq in state["screens"]:
        msg = decode(bytes(presented), Direction.SERVER)
        if not isinstance(msg, m.Presented):
            raise StateError("a screen holds something other than a presentation")
        consulting._restore_screen(str(screen), msg, bytes(presented), int(seq))
    for page_id, skill, st, advisor in state["pages"]:
        consulting._pages[str(page_id)] = _Page(
            str(page_id), Specialty(skill) if skill else None, str(st), advisor
        )
    consulting._paged = int(state["paged"])
    consulting._contents = int(state["contents"])
    for subject, (failures, locked, verified) in state["stepup"].items():
        room.stepup._subjects[str(subject)] = _Factor(int(failures), _inf(locked), _inf(verified))
    room.media.restored(now)


def _finite(t: float) -> float | None:
    return None if t == float("-inf") else t


def _inf(t: float | None) -> float:
    return float("-inf") if t is None else float(t)
