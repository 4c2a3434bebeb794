"""Paths and URLs a node hands out. One place, because the gateway routes by them and room
placement builds them into redirects, and the two must agree."""

from __future__ import annotations

WS_PREFIX = "/ws/"
CONSOLE_PATH = "/console"
# The customer's record of a session: GET /summary/<room>?lang=en|zh, their token as Bearer.
SUMMARY_PREFIX = "/summary/"
BOOK_PATH = "/book"  # a customer's appointments: from the room page or a booking link
# Query flag on a placement redirect: "you were chosen to host this room", so the chosen node
# claims it instead of redirecting again on newer load figures.
PLACED = "placed=1"


def ws_base_of(base_url: str) -> str:
    """``http(s)://host:port`` -> ``ws(s)://host:port``."""
    return "ws" + base_url.rstrip("/").removeprefix("http")


def room_url_at(base_url: str, room: str) -> str:
    """Where a client connects for ``room`` on the node at ``base_url``."""
    return f"{ws_base_of(base_url)}{WS_PREFIX}{room}"
