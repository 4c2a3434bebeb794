"""Avatars: who is shown in the room and how (display names now; appearance and VR pose next)."""

from avatars.names import clean_display_name

__all__ = ["clean_display_name"]
