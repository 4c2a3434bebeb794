"""Attaching hub viewer tracks to aiortc peer connections, and the keyframe patch point.

Why a patch point: when a viewer's RTCP says it lost the picture (PLI) or needs a full
refresh (FIR), ``RTCRtpSender._handle_rtcp_packet`` calls ``self._send_keyframe()``, which
only sets a private flag that ``_next_encoded_frame`` passes to the sender's own encoder, and
only for raw frames. Tracks that yield ``av.Packet`` (ours) never see the request. So each
sender that carries a hub viewer gets an instance-level wrapper around ``_send_keyframe``
that keeps aiortc's behaviour and also asks the hub's shared encoder for a keyframe. Nothing
global is patched: senders of other tracks are untouched.

Checked against aiortc 1.16.0 (``rtcrtpsender.py``: ``_handle_rtcp_packet`` ->
``_send_keyframe`` for ``RTCP_PSFB_PLI`` and ``RTCP_PSFB_FIR``). ``bind_keyframe_requests``
refuses to run if the method is gone, and ``tests/media/test_media_hub.py`` sends a real PLI and a
direct RTCP packet through a sender and fails if the wrapper is no longer reached.
"""

from __future__ import annotations

from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpSender, RTCRtpTransceiver

from server.media.hub import ViewerTrack

AIORTC_CHECKED = "1.16.0"
PATCH_POINT = "_send_keyframe"


def bind_keyframe_requests(sender: RTCRtpSender, on_request: Callable[[], None]) -> None:
    """Call ``on_request`` whenever ``sender`` receives a PLI or FIR."""
    original = getattr(sender, PATCH_POINT, None)
    if not callable(original):
        raise RuntimeError(
            f"aiortc's RTCRtpSender.{PATCH_POINT} is gone (hook checked against aiortc"
            f" {AIORTC_CHECKED}): keyframe requests would be lost; see server/media/rtc.py"
        )
    if getattr(original, "_hub_hooked", False):
        raise RuntimeError("this sender already forwards keyframe requests")

    def send_keyframe() -> None:
        original()
        on_request()

    send_keyframe._hub_hooked = True  # type: ignore[attr-defined]
    setattr(sender, PATCH_POINT, send_keyframe)


def codec_preferences(kind: str, mime: str) -> list[RTCRtpCodecCapability]:
    """The capabilities to prefer on a transceiver so it negotiates ``mime`` (plus RTX)."""
    caps = RTCRtpSender.getCapabilities(kind).codecs
    chosen = [c for c in caps if c.mimeType.lower() == mime.lower()]
    if not chosen:
        raise RuntimeError(f"this aiortc cannot send {mime}")
    chosen += [c for c in caps if c.mimeType.lower() == f"{kind}/rtx"]
    return chosen


def bind_viewer(transceiver: RTCRtpTransceiver, track: ViewerTrack) -> RTCRtpSender:
    """Make ``transceiver`` send ``track``; call it before codecs are negotiated.

    aiortc fixes a transceiver's codecs in ``createOffer`` (the server offers) or in
    ``setRemoteDescription`` (the member offers), and reads the preferences only then. When
    the member offers, create the transceiver first (``attach_viewer``): aiortc gives the
    offer's m-line to an existing transceiver of its kind that has no mid yet.
    """
    if transceiver.kind != track.kind:
        raise ValueError(f"a {transceiver.kind} transceiver cannot carry {track.kind}")
    negotiated = getattr(transceiver, "_codecs", None) or []
    if negotiated and negotiated[0].mimeType.lower() != track.codec_mime.lower():
        raise RuntimeError(
            f"this transceiver already negotiated {negotiated[0].mimeType}; the hub sends"
            f" {track.codec_mime}: bind before the offer or answer"
        )
    transceiver.setCodecPreferences(codec_preferences(track.kind, track.codec_mime))
    sender = transceiver.sender
    if sender.track is not track:
        sender.replaceTrack(track)  # a transceiver that the member's offer created
    if not getattr(getattr(sender, PATCH_POINT, None), "_hub_hooked", False):
        bind_keyframe_requests(sender, lambda: _forward_keyframe_request(sender))
    return sender


def _forward_keyframe_request(sender: RTCRtpSender) -> None:
    # Resolved at request time: the sender's track may have been replaced since binding,
    # and a track asks whichever lane (quality level) it is on now.
    track = sender.track
    if isinstance(track, ViewerTrack):
        track.request_keyframe()


def attach_viewer(pc: RTCPeerConnection, track: ViewerTrack) -> RTCRtpSender:
    """Add ``track`` to ``pc`` on a new send-only transceiver (the server makes the offer)."""
    transceiver = pc.addTransceiver(track, direction="sendonly")
    return bind_viewer(transceiver, track)
