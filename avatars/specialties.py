"""The bank's specialties: one digital expert persona family per specialty."""

from __future__ import annotations

from enum import StrEnum


class Specialty(StrEnum):
    STOCKS = "stocks"
    BONDS = "bonds"
    FUNDS = "funds"
    INSURANCE = "insurance"
    DEPOSITS = "deposits"  # deposits and cash management
    FX = "fx"  # foreign exchange
    TAX = "tax"  # tax and estate planning


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
