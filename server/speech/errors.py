"""Exceptions of speech recognition (``server/speech/``).

    MediaError (server/errors.py)
    └── ListenError              speech in failed
        ├── AudioRefused             a track whose audio cannot be heard (rate, channels)
        └── EndpointFailed           the transcription endpoint is down, slow or answers garbage

None of them reaches the room: the listener turns ``AudioRefused`` into an event and the
endpoint client turns ``EndpointFailed`` into the offline recogniser's answer or a
``PleaseType`` outcome.
"""

from __future__ import annotations

from server.errors import MediaError


class ListenError(MediaError):
    """Root of every speech-recognition failure."""


class AudioRefused(ListenError):
    pass


class EndpointFailed(ListenError):
    pass
