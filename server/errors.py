"""Exceptions of the server package.

    ServerError
    ├── ConfigError           settings that cannot work (bad secret, bad layout name)
    ├── MediaError            voice and video (server/media/)
    │   ├── SignalError           a member's answer or ICE candidate refused (its code)
    │   ├── SpeechError           synthesis failed (engine missing, bad voice, timeout)
    │   ├── RecordingError        a recording could not be made or finished
    │   └── ListenError           speech recognition (server/speech/errors.py)
    └── Refused               a connection that is upgraded only to be closed with a code
        ├── AuthError         a token or handshake that does not admit the client
        │   ├── TokenExpired      signature fine, ``exp`` passed              close 4401
        │   ├── TokenInvalid      forged, malformed, wrong issuer or audience close 4405
        │   ├── RoomNotAllowed    token valid, but for another room           close 4406
        │   ├── InviteUsedUp      a guest link that admitted all it may       close 4413
        │   └── InviteRevoked     a guest link revoked (or unknown here)      close 4414
        ├── RoomElsewhere     another node hosts the room; reason: its URL    close 4302
        ├── WrongLayout       token names a layout other than the room's      close 4412
        └── TryLater          shared services unreachable for a new room      close 1013

``public`` is what the client is told; it never says more than the close code does.
"""

from __future__ import annotations

from protocol.codes import CloseCode


class ServerError(Exception):
    """Root of every server failure."""


class ConfigError(ServerError):
    pass


class MediaError(ServerError):
    """Voice and video: the subclasses live beside the code that raises them."""


class Refused(ServerError):
    close_code: CloseCode = CloseCode.INTERNAL_ERROR
    public: str = "refused"


class AuthError(Refused):
    close_code = CloseCode.TOKEN_INVALID
    public = "invalid token"


class TokenExpired(AuthError):
    close_code = CloseCode.TOKEN_EXPIRED
    public = "token expired"


class TokenInvalid(AuthError):
    close_code = CloseCode.TOKEN_INVALID
    public = "invalid token"


class RoomNotAllowed(AuthError):
    close_code = CloseCode.ROOM_NOT_ALLOWED
    public = "token does not admit this room"


class InviteUsedUp(AuthError):
    close_code = CloseCode.INVITE_USED_UP
    public = "this invitation has been used"


class InviteRevoked(AuthError):
    close_code = CloseCode.INVITE_REVOKED
    public = "this invitation was withdrawn"


class RoomElsewhere(Refused):
    close_code = CloseCode.ROOM_MOVED

    def __init__(self, url: str) -> None:
        super().__init__(f"room is hosted at {url}")
        self.public = url  # the client reconnects there


class WrongLayout(Refused):
    close_code = CloseCode.LAYOUT_MISMATCH
    public = "the token names another layout than the room's"


class TryLater(Refused):
    close_code = CloseCode.TRY_AGAIN_LATER
    public = "the room cannot be opened right now; try again shortly"
