"""The bank's expertise in one bundle: routing, personas and product knowledge.

Loaded once per process from the data files and shared by every room (it is read-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

from avatars.advice import AI_LABEL, Reply
from avatars.knowledge import Knowledge
from avatars.personas import Personas
from avatars.retrieval import Retriever
from avatars.routing import Router
from avatars.script import to_hk
from avatars.specialties import TITLES

# A customer's holdings as the bank lists them: (product id, value, currency).
Portfolio = tuple[tuple[str, int, str], ...]


@dataclass(frozen=True, slots=True)
class Expertise:
    router: Router
    personas: Personas
    knowledge: Knowledge
    version: str = "-"  # the content's hash (avatars.content), audited with every answer
    portfolios: Mapping[str, Portfolio] = field(default_factory=lambda: MappingProxyType({}))
    # Built ahead by the shell (it takes seconds); None: built by the first room that asks.
    retriever: Retriever | None = field(default=None, compare=False)


@cache
def default_expertise() -> Expertise:
    """The package's own content."""
    from avatars.content import default_texts, parse_content  # it builds on this module

    return parse_content(default_texts())


def concierge_reply(language: str) -> Reply:
    """What the room says to a question no specialty covers."""
    if language == "en":
        topics = ", ".join(en.lower() for en, _ in TITLES.values())
        text = (
            f"I can bring in a {topics.replace('expert', 'specialist')}. "
            "Ask about one of these, or press “talk to a person” for a human advisor."
        )
    else:
        topics = "、".join(zh for _, zh in TITLES.values())
        text = f"我可以请来{topics}。请就其中一项提问，或按“找真人顾问”联系人工顾问。"
        if language == "yue":
            text = to_hk(text)  # as Hong Kong writes it, and the room page's zh-HK button
    return Reply(text, (), None, None, False, None, AI_LABEL.get(language, AI_LABEL["en"]))
