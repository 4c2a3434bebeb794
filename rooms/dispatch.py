"""The one way a shell carries out a room's outputs: :func:`dispatch` hands each output to the
method of an :class:`OutputSink` that takes its type.

Every shell (the server, the simulator, the in-process driver, the tests' harness) is a sink;
readers of the wire alone (the sync benchmark, the replica property test) take
:func:`frames_of`. A new output type in :data:`rooms.outputs.Output` fails the type check
twice: here, where the ``match`` no longer covers the union, and at every shell, which no longer
fits the protocol. So no shell can drop an output it has not heard of; a shell that ignores one
says so in its method, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, assert_never

from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    Hush,
    InviteOutput,
    IssueInvite,
    Listen,
    MediaEnable,
    MediaOutput,
    MediaSignal,
    MediaStart,
    MediaStop,
    Output,
    PageCancel,
    PageRequest,
    RecordAdmit,
    RecordStart,
    RecordStop,
    RevokeInvite,
    Speak,
    Unlisten,
)


class OutputSink(Protocol):
    """What a shell does with each of the room's outputs: one method per output type, named
    ``on_`` and the type's name in snake case, except voice, video and recording, which go
    whole to ``on_media``."""

    def on_frame(self, out: Frame, /) -> None: ...
    def on_close(self, out: Close, /) -> None: ...
    def on_audit(self, out: Audit, /) -> None: ...
    def on_consult(self, out: Consult, /) -> None: ...
    def on_page_request(self, out: PageRequest, /) -> None: ...
    def on_page_cancel(self, out: PageCancel, /) -> None: ...
    def on_check_factor(self, out: CheckFactor, /) -> None: ...
    def on_fetch_portfolio(self, out: FetchPortfolio, /) -> None: ...
    # Guest links are minted and revoked by one part of the shell, both kinds together.
    def on_invite(self, out: InviteOutput, /) -> None: ...
    # Voice, video and recording go to the media side whole; it matches them one by one
    # (server/media/room_media.py, exhaustive as this is). A shell without media ignores them.
    def on_media(self, out: MediaOutput, /) -> None: ...


def dispatch(outputs: Iterable[Output], sink: OutputSink) -> None:
    """Hand each output to ``sink``, in the room's order."""
    for out in outputs:
        # Frames first: they are most of every batch.
        match out:
            case Frame():
                sink.on_frame(out)
            case Close():
                sink.on_close(out)
            case Audit():
                sink.on_audit(out)
            case Consult():
                sink.on_consult(out)
            case PageRequest():
                sink.on_page_request(out)
            case PageCancel():
                sink.on_page_cancel(out)
            case CheckFactor():
                sink.on_check_factor(out)
            case FetchPortfolio():
                sink.on_fetch_portfolio(out)
            case IssueInvite() | RevokeInvite():
                sink.on_invite(out)
            case (
                MediaStart()
                | MediaStop()
                | MediaSignal()
                | MediaEnable()
                | Speak()
                | Hush()
                | Listen()
                | Unlisten()
                | RecordStart()
                | RecordAdmit()
                | RecordStop()
            ):
                sink.on_media(out)
            case _:
                assert_never(out)


def frames_of(outputs: Iterable[Output]) -> list[Frame]:
    """Only what reaches sockets: for readers of the wire alone (the sync benchmark and the
    replica property test), whose members never ask for anything but sync."""
    return [out for out in outputs if isinstance(out, Frame)]
