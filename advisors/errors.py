"""Exceptions of the advisors package. A console's bad input never raises: it becomes an error
frame. These are for callers that break a contract (a shell, a test).

    AdvisorsError
    └── PageExists        a page id posted twice (also a ValueError: a caller's bad argument)
"""

from __future__ import annotations


class AdvisorsError(Exception):
    """Root of every advisors failure."""


class PageExists(AdvisorsError, ValueError):
    pass
