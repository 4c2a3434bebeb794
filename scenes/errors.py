"""Exceptions of the scenes package.

SceneError
├── LayoutError       a layout file is missing, unreadable or inconsistent
└── NoSuchEntity      an entity id the scene does not hold
"""

from __future__ import annotations


class SceneError(Exception):
    """Root of every scenes failure."""


class LayoutError(SceneError):
    pass


class NoSuchEntity(SceneError):
    pass
