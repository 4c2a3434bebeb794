"""The voice-activity decision the segmenter uses: WebRTC's VAD (``webrtcvad-wheels``)."""

from __future__ import annotations

import webrtcvad

from server.speech.segmenter import FRAME_SAMPLES, SAMPLE_RATE, IsSpeech


def webrtc_vad(aggressiveness: int = 3) -> IsSpeech:
    """0 lets most sound through as speech, 3 the least; 3 keeps steady noise out."""
    if not 0 <= aggressiveness <= 3:
        raise ValueError("aggressiveness is 0..3")
    vad = webrtcvad.Vad(aggressiveness)

    def is_speech(frame: bytes) -> bool:
        if len(frame) != 2 * FRAME_SAMPLES:
            raise ValueError(f"a frame is {FRAME_SAMPLES} samples")
        return bool(vad.is_speech(frame, SAMPLE_RATE))

    return is_speech
