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
    ASK = "ask"  # put a question to the digital experts
    SUMMON = "summon"  # bring an expert of a given specialty
    DISMISS = "dismiss"  # send experts away
    HELP = "help"  # ask for a human advisor
    PRESENT = "present"  # put a chart on a wall screen
    LISTEN = "listen"  # receive the room's voices and video (and manage one's own media)
    SPEAK = "speak"  # send a microphone
    CAMERA = "camera"  # send a camera
    RECORD = "record"  # record the session for compliance (after the consent notice)
    INVITE = "invite"  # mint and revoke guest links to the room
    # Sensitive: also need a recent second-factor verification (rooms/stepup.py).
    VIEW_PORTFOLIO = "view_portfolio"
    CONFIRM_INTEREST = "confirm_interest"


_VISITOR = frozenset(
    {Action.APPEAR, Action.MOVE, Action.RESTYLE, Action.SIT, Action.CHAT, Action.LISTEN}
)

PERMISSIONS: dict[Role, frozenset[Action]] = {
    # The customer invites family and may send a guest away again (guests only: see
    # CUSTOMER_REMOVES).
    Role.CUSTOMER: _VISITOR
    | {Action.SPEAK, Action.CAMERA}
    | {Action.ASK, Action.SUMMON, Action.DISMISS, Action.HELP}
    | {Action.INVITE, Action.REMOVE_MEMBER}
    | {Action.VIEW_PORTFOLIO, Action.CONFIRM_INTEREST},
    # Family may ask, talk and call for a person, but the room's experts are the customer's
    # to choose and send away, and a guest's camera stays off: the bank's room shows the
    # people it has identified.
    Role.GUEST: _VISITOR | {Action.ASK, Action.HELP, Action.SPEAK},
    Role.ADVISOR: _VISITOR
    | {Action.SPEAK, Action.CAMERA, Action.RECORD, Action.INVITE}
    | {Action.REMOVE_MEMBER, Action.ASK, Action.SUMMON, Action.DISMISS, Action.PRESENT},
    # Compliance watches and listens, invisibly, and says nothing.
    Role.OBSERVER: frozenset({Action.LISTEN}),
    Role.BOT: _VISITOR
    | {Action.SPEAK, Action.CAMERA}
    | {Action.ASK, Action.SUMMON, Action.DISMISS, Action.HELP},
}

# Who may be removed from a room: never the owner, never bank staff.
REMOVABLE: frozenset[Role] = frozenset({Role.GUEST, Role.BOT})
# Whom a customer may remove: their own guests; QA's bots are the bank's business.
CUSTOMER_REMOVES: frozenset[Role] = frozenset({Role.GUEST})


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]
