"""Where a value sits in a JSON text: the line an error about a data file names.

The standard decoder keeps no positions, so the text is walked again along the path of keys
and indices the error names, the decoder itself reading each key and skipping each value: only
valid JSON is walked (it has been decoded once already), and only the punctuation is ours.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

_DECODER = json.JSONDecoder()
_SPACE = " \t\r\n"


def line_of(text: str, at: Sequence[str | int]) -> int:
    """The 1-based line of the value at ``at`` in ``text`` (of its key, inside an object), or of
    the deepest part of ``at`` that exists: a missing field is reported at its record."""
    pos = _skip(text, 0)
    mark = pos
    for step in at:
        found = _member(text, pos, step)
        if found is None:
            break
        mark, pos = found
    return text.count("\n", 0, mark) + 1


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _member(text: str, pos: int, step: str | int) -> tuple[int, int] | None:
    """Where ``step`` starts in the object or array at ``pos`` (its key's position in an
    object), and where its value starts."""
    if pos >= len(text) or text[pos] not in "{[":
        return None
    in_object = text[pos] == "{"
    if in_object != isinstance(step, str):
        return None
    pos = _skip(text, pos + 1)
    index = 0
    while pos < len(text) and text[pos] not in "]}":
        start = pos
        key: str | int = index
        if in_object:
            key, pos = _DECODER.raw_decode(text, pos)  # the key: a string
            pos = _skip(text, _skip(text, pos) + 1)  # past the colon
        if key == step:
            return start, pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
        index += 1
    return None
