"""ICE servers for members: STUN, and TURN with time-limited credentials.

Members behind NAT (a 5G headset, a phone on a carrier network) reach the server's peers
through a TURN relay. The relay and this server share a secret and nothing else: each
member gets a user name ``<expiry>:<subject>`` and, as its password, the base64 HMAC-SHA1 of
that name under the secret, which the relay checks by itself (the "TURN REST API" scheme
coturn implements as ``use-auth-secret``). Credentials outlive the session only by
``ttl_s``; nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from protocol import messages as m


@dataclass(frozen=True, slots=True)
class IceConfig:
    urls: tuple[str, ...]  # stun:, turn: and turns: URLs handed to members
    secret: bytes | None = None  # the relay's static-auth-secret; None: STUN only
    ttl_s: int = 3600

    @property
    def turn(self) -> tuple[str, ...]:
        return tuple(u for u in self.urls if u.startswith(("turn:", "turns:")))

    @property
    def stun(self) -> tuple[str, ...]:
        return tuple(u for u in self.urls if u.startswith("stun:"))

    def servers_for(self, subject: str, now: float) -> m.IceServers:
        """What member ``subject`` gives its RTCPeerConnection, valid from ``now``."""
        expiry = int(now) + self.ttl_s
        servers: list[m.IceServer] = []
        if self.stun:
            servers.append(m.IceServer(list(self.stun)))
        if self.turn and self.secret is not None:
            username = f"{expiry}:{subject}"
            servers.append(
                m.IceServer(list(self.turn), username, turn_password(self.secret, username))
            )
        return m.IceServers(servers, expiry * 1000)


def turn_password(secret: bytes, username: str) -> str:
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
