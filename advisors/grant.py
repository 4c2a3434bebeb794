"""What a verified console token proves. The token itself is checked by the server's shell
(``server/auth.py`` holds the secret); the advisor core only needs what it proves."""

from __future__ import annotations

from dataclasses import dataclass

from avatars.specialties import Specialty


@dataclass(frozen=True, slots=True)
class ConsoleGrant:
    """What a verified console token proves: an advisor, their skills and languages."""

    subject: str
    name: str
    skills: frozenset[Specialty]
    languages: frozenset[str]
    customers: frozenset[str]


@dataclass(frozen=True, slots=True)
class BookingGrant:
    """What a booking link (or a customer's room token) proves: a customer, and the room their
    appointments open in."""

    subject: str
    name: str
    room: str
    language: str = "en"  # of the notices the customer reads, and asked of the advisors
