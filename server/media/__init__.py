"""Live voice and video: the fan-out hub, its aiortc glue, speech synthesis and playback.

Not wired into room signalling yet; see ``hub.py`` for the shape.
"""

from server.media.codecs import Quality
from server.media.hub import MediaHub, SourceState, SourceStats, ViewerTrack
from server.media.rtc import attach_viewer, bind_keyframe_requests, bind_viewer
from server.media.speech_track import ClipStart, Playback, SpeechTrack
from server.media.tts import EspeakSpeaker, Speaker, SpeechClip, SpeechError

__all__ = [
    "ClipStart",
    "EspeakSpeaker",
    "MediaHub",
    "Playback",
    "Quality",
    "SourceState",
    "SourceStats",
    "Speaker",
    "SpeechClip",
    "SpeechError",
    "SpeechTrack",
    "ViewerTrack",
    "attach_viewer",
    "bind_keyframe_requests",
    "bind_viewer",
]
