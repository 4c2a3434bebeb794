"""Chinese script conversion: simplified for matching, Hong Kong traditional for Cantonese answers.

OpenCC's tables (``opencc-python-reimplemented``, pure Python) rather than a hand list: a
Cantonese answer must have every character in traditional form, not only finance words.
"""

from __future__ import annotations

from functools import cache

from opencc import OpenCC

__all__ = ["to_hk", "to_simplified"]


@cache
def _converter(config: str) -> OpenCC:
    return OpenCC(config)


def to_simplified(text: str) -> str:
    return str(_converter("t2s").convert(text))


def to_hk(text: str) -> str:
    """``text`` in traditional characters as written in Hong Kong."""
    return str(_converter("s2hk").convert(text))
