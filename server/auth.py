"""Tokens: HS256 JWTs (PyJWT), short-lived.

Room tokens are scoped to one room and one role, and may carry the customer's suitability
profile (``risk``, C1-C5), preferred language, and the room's layout (``layout``: it picks
the layout of a room not open yet, and must match that of a live one). Console tokens (a
separate audience, so one can never be used for the other) admit an advisor to the console
with their skills and languages.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

import jwt

from advisors.grant import BookingGrant, ConsoleGrant
from avatars.advice import LANGUAGES as _LANGUAGES
from avatars.specialties import Specialty
from protocol.limits import MAX_INVITE_S
from rooms.members import Grant
from rooms.roles import Role
from scenes.layout import known_layouts
from server.errors import RoomNotAllowed, TokenExpired, TokenInvalid

ISSUER = "wealthroom"
AUDIENCE = "wealthroom.room"
CONSOLE_AUDIENCE = "wealthroom.console"
INVITE_AUDIENCE = "wealthroom.invite"
BOOKING_AUDIENCE = "wealthroom.booking"
ALGORITHM = "HS256"
ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_SECRET_BYTES = 32
LANGUAGES = frozenset(_LANGUAGES)
LAYOUTS = known_layouts()


MAX_ROOM_TOKEN_S = 3600  # a room token is a visit, not a membership
MAX_CONSOLE_TOKEN_S = 12 * 3600  # an advisor's working day
MAX_INVITE_TOKEN_S = MAX_INVITE_S  # a guest link: a week at most, and revocable
MAX_BOOKING_TOKEN_S = 14 * 24 * 3600  # a booking link the bank sends: good for two weeks


class TokenAuthority:
    def __init__(
        self,
        secret: bytes,
        *,
        leeway_s: float = 5.0,
        max_room_s: int = MAX_ROOM_TOKEN_S,
        max_console_s: int = MAX_CONSOLE_TOKEN_S,
        max_booking_s: int = MAX_BOOKING_TOKEN_S,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"token secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._leeway = leeway_s
        # A leaked token is good until it expires; the cap bounds that, whoever minted it.
        self._max_life = {
            AUDIENCE: max_room_s,
            CONSOLE_AUDIENCE: max_console_s,
            INVITE_AUDIENCE: MAX_INVITE_TOKEN_S,
            BOOKING_AUDIENCE: max_booking_s,
        }

    def mint(  # noqa: PLR0913 - one keyword per claim
        self,
        *,
        room: str,
        role: Role,
        subject: str,
        name: str | None = None,
        ttl_s: float = 3600,
        now: float | None = None,
        risk: int | None = None,
        language: str | None = None,
        layout: str | None = None,
    ) -> str:
        if not ROOM_ID.match(room):
            raise ValueError(f"invalid room id {room!r}")
        self._check_life(AUDIENCE, ttl_s)
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
        if risk is not None:
            if risk not in range(1, 6):
                raise ValueError("risk profile must be 1-5 (C1-C5)")
            claims["risk"] = risk
        if language is not None:
            if language not in LANGUAGES:
                raise ValueError(f"language must be one of {sorted(LANGUAGES)}")
            claims["lang"] = language
        if layout is not None:
            if layout not in LAYOUTS:
                raise ValueError(f"layout must be one of {sorted(LAYOUTS)}")
            claims["layout"] = layout
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def mint_console(
        self,
        *,
        subject: str,
        name: str,
        skills: Iterable[Specialty],
        languages: Iterable[str],
        customers: Iterable[str] = (),
        ttl_s: float = 8 * 3600,
        now: float | None = None,
    ) -> str:
        """A token for an advisor's console: who they are and what they can take."""
        self._check_life(CONSOLE_AUDIENCE, ttl_s)
        issued = int(time.time() if now is None else now)
        langs = sorted(set(languages))
        if not set(langs) <= LANGUAGES:
            raise ValueError(f"languages must be among {sorted(LANGUAGES)}")
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": CONSOLE_AUDIENCE,
            "sub": subject,
            "name": name,
            "role": Role.ADVISOR.value,
            "skills": sorted(Specialty(s).value for s in skills),
            "langs": langs,
            "customers": sorted(customers),
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(ttl_s),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def mint_invite(self, *, room: str, invite: str, by: str, expires: float, now: float) -> str:
        """A guest link's token: it names the room and the invitation, whose use count and
        revocation the node's store keeps (server/invites.py). Short claims: it goes in a QR
        code."""
        if not ROOM_ID.match(room):
            raise ValueError(f"invalid room id {room!r}")
        issued = int(now)
        self._check_life(INVITE_AUDIENCE, int(expires) - issued)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": INVITE_AUDIENCE,
            "sub": f"invite:{invite}",
            "room": room,
            "inv": invite,
            "by": by,
            "iat": issued,
            "exp": int(expires),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_invite(self, token: str, *, room: str) -> str:
        """The invitation a guest link names, if the link is genuine, unexpired and for
        ``room``; whether it may still be used is the store's to say."""
        claims = self._decode(token, INVITE_AUDIENCE)
        invite, token_room = claims.get("inv"), claims.get("room")
        if not isinstance(invite, str) or not isinstance(token_room, str):
            raise TokenInvalid("invitation token lacks room or invitation")
        if not secrets.compare_digest(token_room, room):
            raise RoomNotAllowed(f"invitation for room {token_room!r} presented for {room!r}")
        return invite

    def verify_console(self, token: str) -> ConsoleGrant:
        claims = self._decode(token, CONSOLE_AUDIENCE)
        try:
            if claims["role"] != Role.ADVISOR.value:
                raise TokenInvalid("console tokens are for advisors")
            skills = frozenset(Specialty(s) for s in claims["skills"])
            langs = frozenset(str(x) for x in claims["langs"])
            customers = frozenset(str(x) for x in claims.get("customers", []))
            return ConsoleGrant(str(claims["sub"]), str(claims["name"]), skills, langs, customers)
        except (KeyError, ValueError, TypeError) as exc:
            raise TokenInvalid("console token lacks skills or languages") from exc

    def mint_booking(
        self,
        *,
        subject: str,
        name: str,
        room: str,
        ttl_s: float = 7 * 24 * 3600,
        now: float | None = None,
        language: str | None = None,
    ) -> str:
        """A booking link's token: this customer may book, move and cancel appointments, which
        open in ``room``. It admits to ``/book`` only, never to a room."""
        if not ROOM_ID.match(room):
            raise ValueError(f"invalid room id {room!r}")
        self._check_life(BOOKING_AUDIENCE, ttl_s)
        issued = int(time.time() if now is None else now)
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": BOOKING_AUDIENCE,
            "sub": subject,
            "name": name,
            "room": room,
            "iat": issued,
            "nbf": issued,
            "exp": issued + int(ttl_s),
            "jti": uuid.uuid4().hex,
        }
        if language is not None:
            if language not in LANGUAGES:
                raise ValueError(f"language must be one of {sorted(LANGUAGES)}")
            claims["lang"] = language
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_booking(self, token: str) -> BookingGrant:
        """A booking link's token, or a customer's room token (booking from the room page)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(f"token rejected: {type(exc).__name__}") from exc
        audience = AUDIENCE if unverified.get("aud") == AUDIENCE else BOOKING_AUDIENCE
        claims = self._decode(token, audience)
        if audience == AUDIENCE and claims.get("role") != Role.CUSTOMER.value:
            raise TokenInvalid("only customers book appointments")
        room, name, language = claims.get("room"), claims.get("name"), claims.get("lang", "en")
        if not isinstance(room, str) or not ROOM_ID.match(room):
            raise TokenInvalid("token names no room")
        if language not in LANGUAGES:
            raise TokenInvalid("token's language is not supported")
        return BookingGrant(
            str(claims["sub"]), name if isinstance(name, str) else "customer", room, language
        )

    def _check_life(self, audience: str, ttl_s: float) -> None:
        cap = self._max_life[audience]
        if not 0 < ttl_s <= cap:
            kinds = {
                AUDIENCE: "room",
                CONSOLE_AUDIENCE: "console",
                INVITE_AUDIENCE: "invitation",
                BOOKING_AUDIENCE: "booking",
            }
            kind = kinds[audience]
            raise ValueError(f"{kind} tokens live between 1 and {cap} seconds, not {ttl_s:g}")

    def _decode(self, token: str, audience: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenInvalid(f"token rejected: {type(exc).__name__}") from exc
        life = claims["exp"] - claims["iat"]
        if type(life) is not int or life > self._max_life[audience]:
            raise TokenInvalid(f"token lifetime {life!r} s is over the cap")
        return claims

    def verify(self, token: str, *, room: str) -> Grant:
        claims = self._decode(token, AUDIENCE)
        try:
            role = Role(claims["role"])
            token_room = str(claims["room"])
            subject = str(claims["sub"])
            name = claims.get("name")
            risk = claims.get("risk")
            language = claims.get("lang")
            layout = claims.get("layout")
        except (KeyError, ValueError) as exc:
            raise TokenInvalid("token lacks room or role") from exc
        if risk is not None and (type(risk) is not int or risk not in range(1, 6)):
            raise TokenInvalid("token's risk profile is not C1-C5")
        if language is not None and language not in LANGUAGES:
            raise TokenInvalid("token's language is not supported")
        if layout is not None and (not isinstance(layout, str) or layout not in LAYOUTS):
            raise TokenInvalid("token's layout is not one this server knows")
        if not secrets.compare_digest(token_room, room):
            raise RoomNotAllowed(f"token for room {token_room!r} presented for {room!r}")
        return Grant(
            subject,
            token_room,
            role,
            name if isinstance(name, str) else None,
            risk,
            language,
            layout,
        )
