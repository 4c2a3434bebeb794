"""The one way a shell carries out a room's outputs: :func:`dispatch` hands each output to the
method of an :class:`OutputSink` that takes its type.

Every shell (the server, the simulator, the in-process driver, the tests' harness, the sync
benchmark) is a sink. A new output type in :data:`rooms.outputs.Output` fails the type check
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
    MediaEnable,
    MediaSignal,
    MediaStart,
    MediaStop,
    Output,
    PageCancel,
    PageRequest,
    RecordAdmit,
    RecordStart,
    RecordStop,
    Speak,
)


class OutputSink(Protocol):
    """What a shell does with each of the room's outputs, one method per output type, named
    ``on_`` and the type's name in snake case."""

    def on_frame(self, out: Frame, /) -> None: ...
    def on_close(self, out: Close, /) -> None: ...
    def on_audit(self, out: Audit, /) -> None: ...
    def on_consult(self, out: Consult, /) -> None: ...
    def on_page_request(self, out: PageRequest, /) -> None: ...
    def on_page_cancel(self, out: PageCancel, /) -> None: ...
    def on_check_factor(self, out: CheckFactor, /) -> None: ...
    def on_fetch_portfolio(self, out: FetchPortfolio, /) -> None: ...
    def on_media_start(self, out: MediaStart, /) -> None: ...
    def on_media_stop(self, out: MediaStop, /) -> None: ...
    def on_media_signal(self, out: MediaSignal, /) -> None: ...
    def on_media_enable(self, out: MediaEnable, /) -> None: ...
    def on_speak(self, out: Speak, /) -> None: ...
    def on_record_start(self, out: RecordStart, /) -> None: ...
    def on_record_admit(self, out: RecordAdmit, /) -> None: ...
    def on_record_stop(self, out: RecordStop, /) -> None: ...


def dispatch(outputs: Iterable[Output], sink: OutputSink) -> None:  # noqa: C901 - one case per output type, exhaustive by design
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
            case MediaStart():
                sink.on_media_start(out)
            case MediaStop():
                sink.on_media_stop(out)
            case MediaSignal():
                sink.on_media_signal(out)
            case MediaEnable():
                sink.on_media_enable(out)
            case Speak():
                sink.on_speak(out)
            case RecordStart():
                sink.on_record_start(out)
            case RecordAdmit():
                sink.on_record_admit(out)
            case RecordStop():
                sink.on_record_stop(out)
            case _:
                assert_never(out)
