"""Display names shown above avatars: what a member may call themselves."""

from __future__ import annotations

import unicodedata

from protocol.errors import BadValue
from protocol.limits import MAX_NAME_CHARS

# Control and format characters (bidi overrides, zero-width joiners) would let a name
# impersonate another or break the layout of every member's screen.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean_display_name(raw: str) -> str:
    """Normalise (NFC), drop invisible characters, collapse whitespace; reject empty results."""
    text = unicodedata.normalize("NFC", raw)
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in _FORBIDDEN_CATEGORIES)
    name = " ".join(kept.split())
    if not name:
        raise BadValue("join.name: must contain visible characters", msg_type="join")
    return name[:MAX_NAME_CHARS]
