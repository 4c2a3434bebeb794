"""Question routing: specialties, compounds, "all of you", languages, typos, the lexicon file."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from avatars.errors import AvatarDataError
from avatars.routing import (
    DEFAULT_LEXICON,
    Lexicon,
    Router,
    Routing,
    RoutingError,
    detect_language,
    route,
)
from avatars.specialties import Specialty

S = Specialty
EVAL = Path(__file__).resolve().parents[2] / "avatars" / "data" / "routing_eval.jsonl"


@pytest.fixture(scope="module")
def router() -> Router:
    return Router()


def routed(router: Router, text: str, recent: tuple[Specialty, ...] = ()) -> set[Specialty]:
    return set(router.route(text, recent=recent).specialties)


# --- single topics and synonyms ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "specialty"),
    [
        ("What do you think of Tencent shares?", S.STOCKS),
        ("Should I buy more equities?", S.STOCKS),
        ("股票", S.STOCKS),
        ("股份", S.STOCKS),
        ("港股", S.STOCKS),
        ("A股", S.STOCKS),
        ("美股", S.STOCKS),
        ("Is fixed income safe now?", S.BONDS),
        ("What about treasuries?", S.BONDS),
        ("国债", S.BONDS),
        ("債券", S.BONDS),
        ("Which ETF do you like?", S.FUNDS),
        ("Tell me about unit trusts", S.FUNDS),
        ("基金", S.FUNDS),
        ("I need an annuity", S.INSURANCE),
        ("What is pension insurance?", S.INSURANCE),
        ("保险", S.INSURANCE),
        ("保險", S.INSURANCE),
        ("年金", S.INSURANCE),
        ("储蓄险", S.INSURANCE),
        ("What's your time deposit rate?", S.DEPOSITS),
        ("Where should my savings go?", S.DEPOSITS),
        ("Do you offer cash management?", S.DEPOSITS),
        ("存款", S.DEPOSITS),
        ("定期", S.DEPOSITS),
        ("现金管理", S.DEPOSITS),
        ("活期", S.DEPOSITS),
        ("FX outlook?", S.FX),
        ("Which currency should I hold?", S.FX),
        ("Where is the exchange rate heading?", S.FX),
        ("USD", S.FX),
        ("RMB", S.FX),
        ("港元", S.FX),
        ("外汇", S.FX),
        ("匯率", S.FX),
        ("换汇", S.FX),
        ("How do I cut my tax bill?", S.TAX),
        ("I need help with estate planning", S.TAX),
        ("inheritance rules", S.TAX),
        ("Should I set up a trust?", S.TAX),
        ("I have not written my will yet", S.TAX),
        ("遗产", S.TAX),
        ("税务", S.TAX),
        ("傳承", S.TAX),
        ("家族信托", S.TAX),
    ],
)
def test_a_single_topic_routes_to_its_specialty(
    router: Router, text: str, specialty: Specialty
) -> None:
    r = router.route(text)
    assert r.specialties == (specialty,)
    assert r.everyone is False
    assert r.scores[specialty] > 0


def test_scores_cover_every_specialty_and_best_comes_first(router: Router) -> None:
    r = router.route("Stocks, more stocks and equities, and maybe a bond")
    assert set(r.scores) == set(Specialty)
    assert r.specialties == (S.STOCKS, S.BONDS)
    assert r.scores[S.STOCKS] > r.scores[S.BONDS] > 0


def test_equal_scores_follow_the_recent_experts(router: Router) -> None:
    assert router.route("stocks and bonds").specialties == (S.STOCKS, S.BONDS)
    assert router.route("stocks and bonds", recent=(S.BONDS,)).specialties == (S.BONDS, S.STOCKS)


def test_weak_hints_count_only_when_nothing_stronger_is_named(router: Router) -> None:
    # A currency alone is a question about the currency; with a deposit it is its denomination.
    assert routed(router, "What about the interest?") == {S.DEPOSITS}
    assert routed(router, "USD time deposit rates?") == {S.DEPOSITS}
    assert routed(router, "美元定期现在利率多少？") == {S.DEPOSITS}
    assert routed(router, "我有美元，想买股票") == {S.STOCKS}
    assert routed(router, "Convert my HKD savings into USD?") == {S.FX}
    assert routed(router, "Can you share your view?") == set()  # too weak even alone


def test_a_hint_listed_with_a_topic_is_a_topic(router: Router) -> None:
    assert routed(router, "stocks and USD") == {S.STOCKS, S.FX}
    assert routed(router, "股票和美元") == {S.STOCKS, S.FX}
    assert routed(router, "股票、美元") == {S.STOCKS, S.FX}
    assert routed(router, "I have USD and want stocks") == {S.STOCKS}


# --- compounds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tell me about your bond funds", (S.FUNDS,)),
        ("债券基金", (S.FUNDS,)),
        ("货币基金", (S.FUNDS,)),
        ("money market fund", (S.FUNDS,)),
        ("a US equity fund", (S.FUNDS,)),
        ("股票型基金", (S.FUNDS,)),
        ("S&P 500 ETF", (S.FUNDS,)),
        ("标普500ETF", (S.FUNDS,)),
        ("保险股", (S.STOCKS,)),
        ("insurance stocks", (S.STOCKS,)),
        ("美元债", (S.BONDS,)),
        ("unit trust", (S.FUNDS,)),
        ("family trust", (S.TAX,)),
        ("储蓄险", (S.INSURANCE,)),
        ("savings insurance", (S.INSURANCE,)),
        ("deposit insurance", (S.DEPOSITS,)),
        ("存款保险", (S.DEPOSITS,)),
        ("定期寿险", (S.INSURANCE,)),
        ("定期定额", (S.FUNDS,)),
        ("外币存款", (S.DEPOSITS, S.FX)),
        ("外幣存款", (S.DEPOSITS, S.FX)),
        ("a foreign currency deposit", (S.DEPOSITS, S.FX)),
        ("dual currency investment", (S.FX, S.DEPOSITS)),
        ("保险金信托", (S.INSURANCE, S.TAX)),
        ("real estate", ()),
        ("公积金", ()),
    ],
)
def test_a_compound_beats_its_parts(router: Router, text: str, expected: tuple[S, ...]) -> None:
    assert router.route(text).specialties == expected


def test_a_head_does_not_reach_across_a_conjunction_or_punctuation(router: Router) -> None:
    assert routed(router, "股票和基金") == {S.STOCKS, S.FUNDS}
    assert routed(router, "股票、基金") == {S.STOCKS, S.FUNDS}
    assert routed(router, "equities and funds") == {S.STOCKS, S.FUNDS}
    assert routed(router, "stocks/bonds") == {S.STOCKS, S.BONDS}
    assert routed(router, "stocks & bonds") == {S.STOCKS, S.BONDS}
    assert routed(router, "I want bonds. Funds too.") == {S.BONDS, S.FUNDS}
    assert routed(router, "T-bills") == {S.BONDS}  # joining punctuation inside a word


# --- several topics ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Compare my bond fund with a pension insurance", {S.FUNDS, S.INSURANCE}),
        ("Stocks, bonds and insurance: what do you suggest?", {S.STOCKS, S.BONDS, S.INSURANCE}),
        ("I want to buy US stocks; should I convert my HKD to USD first?", {S.STOCKS, S.FX}),
        ("我想把一部分定期存款转去买债券基金", {S.DEPOSITS, S.FUNDS}),
        ("遺產入面有啲基金同股票，點樣處理？", {S.TAX, S.FUNDS, S.STOCKS}),
    ],
)
def test_several_topics_route_to_several_specialties(
    router: Router, text: str, expected: set[Specialty]
) -> None:
    assert routed(router, text) == expected


# --- everyone ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I want to talk to all of you",
        "Could each of you give me your view?",
        "你们都来说说",
        "请各位专家帮我看看",
        "大家一齊幫我睇下",
        "你哋全部都講下",
    ],
)
def test_everyone_without_a_topic_brings_the_recent_experts(router: Router, text: str) -> None:
    bare = router.route(text)
    assert bare.everyone is True
    assert bare.specialties == ()  # the room decides whom to bring
    recent = (S.FX, S.BONDS, S.FX)
    assert router.route(text, recent=recent).specialties == (S.FX, S.BONDS)


def test_everyone_with_topics_brings_the_topics_not_the_recent(router: Router) -> None:
    r = router.route("你们都来说说美股和美元", recent=(S.TAX,))
    assert r.everyone is True
    assert set(r.specialties) == {S.STOCKS, S.FX}


@pytest.mark.parametrize(
    "text",
    [
        "Everyone at my club is buying Japanese stocks",
        "大家都在买美股",
        "你们都有什么基金？",
        "Thank you all, that's all for today.",
        "你哋幾點收工？",
    ],
)
def test_a_mention_of_everybody_is_not_addressing_every_expert(router: Router, text: str) -> None:
    assert router.route(text).everyone is False


# --- languages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("What do you think of bonds?", "en"),
        ("", "en"),
        ("12345", "en"),
        ("我想了解一下债券", "zh"),
        ("我想問下啲債券嘅嘢", "yue"),  # written Cantonese
        ("我想问下啲债券嘅嘢", "yue"),  # written Cantonese in simplified characters
        ("請問貴行有沒有投資級別的公司債券？", "yue"),  # traditional characters
        ("我想买 Apple 股票", "zh"),
        ("Can I buy 港股 through my account here?", "en"),
        ("想問下 bond fund 嘅 fee 係幾多？", "yue"),
    ],
)
def test_language_detection(router: Router, text: str, language: str) -> None:
    assert detect_language(text) == language
    assert router.route(text).language == language


def test_traditional_characters_route_like_simplified(router: Router) -> None:
    pairs = [("債券基金", "债券基金"), ("儲蓄險", "储蓄险"), ("匯率", "汇率"), ("遺產稅", "遗产税")]
    for traditional, simplified in pairs:
        assert router.route(traditional).specialties == router.route(simplified).specialties
        assert router.route(traditional).specialties


def test_mixed_chinese_and_english(router: Router) -> None:
    assert routed(router, "我想买 Apple 股票") == {S.STOCKS}
    assert routed(router, "我想买 ETF") == {S.FUNDS}
    assert routed(router, "想問下 bond fund 嘅 fee 係幾多？") == {S.FUNDS}
    assert routed(router, "我想买A 股") == {S.STOCKS}
    assert routed(router, "ＥＴＦ") == {S.FUNDS}  # full-width letters


# --- typos and plurals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "specialty"),
    [
        ("my bnds", S.BONDS),
        ("sell my stcoks", S.STOCKS),
        ("insurence for my parents", S.INSURANCE),
        ("3 month fixed depsoit", S.DEPOSITS),
        ("inheritence", S.TAX),
        ("equities", S.STOCKS),
        ("annuities", S.INSURANCE),
        ("currencies", S.FX),
        ("taxes", S.TAX),
    ],
)
def test_typos_and_plurals(router: Router, text: str, specialty: Specialty) -> None:
    assert router.route(text).specialties == (specialty,)


@pytest.mark.parametrize(
    "text",
    [
        "It is bound to rise",  # bond
        "I found it on your website",  # fund
        "Will the market crash?",  # cash
        "Can you share your view on gold?",  # share, a verb
        "I will come back later",  # a will
        "The state of the economy",  # estate
    ],
)
def test_real_words_are_not_typos(router: Router, text: str) -> None:
    assert router.route(text).specialties == ()


# --- nothing bank-related ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "What's the weather like tomorrow?",
        "明天天气怎么样？",
        "唔該，我想搵個洗手間。",
        "Where can I park my car?",
        "Is crypto currency a good idea?",
        "",
        "   ？！",
    ],
)
def test_off_topic_routes_nowhere(router: Router, text: str) -> None:
    r = router.route(text)
    assert r.specialties == ()
    assert r.everyone is False


# --- the module API ----------------------------------------------------------------------


def test_route_uses_the_default_lexicon_and_is_repeatable() -> None:
    a = route("compare my bond fund with a pension insurance")
    b = Router(Lexicon.load(DEFAULT_LEXICON)).route("compare my bond fund with a pension insurance")
    assert a == b
    assert isinstance(a, Routing)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.everyone = True  # type: ignore[misc]


# --- the lexicon file --------------------------------------------------------------------


def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "routing.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


Edit = Callable[[dict[str, Any]], None]


def _set(path: tuple[str, ...], value: object) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return edit


def _drop(path: tuple[str, ...]) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        for key in path[:-1]:
            d = d[key]
        del d[path[-1]]

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop(("terms",)), "top level: missing terms"),
        (_set(("colour",), "blue"), "unknown key(s) colour"),
        (_set(("version",), 2), "version: must be 1"),
        (_drop(("terms", "tax")), "no terms for 'tax'"),
        (_set(("terms", "crypto"), {"bitcoin": 1}), "unknown specialty 'crypto'"),
        (_set(("terms", "bonds", "债券"), "high"), "must be a number"),
        (_set(("terms", "bonds", "债券"), True), "must be a number"),
        (_set(("terms", "bonds", "债券"), -1), "must be in (0, 5]"),
        (_set(("terms", "stocks", "債券"), 1), "'债券' is the same term as terms.stocks['債券']"),
        (_set(("terms", "stocks", "Bonds"), 1), "'bond' is the same term as terms.stocks['Bonds']"),
        (_set(("terms", "stocks", "?!"), 1), "has no letters, digits or Chinese characters"),
        (_set(("compounds", "bond fund"), {"funds": 1, "gold": 1}), "unknown specialty 'gold'"),
        (_set(("heads",), ["fund", "sandwich"]), "'sandwich' is not a term"),
        (_set(("everyone",), ["all of you", "stocks"]), "'stocks' is also a term"),
        (_set(("everyone",), []), "everyone: must not be empty"),
        (_set(("traditional", "債"), "债券"), "must map to a single Chinese character"),
        (_set(("traditional", "a"), "b"), "keys must be single Chinese characters"),
        (_set(("also_traditional",), "后x"), "are not simplified forms"),
        (_set(("thresholds",), {"include": 0.5, "alone": 0.9}), "must not exceed include"),
        (_set(("english", "typo_min_length"), 1), "must be an integer >= 3"),
        (_set(("english", "not_typos"), ["Bound"]), "is not a lower-case word"),
    ],
)
def test_an_invalid_lexicon_is_refused_with_a_clear_error(
    tmp_path: Path, edit: Edit, message: str
) -> None:
    data = copy.deepcopy(_default_data())
    edit(data)
    path = _write(tmp_path, data)
    with pytest.raises(RoutingError) as caught:
        Lexicon.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, AvatarDataError)


def test_an_unreadable_lexicon_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match="cannot read"):
        Lexicon.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1,\n  "terms": }', encoding="utf-8")
    with pytest.raises(RoutingError, match="not valid JSON at line 2"):
        Lexicon.load(bad)
    with pytest.raises(RoutingError, match="top level: must be an object"):
        Lexicon.load(_write(tmp_path, ["not", "an", "object"]))


def test_a_small_lexicon_of_ones_own_routes_with_it(tmp_path: Path) -> None:
    data = _default_data()
    data["terms"] = {sp.value: {f"word{i}": 1} for i, sp in enumerate(Specialty)}
    data["compounds"] = {}
    data["heads"] = []
    router = Router(Lexicon.load(_write(tmp_path, data)))
    assert router.route("word1 and word6").specialties == (S.BONDS, S.TAX)
    assert router.route("bonds").specialties == ()


# --- the evaluation set ------------------------------------------------------------------


def _eval_rows() -> list[dict[str, Any]]:
    with EVAL.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_the_evaluation_set_is_well_formed_and_covers_every_behaviour() -> None:
    rows = _eval_rows()
    assert len(rows) >= 240
    for row in rows:
        assert set(row) <= {"q", "lang", "expect", "everyone", "split"}
        assert row["lang"] in ("en", "zh", "yue")
        assert all(Specialty(s) for s in row["expect"])
        assert isinstance(row["everyone"], bool)
        assert row.get("split", "holdout") == "holdout"
    assert len({row["q"] for row in rows}) == len(rows)
    assert sum(row["lang"] != "en" for row in rows) * 2 >= len(rows)
    assert sum(row["lang"] == "yue" for row in rows) >= 20
    for sp in Specialty:
        assert sum(sp.value in row["expect"] for row in rows) >= 25, sp
    assert sum(len(row["expect"]) > 1 for row in rows) >= 30
    assert sum(row["everyone"] for row in rows) >= 10
    assert sum(not row["expect"] and not row["everyone"] for row in rows) >= 10
    held = sum(row.get("split") == "holdout" for row in rows) / len(rows)
    assert 0.2 <= held <= 0.3


def test_the_router_is_accurate_on_the_evaluation_set(router: Router) -> None:
    rows = _eval_rows()

    def right(row: dict[str, Any]) -> bool:
        r = router.route(row["q"])
        return set(r.specialties) == {Specialty(s) for s in row["expect"]} and (
            r.everyone == row["everyone"]
        )

    def accuracy(chosen: list[dict[str, Any]]) -> float:
        return sum(map(right, chosen)) / len(chosen)

    assert accuracy(rows) >= 0.85
    assert accuracy([row for row in rows if row.get("split") == "holdout"]) >= 0.8
    assert accuracy([row for row in rows if row["lang"] != "en"]) >= 0.85
    language = sum(router.route(row["q"]).language == row["lang"] for row in rows) / len(rows)
    assert language >= 0.95
