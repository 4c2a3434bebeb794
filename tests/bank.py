"""The bank's product knowledge as the tests share it, and customers' questions prepared
against it. Loaded once: it is read-only, and every room shares one too."""

from __future__ import annotations

from avatars.advice import Brief, Profile
from avatars.knowledge import Knowledge
from avatars.specialties import Specialty
from avatars.suitability import prepare

KNOWLEDGE = Knowledge.load()


def brief(text: str, specialty: Specialty, risk: int | None, language: str = "en") -> Brief:
    """``text`` asked of a ``specialty`` expert by a customer whose risk profile is ``risk``
    (None: not assessed)."""
    return prepare(text, specialty, Profile(risk), KNOWLEDGE, language=language)
