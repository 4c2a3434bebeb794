"""The layers import downwards only, and the core does no I/O (docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each package may import the ones listed for it, and nothing else of the project.
ALLOWED: dict[str, set[str]] = {
    "protocol": set(),
    "scenes": {"protocol"},
    "avatars": {"protocol", "scenes"},
    "rooms": {"protocol", "scenes", "avatars"},
    "advisors": {"protocol", "avatars", "rooms"},
    "server": {"protocol", "scenes", "avatars", "rooms", "advisors"},
    "simulator": {"protocol", "scenes", "avatars", "rooms", "advisors"},
    "tools": {"scenes", "avatars"},  # build tools: room geometry, the zh-HK strings (its script)
}
PROJECT = set(ALLOWED) | {"bench", "fuzzing", "tests", "run_server"}
CORE = ("protocol", "scenes", "avatars", "rooms", "advisors")
# Sockets, tasks, threads, processes, clocks and randomness belong to the shells.
IO_MODULES = {"asyncio", "socket", "threading", "subprocess", "time", "random", "selectors"}
# An in-memory implementation of an async interface needs asyncio's queues, not its I/O.
IO_ALLOWED = {("advisors/bus.py", "asyncio")}


def imports(package: str) -> set[tuple[str, str]]:
    """(file relative to the root, top-level module) for every absolute import."""
    found = set()
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {(path.relative_to(ROOT).as_posix(), n.split(".")[0]) for n in names}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    reached = {(f, m) for f, m in imports(package) if m in PROJECT and m != package}
    assert {(f, m) for f, m in reached if m not in ALLOWED[package]} == set()


@pytest.mark.parametrize("package", CORE)
def test_the_core_does_no_io_and_reads_no_clock(package: str) -> None:
    found = {(f, m) for f, m in imports(package) if m in IO_MODULES}
    assert found - IO_ALLOWED == set()
