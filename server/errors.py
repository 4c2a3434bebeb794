"""Exceptions of the server package.

    ServerError
    ├── ConfigError           settings that cannot work (bad secret, bad layout name)
    └── AuthError             a token or handshake that does not admit the client
        ├── TokenExpired      signature fine, ``exp`` passed                  close 4401
        ├── TokenInvalid      forged, malformed, wrong issuer or audience     close 4405
        └── RoomNotAllowed    token valid, but for another room               close 4406

``public`` is what the client is told; it never says more than the close code does.
"""

from __future__ import annotations

from protocol.codes import CloseCode


class ServerError(Exception):
    """Root of every server failure."""


class ConfigError(ServerError):
    pass


class AuthError(ServerError):
    close_code: CloseCode = CloseCode.TOKEN_INVALID
    public: str = "invalid token"


class TokenExpired(AuthError):
    close_code = CloseCode.TOKEN_EXPIRED
    public = "token expired"


class TokenInvalid(AuthError):
    close_code = CloseCode.TOKEN_INVALID
    public = "invalid token"


class RoomNotAllowed(AuthError):
    close_code = CloseCode.ROOM_NOT_ALLOWED
    public = "token does not admit this room"
