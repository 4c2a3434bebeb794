"""Avatars: display names, appearance, VR pose (head and hands), and their checks."""

from avatars.appearance import DEFAULT_LOOK, restyle
from avatars.names import clean_display_name
from avatars.pose import MAX_REACH_MM, moved_by, quantise_pose

__all__ = [
    "DEFAULT_LOOK",
    "MAX_REACH_MM",
    "clean_display_name",
    "moved_by",
    "quantise_pose",
    "restyle",
]
