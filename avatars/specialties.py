"""The bank's specialties (their list is the protocol's) and what a customer reads for each."""

from __future__ import annotations

from protocol.messages import Specialty

__all__ = ["TITLES", "Specialty"]

# What a customer reads next to an expert, in English and Chinese.
TITLES: dict[Specialty, tuple[str, str]] = {
    Specialty.STOCKS: ("Stock expert", "股票专家"),
    Specialty.BONDS: ("Bond expert", "债券专家"),
    Specialty.FUNDS: ("Fund expert", "基金专家"),
    Specialty.INSURANCE: ("Insurance expert", "保险专家"),
    Specialty.DEPOSITS: ("Deposits and cash expert", "存款与现金管理专家"),
    Specialty.FX: ("Foreign exchange expert", "外汇专家"),
    Specialty.TAX: ("Tax and estate expert", "税务与传承专家"),
}
