"""The server's media, built from its settings: the hub, the voice engine, the recorder."""

from __future__ import annotations

import logging
from pathlib import Path

from server.config import Settings
from server.media.hub import MediaHub
from server.media.pictures import RoomPictures
from server.media.recorder import SessionRecorder
from server.media.room_media import MediaNode, MediaSettings, RecorderFactory
from server.media.tts import EspeakSpeaker
from server.media.turn import IceConfig
from server.speech.setup import make_transcriber

log = logging.getLogger(__name__)


def media_node(settings: Settings) -> MediaNode:
    speaker = None
    if settings.speech:
        if EspeakSpeaker.available():
            speaker = EspeakSpeaker()
        else:
            log.warning("espeak-ng is not installed: digital experts will not speak")
    return MediaNode(
        MediaSettings(
            connect_timeout_s=settings.media_connect_timeout_s,
            max_peers=settings.max_media_peers,
            ice_servers=settings.ice_servers,
            member_ice=member_ice(settings),
        ),
        speaker=speaker,
        video=RoomPictures(),
        recorder=recorders(settings.recordings_dir),
        transcriber=make_transcriber(settings),
    )


def member_ice(settings: Settings) -> IceConfig | None:
    if not settings.member_ice_urls:
        return None
    secret = settings.turn_secret.get_secret_value().encode() if settings.turn_secret else None
    config = IceConfig(settings.member_ice_urls, secret, settings.turn_ttl_s)
    if config.turn and secret is None:
        log.warning("turn: URLs are set but no turn_secret: members get STUN only")
    return config


def recorders(directory: Path) -> RecorderFactory:
    def make(
        hub: MediaHub, room: str, recording_id: str, by: str, retention_days: int
    ) -> SessionRecorder:
        return SessionRecorder(
            hub,
            directory,
            room=room,
            recording_id=recording_id,
            started_by=by,
            retention_days=retention_days,
        )

    return make
