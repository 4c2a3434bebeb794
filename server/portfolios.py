"""Customers' holdings, behind :class:`Portfolios` (the bank's core system in production).

:class:`DemoPortfolios` is the embedded default: illustrative holdings of the demo bank's own
products, the same for the same customer every time, so the demo room has something to show
after a step-up. It is not anyone's real portfolio. :class:`ContentPortfolios` shows the
holdings the bank lists in its content (``portfolios.json``) and the demo's for anyone else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from avatars.expertise import Expertise
from avatars.knowledge import Knowledge
from protocol.messages import Holding


class Portfolios(Protocol):
    async def holdings(self, subject: str) -> list[Holding]: ...


class DemoPortfolios:
    def __init__(self, knowledge: Knowledge, *, currency: str = "HKD") -> None:
        self._products = sorted(knowledge.products.values(), key=lambda p: p.id)
        self._currency = currency

    async def holdings(self, subject: str) -> list[Holding]:
        seed = hashlib.sha256(subject.encode()).digest()
        count = 3 + seed[0] % 4
        out: list[Holding] = []
        for i in range(count):
            product = self._products[int.from_bytes(seed[2 * i : 2 * i + 2]) % len(self._products)]
            if any(h.product == product.id for h in out):
                continue
            value = 50_000.0 * (1 + seed[16 + i] % 40)
            name = product.name.get("en", product.id)
            out.append(
                Holding(
                    product.id, name, product.specialty.value, product.risk, value, self._currency
                )
            )
        return out


class ContentPortfolios:
    """The holdings listed in the content in use; the demo's for a customer not listed."""

    def __init__(self, content: Callable[[], Expertise], *, currency: str = "HKD") -> None:
        self._content = content
        self._currency = currency

    async def holdings(self, subject: str) -> list[Holding]:
        expertise = self._content()
        listed = expertise.portfolios.get(subject)
        if listed is None:
            return await DemoPortfolios(expertise.knowledge, currency=self._currency).holdings(
                subject
            )
        out: list[Holding] = []
        for product_id, value, currency in listed:
            product = expertise.knowledge.product(product_id)
            name = product.name.get("en", product.id)
            sp = product.specialty.value
            out.append(Holding(product.id, name, sp, product.risk, float(value), currency))
        return out
