"""Roles and the one permission table the room consults for every member action."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"  # owns the room
    GUEST = "guest"  # family or friend the customer invited
    ADVISOR = "advisor"  # human bank staff
    OBSERVER = "observer"  # compliance: invisible, read-only
    BOT = "bot"  # QA's scripted visitor


class Action(StrEnum):
    APPEAR = "appear"  # have an avatar that others see
    MOVE = "move"  # send poses for one's own avatar
    RESTYLE = "restyle"  # change one's own appearance
    SIT = "sit"  # take a seat, or stand up
    CHAT = "chat"
    REMOVE_MEMBER = "remove_member"


PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.CUSTOMER: frozenset({Action.APPEAR, Action.MOVE, Action.RESTYLE, Action.SIT, Action.CHAT}),
    Role.GUEST: frozenset({Action.APPEAR, Action.MOVE, Action.RESTYLE, Action.SIT, Action.CHAT}),
    Role.ADVISOR: frozenset(
        {Action.APPEAR, Action.MOVE, Action.RESTYLE, Action.SIT, Action.CHAT, Action.REMOVE_MEMBER}
    ),
    Role.OBSERVER: frozenset(),
    Role.BOT: frozenset({Action.APPEAR, Action.MOVE, Action.RESTYLE, Action.SIT, Action.CHAT}),
}

# Who may be removed from a room: never the owner, never bank staff.
REMOVABLE: frozenset[Role] = frozenset({Role.GUEST, Role.BOT})


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]
