"""Room tokens: HS256 JWTs (PyJWT), short-lived, scoped to one room and one role."""

from __future__ import annotations

import re
import secrets
import time
import uuid

import jwt

from rooms.members import Grant
from rooms.roles import Role
from server.errors import RoomNotAllowed, TokenExpired, TokenInvalid

ISSUER = "wealthroom"
AUDIENCE = "wealthroom.room"
ALGORITHM = "HS256"
ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_SECRET_BYTES = 32


class TokenAuthority:
    def __init__(self, secret: bytes, *, leeway_s: float = 5.0) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._leeway = leeway_s

    def mint(
        self,
        *,
        room: str,
        role: Role,
        subject: str,
        name: str | None = None,
        ttl_s: float = 3600,
        now: float | None = None,
    ) -> str:
        if not ROOM_ID.match(room):
            raise ValueError(f"invalid room id {room!r}")
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "room": room,
            "role": role.value,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(ttl_s),
            "jti": uuid.uuid4().hex,
        }
        if name:
            claims["name"] = name
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, *, room: str) -> Grant:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(f"token rejected: {type(exc).__name__}") from exc
        try:
            role = Role(claims["role"])
            token_room = str(claims["room"])
            subject = str(claims["sub"])
            name = claims.get("name")
        except (KeyError, ValueError) as exc:
            raise TokenInvalid("token lacks room or role") from exc
        if not secrets.compare_digest(token_room, room):
            raise RoomNotAllowed(f"token for room {token_room!r} presented for {room!r}")
        return Grant(subject, token_room, role, name if isinstance(name, str) else None)
