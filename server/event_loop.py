"""Which asyncio event loop runs the server: uvloop where it is installed, else asyncio's own.

uvloop (libuv, in C) makes a node's socket reads, writes and callbacks cheaper, which is most
of what a node carrying thousands of members does besides their rooms' work. Everything here
is plain asyncio, so either loop runs it.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from server.errors import ConfigError

T = TypeVar("T")
LoopChoice = Literal["auto", "uvloop", "asyncio"]


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def run_loop(main: Coroutine[Any, Any, T], choice: LoopChoice = "auto") -> T:
    """``asyncio.run(main)`` on the event loop ``choice`` names."""
    if choice == "uvloop" or (choice == "auto" and uvloop_available()):
        try:
            import uvloop
        except ImportError as exc:
            main.close()
            raise ConfigError("WEALTHROOM_EVENT_LOOP=uvloop, but uvloop is not installed") from exc
        return uvloop.run(main)
    return asyncio.run(main)


def loop_name() -> str:
    """The running loop's name as the settings spell it."""
    return (
        "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
    )


__all__ = ["LoopChoice", "loop_name", "run_loop", "uvloop_available"]
