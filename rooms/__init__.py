"""Room state machine: membership, roles and permissions, chat, tick. Pure; no I/O, no clock."""

from rooms.limits import RoomLimits
from rooms.members import Grant, Phase
from rooms.outputs import Close, Frame, Output
from rooms.roles import PERMISSIONS, Action, Role, allowed
from rooms.room import Room

__all__ = [
    "PERMISSIONS",
    "Action",
    "Close",
    "Frame",
    "Grant",
    "Output",
    "Phase",
    "Role",
    "Room",
    "RoomLimits",
    "allowed",
]
