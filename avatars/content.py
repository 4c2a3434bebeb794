"""The content the bank edits, as one checked and versioned bundle.

Personas, products, FAQs, routing terms and portfolios are read by the shell from a content
directory (``WEALTHROOM_CONTENT_DIR``; the package's ``data/`` files are the defaults for any
file the directory lacks) and handed here as texts: :func:`parse_content` checks them all and
builds an :class:`~avatars.expertise.Expertise`, or raises :class:`ContentError` naming the
file, the line and the field. The version is a hash of the texts, so the same files give the
same version on every node, and an answer's audit says which content it came from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

from avatars.errors import AvatarDataError
from avatars.expertise import Expertise, Portfolio
from avatars.json_lines import line_of
from avatars.knowledge import (
    DATA_DIR,
    FAQS_FILE,
    PRODUCTS_FILE,
    DataRecord,
    Knowledge,
    parse_data,
)
from avatars.personas import PERSONAS_FILE, Personas
from avatars.routing import DEFAULT_LEXICON, Lexicon, Router

ROUTING_FILE = DEFAULT_LEXICON.name
PORTFOLIOS_FILE = "portfolios.json"
# Every file of the content, in the order they are checked (an error names the first).
CONTENT_FILES = (PERSONAS_FILE.name, PRODUCTS_FILE, FAQS_FILE, ROUTING_FILE, PORTFOLIOS_FILE)
MAX_HOLDINGS = 50  # one customer's, as the room's portfolio panel shows them
MAX_VALUE = 10**12


class PortfolioDataError(AvatarDataError):
    """``portfolios.json`` is invalid."""


class ContentError(Exception):
    """A content file is invalid: ``file``, ``line`` (1-based) and ``field`` (dotted, ``-``
    for the file as a whole) say where, ``problem`` what."""

    def __init__(self, file: str, line: int, field: str, problem: str) -> None:
        super().__init__(f"{file}: line {line}: {field}: {problem}")
        self.file = file
        self.line = line
        self.field = field
        self.problem = problem


def content_version(texts: Mapping[str, str]) -> str:
    """A short hash of every file's name and text: equal content, equal version."""
    digest = hashlib.sha256()
    for name in sorted(texts):
        data = texts[name].encode()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()[:16]


def default_texts() -> dict[str, str]:
    """The package's own content files."""
    return {name: (DATA_DIR / name).read_text(encoding="utf-8") for name in CONTENT_FILES}


def parse_content(texts: Mapping[str, str]) -> Expertise:
    """The expertise in ``texts`` (file name -> text, every one of :data:`CONTENT_FILES`).
    Raises :class:`ContentError` for the first fault found."""
    missing = [name for name in CONTENT_FILES if name not in texts]
    if missing:
        raise ContentError(missing[0], 1, "-", "no such file")
    current = CONTENT_FILES[0]
    try:
        personas = Personas.parse(texts[current], current)
        current = PRODUCTS_FILE
        knowledge = Knowledge.parse(texts[PRODUCTS_FILE], texts[FAQS_FILE])
        current = ROUTING_FILE
        router = Router(Lexicon.parse(texts[ROUTING_FILE], ROUTING_FILE))
        current = PORTFOLIOS_FILE
        portfolios = parse_portfolios(texts[PORTFOLIOS_FILE], knowledge)
    except AvatarDataError as exc:
        raise _located(exc, current, texts) from None
    return Expertise(router, personas, knowledge, content_version(texts), portfolios)


def parse_portfolios(text: str, knowledge: Knowledge) -> Mapping[str, Portfolio]:
    """Customers' holdings by token subject; every holding names a product of ``knowledge``."""
    out: dict[str, Portfolio] = {}
    for i, raw in enumerate(parse_data(text, PORTFOLIOS_FILE, "portfolios", PortfolioDataError)):
        where = f"{PORTFOLIOS_FILE}: portfolio #{i + 1}"
        record = DataRecord(raw, where, PortfolioDataError, ("portfolios", i))
        record.fields(("subject", "holdings"))
        subject = record.text("subject", 200)
        if subject in out:
            record.fail("subject", f"{subject!r} is listed twice")
        items = record.raw["holdings"]
        if type(items) is not list or len(items) > MAX_HOLDINGS:
            record.fail("holdings", f"expected a list of at most {MAX_HOLDINGS} holdings")
        holdings = []
        for j, item in enumerate(items):
            at = (*record.at, "holdings", j)
            holding = DataRecord(item, f"{where}: holding #{j + 1}", PortfolioDataError, at)
            holding.fields(("product", "value", "currency"))
            product = holding.choice("product", knowledge.products)
            value = holding.integer("value", 0, MAX_VALUE)
            currency = holding.text("currency", 3)
            if len(currency) != 3 or not currency.isupper():
                holding.fail("currency", f"{currency!r} is not a three-letter currency code")
            holdings.append((product, value, currency))
        out[subject] = tuple(holdings)
    return MappingProxyType(out)


def _located(exc: AvatarDataError, fallback: str, texts: Mapping[str, str]) -> ContentError:
    """``exc`` as a :class:`ContentError`: its file from the message (a knowledge error may be
    about either of its two files), the line from where it points."""
    message = str(exc)
    name = next((n for n in CONTENT_FILES if message.startswith(n)), fallback)
    problem = message.removeprefix(name).removeprefix(": ")
    line = _json_error_line(problem)
    if line is None:
        line = line_of(texts[name], exc.at) if exc.at else 1
    field = ".".join(str(step) for step in exc.at) or "-"
    return ContentError(name, line, field, problem)


def _json_error_line(problem: str) -> int | None:
    # The decoder's own message already carries the line of a syntax error.
    marker = " line "
    if not problem.startswith("not ") or marker not in problem:
        return None
    digits = problem.split(marker, 1)[1].split()[0].rstrip(":")
    return int(digits) if digits.isdigit() else None
