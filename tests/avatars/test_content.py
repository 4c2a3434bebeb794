"""The content bundle: checked as texts, versioned by hash, errors naming file, line, field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from avatars.content import (
    CONTENT_FILES,
    ContentError,
    content_version,
    default_texts,
    parse_content,
)
from avatars.expertise import default_expertise
from avatars.json_lines import line_of


def _line(text: str, needle: str, nth: int = 0) -> int:
    """The line of the ``nth`` occurrence of ``needle``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1


def test_the_package_content_is_the_default_and_its_version_is_its_hash() -> None:
    texts = default_texts()
    assert set(texts) == set(CONTENT_FILES)
    expertise = parse_content(texts)
    assert expertise.version == content_version(texts) == default_expertise().version
    assert len(expertise.version) == 16
    changed = {**texts, "faqs.json": texts["faqs.json"] + "\n"}
    assert content_version(changed) != expertise.version


def test_a_bad_field_is_named_with_its_file_and_line() -> None:
    texts = default_texts()
    products = texts["products.json"]
    third = json.loads(products)["products"][2]
    start = products.index(f'"id": "{third["id"]}"')
    at = products.index('"risk"', start)
    line = products.count("\n", 0, at) + 1
    end = products.index(",", at)
    broken = products[:at] + '"risk": "R9"' + products[end:]
    with pytest.raises(ContentError) as caught:
        parse_content({**texts, "products.json": broken})
    error = caught.value
    assert (error.file, error.line, error.field) == ("products.json", line, "products.2.risk")
    assert "'R9' is not a risk class" in error.problem
    assert str(error).startswith(f"products.json: line {line}: products.2.risk: ")


def test_a_missing_language_in_a_persona_is_found_at_its_key() -> None:
    texts = default_texts()
    data = json.loads(texts["personas.json"])
    del data["personas"][1]["greeting"]["en"]
    text = json.dumps(data, ensure_ascii=False, indent=2)
    with pytest.raises(ContentError) as caught:
        parse_content({**texts, "personas.json": text})
    error = caught.value
    assert error.file == "personas.json"
    assert error.field == "personas.1.greeting"
    assert error.line == _line(text, '"greeting"', nth=1)
    assert "missing language 'en'" in error.problem


def test_json_syntax_errors_give_the_decoder_line() -> None:
    texts = default_texts()
    broken = texts["faqs.json"].replace('"faqs": [', '"faqs": [,', 1)
    with pytest.raises(ContentError) as caught:
        parse_content({**texts, "faqs.json": broken})
    assert caught.value.file == "faqs.json"
    assert caught.value.line == _line(broken, '"faqs": [,')
    assert "not JSON" in caught.value.problem


def test_a_routing_error_names_the_term() -> None:
    texts = default_texts()
    data = json.loads(texts["routing.json"])
    term = next(iter(data["compounds"]))
    data["compounds"][term] = {"no-such-specialty": 1.0}
    text = json.dumps(data, ensure_ascii=False, indent=2)
    with pytest.raises(ContentError) as caught:
        parse_content({**texts, "routing.json": text})
    error = caught.value
    assert error.file == "routing.json"
    assert error.field == f"compounds.{term}.no-such-specialty"
    assert "unknown specialty 'no-such-specialty'" in error.problem
    assert error.line == _line(text, '"no-such-specialty"')


def test_portfolios_name_products_the_content_has() -> None:
    texts = default_texts()
    product = next(iter(default_expertise().knowledge.products))
    good: dict[str, Any] = {
        "portfolios": [
            {
                "subject": "cust-1",
                "holdings": [{"product": product, "value": 120000, "currency": "USD"}],
            }
        ]
    }
    expertise = parse_content({**texts, "portfolios.json": json.dumps(good, indent=2)})
    assert expertise.portfolios["cust-1"] == ((product, 120000, "USD"),)
    good["portfolios"][0]["holdings"][0]["product"] = "no-such-product"
    text = json.dumps(good, indent=2)
    with pytest.raises(ContentError) as caught:
        parse_content({**texts, "portfolios.json": text})
    error = caught.value
    assert (error.file, error.field) == ("portfolios.json", "portfolios.0.holdings.0.product")
    assert error.line == _line(text, '"product"')


def test_a_missing_file_is_refused() -> None:
    texts = default_texts()
    del texts["routing.json"]
    with pytest.raises(ContentError, match=r"^routing\.json: line 1: -: no such file"):
        parse_content(texts)


def test_line_of_points_at_the_deepest_part_that_exists() -> None:
    text = '{\n  "a": [\n    {"b": 1},\n    {\n      "c": {"d": 2}\n    }\n  ]\n}\n'
    assert line_of(text, ()) == 1
    assert line_of(text, ("a",)) == 2
    assert line_of(text, ("a", 0, "b")) == 3
    assert line_of(text, ("a", 1, "c", "d")) == 5
    assert line_of(text, ("a", 1, "missing")) == 4
    assert line_of(text, ("a", 7)) == 2
