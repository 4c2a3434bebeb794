"""Scenarios of several layouts against one server: each room opened as its scenario's layout,
whatever the server's default, because the bots' tokens name it."""

from __future__ import annotations

import asyncio
from typing import Any

from scenes.layout import known_layouts
from server.app import WealthroomServer
from simulator.scenario import parse_scenario
from simulator.simulate import run_over_sockets


def _visit(layout: str, seat_of_customer: str | None) -> dict[str, Any]:
    arrive: dict[str, Any] = {"do": "join", "bot": "Ann Lee"}
    if seat_of_customer is not None:
        arrive["expect"] = {"seat": seat_of_customer}
    return {
        "scenario": f"visit_{layout}",
        "title": f"A short visit to a {layout}",
        "layout": layout,
        "room": f"sim-{layout.replace('_', '-')}",
        "seed": 3,
        "within_s": 8,
        "bots": [
            {"name": "Ann Lee", "role": "customer"},
            {"name": "Ben Lee", "role": "guest"},
        ],
        "steps": [
            arrive,
            {"do": "join", "bot": "Ben Lee"},
            {"do": "look_around", "bots": ["Ann Lee", "Ben Lee"], "seconds": 1},
            {"do": "checkpoint", "name": "arrived"},
            {"do": "leave", "bot": "Ben Lee"},
            {"do": "wait_for", "bot": "Ann Lee", "until": {"gone": "Ben Lee"}},
        ],
    }


async def test_scenarios_of_three_layouts_run_at_once_against_one_server(
    server: WealthroomServer,
) -> None:
    assert server.settings.layout == "private_room"
    # The lobby's customer arrives standing: its first spawn points are no seats.
    visits: list[tuple[str, str | None]] = [("private_room", "seat-customer")]
    visits += [("seminar_room", "row-A-1")]
    visits.append(("branch_lobby", None))
    scenarios = [
        parse_scenario(_visit(*v), source=f"{v[0]}.json", layouts=known_layouts()) for v in visits
    ]
    results = await asyncio.gather(
        *(run_over_sockets(s, url=server.base_url, tokens=server.tokens) for s in scenarios)
    )
    for scenario, result in zip(scenarios, results, strict=True):
        assert result.ok, "\n".join(str(f) for f in result.verdict.findings)
        # What the server's own QA view says the room is, not what the bots assumed.
        assert result.world.server_layout == scenario.layout
