"""The server's event loop: the one the settings name, and a clear error when it is missing."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from server.config import Settings
from server.errors import ConfigError
from server.event_loop import loop_name, run_loop


async def _name() -> str:
    return loop_name()


@pytest.mark.parametrize(("choice", "expected"), [("asyncio", "asyncio"), ("uvloop", "uvloop")])
def test_run_loop_runs_on_the_loop_named(choice: str, expected: str) -> None:
    assert run_loop(_name(), choice) == expected  # type: ignore[arg-type]


def test_auto_takes_uvloop_when_installed() -> None:
    assert run_loop(_name(), "auto") == "uvloop"


def test_asking_for_uvloop_without_it_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    monkeypatch.setattr("server.event_loop.uvloop_available", lambda: False)
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        run_loop(_name(), "uvloop")
    assert run_loop(_name(), "auto") == "asyncio"


def test_an_unknown_loop_is_refused_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEALTHROOM_EVENT_LOOP", "trio")
    with pytest.raises(ValidationError, match="event_loop"):
        Settings()


@pytest.mark.asyncio(loop_factories=["asyncio", "uvloop"])
async def test_tests_marked_for_both_loops_run_on_each(request: pytest.FixtureRequest) -> None:
    # The media tests that carry this mark are what shows aiortc works on the served loop.
    assert loop_name() == request.node.callspec.id
