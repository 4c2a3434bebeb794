"""Which layout a room is built with, and the layouts a node has loaded.

One node hosts rooms of every layout at once (a bank runs private rooms, a branch lobby and
seminars side by side). A room's layout is fixed when it is first opened: the ``layout`` claim
of the token that opens it, else the node's default (``WEALTHROOM_LAYOUT``). A room that lives
already, here or in the store after its node died, keeps its own; a token that names another
is refused (close 4412), because seating a seminar's audience in a private room would be
wrong in every seat. A token without the claim joins whatever the room is.
"""

from __future__ import annotations

from scenes.layout import Layout, load_layout
from server.errors import WrongLayout


def layout_for(room: str, *, live: str | None, claimed: str | None, default: str) -> str:
    """The layout ``room`` has: ``live`` if it exists (stored or hosted), else the claim or
    ``default``. Raises ``WrongLayout`` when the claim names another than the live one."""
    if live is None:
        return claimed or default
    if claimed is not None and claimed != live:
        raise WrongLayout(f"room {room} is a {live}; the token asks for {claimed}")
    return live


class Layouts:
    """Layouts by name, each parsed once: rooms of the same layout share one (immutable)."""

    def __init__(self, default: Layout) -> None:
        self.default = default
        self._by_name = {default.name: default}

    def get(self, name: str) -> Layout:
        layout = self._by_name.get(name)
        if layout is None:
            layout = self._by_name[name] = load_layout(name)
        return layout
