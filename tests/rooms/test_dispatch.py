"""Every output type the room can emit has its method on the sink, and dispatch calls it.

mypy already refuses a ``dispatch`` that misses a type of the union and a shell that misses a
method of the protocol; this checks the same at run time, from the union itself, so that an
output added to the union but to neither is caught too.
"""

from __future__ import annotations

import re
import types
from typing import Any, cast, get_args

import pytest

from rooms import outputs
from rooms.dispatch import OutputSink, dispatch
from server.room_host import RoomHost
from simulator.inprocess import Session
from simulator.virtual import VirtualWorld
from tests.harness import Harness


def _types(union: Any) -> list[type]:
    if isinstance(union, types.UnionType):
        return [t for arg in get_args(union) for t in _types(arg)]
    return [union]


OUTPUT_TYPES = _types(outputs.Output)
MEDIA_TYPES = set(_types(outputs.MediaOutput))
INVITE_TYPES = set(_types(outputs.InviteOutput))


def _method(cls: type) -> str:
    """The sink method for an output type: media outputs all go to the media side's one, guest
    links' to one too."""
    if cls in MEDIA_TYPES:
        return "on_media"
    if cls in INVITE_TYPES:
        return "on_invite"
    return "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def _sink_methods() -> set[str]:
    return {name for name in vars(OutputSink) if name.startswith("on_")}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda out: self.calls.append((name, out))


def test_the_union_holds_every_output_dataclass_once() -> None:
    declared = {
        obj
        for obj in vars(outputs).values()
        if isinstance(obj, type) and obj.__module__ == outputs.__name__
    }
    assert len(OUTPUT_TYPES) == len(set(OUTPUT_TYPES))
    assert set(OUTPUT_TYPES) == declared


def test_the_sink_has_one_method_per_kind_of_output_and_no_other() -> None:
    assert _sink_methods() == {_method(cls) for cls in OUTPUT_TYPES}


@pytest.mark.parametrize("cls", OUTPUT_TYPES, ids=lambda cls: cls.__name__)
def test_dispatch_hands_each_output_to_its_method(cls: type) -> None:
    out = cast(outputs.Output, object.__new__(cls))  # dispatch looks at the type only
    sink = Recorder()
    dispatch([out], cast(OutputSink, sink))
    assert sink.calls == [(_method(cls), out)]


def test_dispatch_keeps_the_room_order() -> None:
    frame = outputs.Frame((1,), b"x", reliable=True)
    close = outputs.Close.__new__(outputs.Close)
    stop = outputs.RecordStop("rec")
    sink = Recorder()
    dispatch([frame, stop, close, frame], cast(OutputSink, sink))
    assert sink.calls == [
        ("on_frame", frame),
        ("on_media", stop),
        ("on_close", close),
        ("on_frame", frame),
    ]


def test_an_unknown_output_is_refused_not_dropped() -> None:
    with pytest.raises(AssertionError):
        dispatch([cast(outputs.Output, object())], cast(OutputSink, Recorder()))


@pytest.mark.parametrize("shell", [RoomHost, VirtualWorld, Session, Harness])
def test_every_shell_has_every_sink_method(shell: type) -> None:
    assert {name for name in _sink_methods() if not callable(getattr(shell, name, None))} == set()
