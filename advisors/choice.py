"""Which advisor a page may go to, and who is asked first. Pure: the same rule decides on
every node, in the simulator and in tests."""

from __future__ import annotations

from collections.abc import Iterable

from advisors.grant import ConsoleGrant
from advisors.pages import Page
from advisors.presence import AdvisorState, AdvisorStatus


def can_take(advisor: AdvisorStatus | ConsoleGrant, page: Page, now: float) -> bool:
    """Whether this advisor may be offered the page: while a booked advisor's head start
    lasts, they alone; then their customer, or their skill."""
    if page.first is not None and now < page.first_until:
        return advisor.subject == page.first
    if page.first == advisor.subject or page.customer in advisor.customers:
        return True
    return page.skill is None or page.skill in advisor.skills


def choose_advisor(
    advisors: Iterable[AdvisorStatus], page: Page, now: float
) -> AdvisorStatus | None:
    """Who to ask first: the advisor the customer booked, then the customer's own advisor if
    free, then the right skill in the customer's language, then the right skill; among equals,
    the one idle longest."""
    free = [a for a in advisors if a.state is AdvisorState.AVAILABLE and can_take(a, page, now)]
    if not free:
        return None

    def rank(a: AdvisorStatus) -> tuple[int, int, int, float, str]:
        booked = 0 if a.subject == page.first else 1
        own = 0 if page.customer in a.customers else 1
        speaks = 0 if page.language in a.languages else 1
        return (booked, own, speaks, a.updated, a.subject)

    return min(free, key=rank)
