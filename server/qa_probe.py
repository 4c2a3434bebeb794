"""The server's side of the QA simulator: a read-only view of one room's scene.

``GET /qa/rooms/<room>`` with ``Authorization: Bearer <room token>`` answers, for a token of
role ``bot`` (QA's scripted visitor) or ``observer`` (compliance) scoped to that room::

    {"room": "...", "layout": "private_room", "tick": 812, "seq": 17,
     "digest": "3f09...", "entities": {"1": "a1b2...", ...}, "members": 3, "unacked": []}

``digest`` is :func:`scenes.scene.state_digest` of the room's scene, the hash an in-sync client
replica also gives; ``entities`` the same hash entity by entity, so that a mismatch can be
named; ``unacked`` the members whose acknowledged state is older than the scene (their
baseline has not caught up yet). Nothing in the room changes by asking, and no message content
is shown: this is the state every member of the room already receives.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.datastructures import Headers
from websockets.http11 import Response

from protocol.paths import QA_PROBE_PREFIX
from rooms.roles import Role
from rooms.settling import unacked
from scenes.scene import state_digest
from server.auth import ROOM_ID, TokenAuthority
from server.errors import AuthError
from server.http import json_response

if TYPE_CHECKING:
    from server.room_host import RoomHost

ALLOWED = frozenset({Role.BOT, Role.OBSERVER})


def probe_response(
    path: str, headers: Headers, tokens: TokenAuthority, rooms: Mapping[str, RoomHost]
) -> Response | None:
    """The answer for a probe request, or None when ``path`` is not one."""
    if not path.startswith(QA_PROBE_PREFIX):
        return None
    room_id = path[len(QA_PROBE_PREFIX) :]
    if not ROOM_ID.match(room_id):
        return json_response(HTTPStatus.NOT_FOUND, {"error": "no such room"})
    auth = headers.get("Authorization") or ""
    token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
    if not token:
        return json_response(HTTPStatus.UNAUTHORIZED, {"error": "a bearer token is required"})
    try:
        grant = tokens.verify(token, room=room_id)
    except AuthError as exc:
        return json_response(HTTPStatus.UNAUTHORIZED, {"error": exc.public})
    if grant.role not in ALLOWED:
        return json_response(HTTPStatus.FORBIDDEN, {"error": "a bot or observer token is needed"})
    host = rooms.get(room_id)
    if host is None:
        return json_response(HTTPStatus.NOT_FOUND, {"error": "room not open on this server"})
    room = host.room
    ents = room.scene.snapshot()
    return json_response(
        HTTPStatus.OK,
        {
            "room": room.id,
            "layout": room.scene.layout.name,
            "tick": room.scene.tick,
            "seq": room.seq,
            "digest": state_digest(ents),
            "entities": {str(e.i): state_digest([e]) for e in ents},
            "members": len(room.joined),
            "unacked": unacked(room),
        },
    )
