"""Avatar appearance: defaults, and how a partial restyle combines with what is there."""

from __future__ import annotations

from dataclasses import fields, replace

from protocol.messages import Look

# A neutral, business-appropriate default; customers and the bank restyle from here.
DEFAULT_LOOK = Look(
    body="average",
    height=170,
    skin="#c99a7a",
    hair="short",
    hair_color="#2b1d14",
    top="#1f3a5f",
    bottom="#2d2d2d",
    accent="#c8a951",
    face="oval",
)


def restyle(current: Look, change: Look | None) -> Look:
    """``current`` with every field ``change`` sets; the result has no empty field."""
    if change is None:
        return current
    updates = {f.name: v for f in fields(change) if (v := getattr(change, f.name)) is not None}
    return replace(current, **updates)
