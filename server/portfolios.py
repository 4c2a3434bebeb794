"""Customers' holdings, behind :class:`Portfolios` (the bank's core system in production).

:class:`DemoPortfolios` is the embedded default: illustrative holdings of the demo bank's own
products, the same for the same customer every time, so the demo room has something to show
after a step-up. It is not anyone's real portfolio.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

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
