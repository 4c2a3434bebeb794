"""A room's durable state as bytes, and a fresh room rebuilt from them (failover).

What a member must find again when the room comes back on another node: the reliable
sequence and its log (so ``join.since`` replays exactly what was missed), who was admitted
when (so replay never reaches back past a person's arrival), the experts standing and what the
screens show, open pages, and step-up windows and the lock-outs the room relayed (failures,
lock-outs and spent codes themselves live in the shell's shared store, see
``rooms/stepup_policy.py``). Avatars are not kept: members bring them back when they reconnect.
The scene's tick and id counters move past the old ones, so no client mistakes new state for
old. The room saves its own part (:meth:`~rooms.room.Room.dump_core`) and each of its
features its own (:meth:`~rooms.feature.Feature.dump`), under keys of one flat map; restoring
hands the map back in the same order. Pure: msgpack in, msgpack out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack

from protocol import messages as m
from protocol.codec import encode

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
    state: dict[str, Any] = {
        "v": VERSION,
        "room": room.id,
        # Read before the room is built (saved_layout): a restored room keeps its layout.
        "layout": room.scene.layout.name,
        **room.dump_core(with_log=with_log),
        "tick": room.scene.tick,
        "next_entity": room.scene.next_entity,
    }
    for feature in room.features:
        state.update(feature.dump())
    # The scene as members saw it last, for inspection; restoring does not need it.
    state["snapshot"] = encode(m.Snapshot(room.scene.tick, room.scene.snapshot()))
    data: bytes = msgpack.packb(state, use_bin_type=True)
    return data


def log_entries(room: Room, after: int) -> list[tuple[int, bytes]]:
    """Reliable messages with a seq above ``after``, oldest first: what a journal appends."""
    return [(seq, data) for seq, data in room.reliable_log if seq > after]


def saved_layout(data: bytes) -> str | None:
    """The layout a saved room was built with; ``None`` if the state predates the field or
    is damaged (``load`` says which)."""
    try:
        state = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.UnpackException):
        return None
    layout = state.get("layout") if isinstance(state, dict) else None
    return layout if isinstance(layout, str) else None


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
        if state.get("layout", room.scene.layout.name) != room.scene.layout.name:
            raise StateError(f"saved state is of a {state['layout']} room")
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
    room.load_core(state)
    room.scene.resume_at(int(state["tick"]) + TICK_MARGIN, int(state["next_entity"]))
    for feature in room.features:
        feature.load(state, now)
