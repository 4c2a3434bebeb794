"""Question routing: which digital experts a customer's question is for, and in which language.

Pure: no I/O once the lexicon is loaded, no clock. The lexicon (``avatars/data/routing.json``)
holds every word; this module holds only the rules:

- Text is folded first: NFKC (full-width letters and digits), lower case, traditional Chinese
  characters to simplified. English words lose their plural ending and a misspelt word is
  corrected to the lexicon word it is one or two edits from (never a real English word: the
  lexicon lists the real words that sit that close to one of its own).
- Lexicon terms are found as substrings, Chinese and English alike, so Chinese needs no
  segmenter; English terms must start and end on word boundaries. At each position the longest
  term wins, so a compound beats its parts (债券基金 is a fund, not a bond).
- A *head* (fund, 基金, insurance, tax, stock, ...) takes over the topic words right before it:
  "US equity fund" and 股票型基金 are funds, "insurance stocks" and 保险股 are stocks.
- A specialty is named when its weights add up to ``include``; when none is, weaker hints (a
  currency, a company name, "interest") name the best-scoring one if it reaches ``alone``. A
  hint listed with a topic ("stocks and USD", 股票和美元) counts as a topic itself.
  Negations are not understood: "not bonds" names bonds.

Language: Cantonese words (嘅, 啲, 咗, 係咪, ...) make it ``"yue"``; otherwise text that is
mostly Chinese is ``"yue"`` when written in traditional characters (the bank's Cantonese
speakers in Hong Kong write them) and ``"zh"`` otherwise; everything else is ``"en"``.
"""

from __future__ import annotations

import ast
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from rapidfuzz import process
from rapidfuzz.distance import OSA, Hamming, Indel

from avatars.errors import AvatarDataError
from avatars.specialties import Specialty

DEFAULT_LEXICON = Path(__file__).parent / "data" / "routing.json"

__all__ = [
    "DEFAULT_LEXICON",
    "Lexicon",
    "Router",
    "Routing",
    "RoutingError",
    "default_lexicon",
    "default_router",
    "detect_language",
    "route",
]


class RoutingError(AvatarDataError):
    """The routing lexicon is missing, not JSON, or inconsistent."""


@dataclass(frozen=True, slots=True)
class Routing:
    specialties: tuple[Specialty, ...]  # best first; empty if the question is about none
    everyone: bool  # the customer addressed every expert ("all of you", 你们都来, 大家一齐)
    language: str  # "en", "zh" or "yue"
    scores: dict[Specialty, float]  # every specialty, for debugging and the benchmark


# --- text folding --------------------------------------------------------------------------

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_PIECE = re.compile(
    r"(?P<w>[a-z]+)|(?P<d>[0-9]+)"
    r"|(?P<h>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f])"
    r"|(?P<s>\s+)|(?P<p>.)",
    re.S,
)
_LATIN_WORD = re.compile(r"[a-z]+")
# Between two letters or digits these join a name or a number ("S&P", "T-bill", "non-dom",
# "y'all", "3.5"); anywhere else, like all other punctuation, they end a list item or a clause.
_SOFT = frozenset("-&'’.")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_HARD = ","  # any other punctuation: a clause boundary that no compound or head crosses


def _fold(text: str, traditional: Mapping[str, str]) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(traditional.get(ch, ch) for ch in text)


def _stem(word: str, keep: frozenset[str] = frozenset()) -> str:
    """Folds an English plural onto its singular; both the lexicon and the text go through it,
    so an odd result ("series" -> "sery") is harmless. ``keep`` holds plurals that mean more than
    their singular ("shares" are stocks, "share" is often a verb)."""
    if len(word) <= 3 or word in keep:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _canonical(folded: str, word: Callable[[str], str]) -> str:
    """The folded text as the matcher sees it: English words (through ``word``) separated by
    one space, Chinese characters run together, clause punctuation as ``,``."""
    out: list[str] = []
    prev = ""  # "a" after a word or number, "h" after a Chinese character, "" at the start
    gap = ""  # "" nothing, " " space or joining punctuation, "," clause punctuation
    for m in _PIECE.finditer(folded):
        kind = m.lastgroup
        piece = m.group()
        if kind == "s":
            gap = gap or " "
        elif kind == "p":
            start, end = m.span()
            joins = (
                piece in _SOFT
                and start > 0
                and end < len(folded)
                and folded[start - 1] in _ALNUM
                and folded[end] in _ALNUM
            )
            # A letter outside a-z (é, kana) separates words but is no clause boundary.
            gap = gap or " " if joins or piece.isalnum() else _HARD
        else:
            if gap == _HARD and prev:
                out.append(_HARD)
            elif prev == "a" and kind != "h":
                out.append(" ")  # "p500" and "s p" alike: words never run together
            out.append(word(piece) if kind == "w" else piece)
            prev = "h" if kind == "h" else "a"
            gap = ""
    if gap == _HARD and prev:
        out.append(_HARD)
    return "".join(out)


# --- the lexicon ---------------------------------------------------------------------------

_TOP_KEYS = {
    "version",
    "thresholds",
    "terms",
    "compounds",
    "heads",
    "joiners",
    "conjunctions",
    "everyone",
    "cantonese_markers",
    "traditional",
    "also_traditional",
    "english",
}
_OPTIONAL_KEYS = {"notes"}
_MAX_WEIGHT = 5.0


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The routing vocabulary, validated. Terms are stored in canonical form."""

    terms: Mapping[str, Mapping[Specialty, float]]  # empty weights: a phrase that names nothing
    heads: frozenset[str]
    joiners: frozenset[str]
    conjunctions: frozenset[str]
    everyone: frozenset[str]
    cantonese_markers: tuple[str, ...]
    traditional: Mapping[str, str]
    simplified_only: frozenset[str]  # characters that show the text is in simplified script
    include: float
    alone: float
    keep_plural: frozenset[str]
    typo_min_length: int
    not_typos: frozenset[str]
    source: str = field(default="<lexicon>", compare=False)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_LEXICON) -> Lexicon:
        path = Path(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RoutingError(f"{path}: cannot read the routing lexicon: {exc}") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RoutingError(
                f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def parse(cls, text: str, name: str = DEFAULT_LEXICON.name) -> Lexicon:
        """The lexicon in ``text``, the file ``name``, checked."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RoutingError(
                f"{name}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from exc
        return cls.from_dict(data, source=name)

    @classmethod
    def from_dict(cls, data: object, *, source: str = "<lexicon>") -> Lexicon:
        return _Validator(source).lexicon(data)


_STEP = re.compile(r"""([^.\[\]]+)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]""")


def _where(where: str) -> tuple[str | int, ...]:
    """``"terms.fund['bond fund'].stock"`` or ``"heads[3]"`` as keys and indices."""
    steps: list[str | int] = []
    for key, index, quoted in _STEP.findall(where):
        if quoted:
            steps.append(str(ast.literal_eval(quoted)))
        else:
            steps.append(int(index) if index else key)
    return tuple(steps)


class _Validator:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> RoutingError:
        at = () if where == "top level" else _where(where)
        return RoutingError(f"{self.source}: {where}: {problem}", at=at)

    def obj(self, value: object, where: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(where, f"must be an object, got {type(value).__name__}")
        return value

    def strings(self, value: object, where: str, *, allow_empty_list: bool = False) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(where, f"must be a list of strings, got {type(value).__name__}")
        if not value and not allow_empty_list:
            raise self.fail(where, "must not be empty")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{where}[{i}]", f"must be a non-empty string, got {item!r}")
        return list(value)

    def number(self, value: object, where: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or not low < number <= high:
            raise self.fail(where, f"must be in ({low:g}, {high:g}], got {value!r}")
        return number

    def specialty(self, name: str, where: str) -> Specialty:
        try:
            return Specialty(name)
        except ValueError:
            known = ", ".join(s.value for s in Specialty)
            raise self.fail(where, f"unknown specialty {name!r} (known: {known})") from None

    def lexicon(self, data: object) -> Lexicon:
        top = self.top(data)
        traditional, simplified_only = self.scripts(top["traditional"], top["also_traditional"])
        include, alone = self.thresholds(top["thresholds"])
        keep_plural, typo_min_length, not_typos = self.english(top["english"])

        def stem(word: str) -> str:
            return _stem(word, keep_plural)

        def canon(term: str, where: str) -> str:
            if not isinstance(term, str) or not term.strip():
                raise self.fail(where, f"must be a non-empty string, got {term!r}")
            c = _canonical(_fold(term, traditional), stem)
            if not c.strip(" " + _HARD):
                raise self.fail(where, f"{term!r} has no letters, digits or Chinese characters")
            return c

        terms, origin = self.terms(top["terms"], top["compounds"], canon)

        heads: set[str] = set()
        for i, head in enumerate(self.strings(top["heads"], "heads", allow_empty_list=True)):
            c = canon(head, f"heads[{i}]")
            if not terms.get(c):
                raise self.fail(f"heads[{i}]", f"{head!r} is not a term that names a specialty")
            heads.add(c)

        joiners = self.strings(top["joiners"], "joiners", allow_empty_list=True)
        # A conjunction that is only punctuation (、) is the clause mark the text shows.
        conjunctions = {
            _canonical(_fold(c, traditional), stem).strip(" ") or _HARD
            for c in self.strings(top["conjunctions"], "conjunctions", allow_empty_list=True)
        }

        everyone: set[str] = set()
        for i, phrase in enumerate(self.strings(top["everyone"], "everyone")):
            c = canon(phrase, f"everyone[{i}]")
            if c in terms:
                raise self.fail(f"everyone[{i}]", f"{phrase!r} is also a term ({origin[c]})")
            everyone.add(c)

        markers = [
            unicodedata.normalize("NFKC", m).lower()
            for m in self.strings(top["cantonese_markers"], "cantonese_markers")
        ]

        return Lexicon(
            terms=MappingProxyType(terms),
            heads=frozenset(heads),
            joiners=frozenset(_fold(j, traditional) for j in joiners),
            conjunctions=frozenset(conjunctions),
            everyone=frozenset(everyone),
            cantonese_markers=tuple(markers),
            traditional=MappingProxyType(traditional),
            simplified_only=simplified_only,
            include=include,
            alone=alone,
            keep_plural=keep_plural,
            typo_min_length=typo_min_length,
            not_typos=not_typos,
            source=self.source,
        )

    def top(self, data: object) -> dict[str, object]:
        top = self.obj(data, "top level")
        missing = sorted(_TOP_KEYS - top.keys())
        if missing:
            raise self.fail("top level", f"missing {', '.join(missing)}")
        unknown = sorted(top.keys() - _TOP_KEYS - _OPTIONAL_KEYS)
        if unknown:
            raise self.fail("top level", f"unknown key(s) {', '.join(unknown)}")
        if top["version"] != 1 or isinstance(top["version"], bool):
            raise self.fail("version", f"must be 1, got {top['version']!r}")
        if "notes" in top:
            self.strings(top["notes"], "notes", allow_empty_list=True)
        return top

    def scripts(self, table: object, also: object) -> tuple[dict[str, str], frozenset[str]]:
        """The traditional-to-simplified table, and the characters only simplified text uses."""
        traditional = self.traditional(table)
        if not isinstance(also, str):
            raise self.fail("also_traditional", "must be a string of characters")
        simplified = set(traditional.values())
        stray = [ch for ch in also if ch not in simplified]
        if stray:
            raise self.fail(
                "also_traditional", f"{''.join(stray)!r} are not simplified forms in traditional"
            )
        return traditional, frozenset(simplified - set(traditional) - set(also))

    def thresholds(self, value: object) -> tuple[float, float]:
        th = self.obj(value, "thresholds")
        if set(th) != {"include", "alone"}:
            raise self.fail("thresholds", f"must have exactly include and alone, got {sorted(th)}")
        include = self.number(th["include"], "thresholds.include", 0.0, _MAX_WEIGHT)
        alone = self.number(th["alone"], "thresholds.alone", 0.0, _MAX_WEIGHT)
        if alone > include:
            raise self.fail("thresholds", f"alone ({alone:g}) must not exceed include")
        return include, alone

    def terms(
        self, by_specialty_value: object, compounds: object, canon: Callable[[str, str], str]
    ) -> tuple[dict[str, Mapping[Specialty, float]], dict[str, str]]:
        """Each canonical term's weights by specialty, and where in the file it was given."""
        terms: dict[str, Mapping[Specialty, float]] = {}
        origin: dict[str, str] = {}

        def add(term: str, weights: dict[Specialty, float], where: str) -> None:
            c = canon(term, where)
            if c in origin:
                raise self.fail(where, f"{term!r} is the same term as {origin[c]} ({c!r})")
            origin[c] = where
            terms[c] = MappingProxyType(weights)

        by_specialty = self.obj(by_specialty_value, "terms")
        for name in by_specialty:
            self.specialty(name, f"terms.{name}")
        for sp in Specialty:
            if sp.value not in by_specialty:
                raise self.fail("terms", f"no terms for {sp.value!r}")
            entries = self.obj(by_specialty[sp.value], f"terms.{sp.value}")
            if not entries:
                raise self.fail(f"terms.{sp.value}", "must not be empty")
            for term, weight in entries.items():
                where = f"terms.{sp.value}[{term!r}]"
                add(term, {sp: self.number(weight, where, 0.0, _MAX_WEIGHT)}, where)

        for term, weights in self.obj(compounds, "compounds").items():
            where = f"compounds[{term!r}]"
            parsed = {
                self.specialty(name, f"{where}.{name}"): self.number(
                    w, f"{where}.{name}", 0.0, _MAX_WEIGHT
                )
                for name, w in self.obj(weights, where).items()
            }
            add(term, parsed, where)
        return terms, origin

    def english(self, value: object) -> tuple[frozenset[str], int, frozenset[str]]:
        section = self.obj(value, "english")
        expected = {"keep_plural", "typo_min_length", "not_typos"}
        if set(section) != expected:
            raise self.fail(
                "english", f"must have exactly {sorted(expected)}, got {sorted(section)}"
            )
        min_length = section["typo_min_length"]
        if isinstance(min_length, bool) or not isinstance(min_length, int) or min_length < 3:
            raise self.fail(
                "english.typo_min_length", f"must be an integer >= 3, got {min_length!r}"
            )
        lists = []
        for key in ("keep_plural", "not_typos"):
            words = self.strings(section[key], f"english.{key}", allow_empty_list=True)
            for i, word in enumerate(words):
                if not _LATIN_WORD.fullmatch(word):
                    raise self.fail(f"english.{key}[{i}]", f"{word!r} is not a lower-case word")
            lists.append(frozenset(words))
        return lists[0], min_length, lists[1]

    def traditional(self, value: object) -> dict[str, str]:
        table = self.obj(value, "traditional")
        if not table:
            raise self.fail("traditional", "must not be empty")
        out: dict[str, str] = {}
        for trad, simp in table.items():
            where = f"traditional[{trad!r}]"
            if len(trad) != 1 or not _HAN.fullmatch(trad):
                raise self.fail(where, "keys must be single Chinese characters")
            if not isinstance(simp, str) or len(simp) != 1 or not _HAN.fullmatch(simp):
                raise self.fail(where, f"must map to a single Chinese character, got {simp!r}")
            if simp == trad:
                raise self.fail(where, "maps a character to itself")
            out[trad] = simp
        chained = sorted(s for s in out.values() if s in out)
        if chained:
            raise self.fail("traditional", f"{''.join(chained)!r} are both keys and values")
        return out


# --- language ------------------------------------------------------------------------------


def _language(text: str, lexicon: Lexicon) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    han = _HAN.findall(folded)
    if not han:
        return "en"
    if any(marker in folded for marker in lexicon.cantonese_markers):
        return "yue"
    # A Chinese word is about two characters: a sentence with fewer than one per English word
    # is English that mentions a Chinese term ("Can I buy 港股 here?").
    if len(han) < 2 * len(_LATIN_WORD.findall(folded)):
        return "en"
    traditional = sum(1 for ch in han if ch in lexicon.traditional)
    simplified = sum(1 for ch in han if ch in lexicon.simplified_only)
    return "yue" if traditional > simplified else "zh"


def detect_language(text: str) -> str:
    """``"en"``, ``"zh"`` or ``"yue"`` for ``text``, by the default lexicon's rules."""
    return _language(text, default_lexicon())


# --- matching ------------------------------------------------------------------------------


class _Node:
    __slots__ = ("children", "term")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.term: str | None = None


@dataclass(frozen=True, slots=True)
class _Match:
    start: int
    end: int
    term: str


class _Words:
    """Stems an English word and corrects a likely typo to a lexicon word.

    Only a word that names a topic by itself is a correction target, and only a word with the
    same first letter: people mistype the middle of a word. Targets of up to 6 letters accept one
    dropped, added or swapped letter but no substituted one ("bnds" and "stcoks" are typos,
    "band" and "stick" are words); 7 to 9 letters accept any one edit, 10 or more any two. Two
    equally close targets that name different topics correct to neither.
    """

    _CACHE_LIMIT = 8192

    def __init__(self, lexicon: Lexicon, vocabulary: frozenset[str]) -> None:
        self.vocabulary = vocabulary
        self.min_length = lexicon.typo_min_length
        self.keep = lexicon.keep_plural
        self.not_typos = lexicon.not_typos
        self.names = {
            term: frozenset(weights)
            for term, weights in lexicon.terms.items()
            if weights and len(term) >= 4 and _LATIN_WORD.fullmatch(term)
        }
        self.targets = sorted(self.names)
        self.cache: dict[str, str] = {}

    def __call__(self, word: str) -> str:
        hit = self.cache.get(word)
        if hit is None:
            if len(self.cache) >= self._CACHE_LIMIT:
                self.cache.clear()
            hit = self.cache[word] = self._correct(word)
        return hit

    def _correct(self, word: str) -> str:
        stem = _stem(word, self.keep)
        if (
            stem in self.vocabulary
            or len(word) < self.min_length
            or word in self.not_typos
            or stem in self.not_typos
        ):
            return stem
        found = process.extract(stem, self.targets, scorer=OSA.distance, score_cutoff=2, limit=4)
        best = [(t, d) for t, d, _ in found if t[0] == stem[0]]
        if not best:
            return stem
        target, distance = best[0]
        if any(d == distance and self.names[t] != self.names[target] for t, d in best[1:]):
            return stem
        if len(target) >= 10:
            ok = distance <= 2
        elif len(target) >= 7:
            ok = distance == 1
        else:
            ok = distance == 1 and (
                Indel.distance(stem, target) == 1
                or (len(stem) == len(target) and Hamming.distance(stem, target) == 2)
            )
        return target if ok else stem


class Router:
    """Routes questions with one lexicon. Build it once and share it: it is read-only apart
    from a bounded cache of corrected words."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon if lexicon is not None else default_lexicon()
        lex = self.lexicon
        vocabulary = frozenset(
            w for phrase in (*lex.terms, *lex.everyone) for w in _LATIN_WORD.findall(phrase)
        )
        self._words = _Words(lex, vocabulary)
        self._root = _Node()
        for phrase in (*lex.terms, *lex.everyone):
            node = self._root
            for ch in phrase:
                node = node.children.setdefault(ch, _Node())
            node.term = phrase

    def canonical(self, text: str) -> str:
        """The text as the matcher sees it (for debugging a routing)."""
        return _canonical(_fold(text, self.lexicon.traditional), self._words)

    def route(self, text: str, *, recent: Sequence[Specialty] = ()) -> Routing:
        """Routes one question. ``recent`` lists the experts the room has heard from, most
        recent first: it orders specialties that score the same, and it is who "all of you"
        brings when the question names no topic."""
        lex = self.lexicon
        canonical = self.canonical(text)
        matches = self._scan(canonical)
        absorbed = self._absorbed(canonical, matches)
        promoted = self._coordinated(canonical, matches, absorbed)

        scores = dict.fromkeys(Specialty, 0.0)
        everyone = False
        for i, match in enumerate(matches):
            if match.term in lex.everyone:
                everyone = True
            elif i not in absorbed:
                for sp, weight in lex.terms[match.term].items():
                    scores[sp] += max(weight, lex.include) if i in promoted else weight
        # Rounded so that equal evidence gives equal scores whatever order it was added in.
        scores = {sp: round(score, 6) for sp, score in scores.items()}

        rank = {sp: i for i, sp in enumerate(recent)}
        order = sorted(Specialty, key=lambda sp: (-scores[sp], rank.get(sp, len(rank))))
        chosen = [sp for sp in order if scores[sp] >= lex.include]
        if not chosen and scores[order[0]] >= lex.alone:
            chosen = [sp for sp in order if scores[sp] == scores[order[0]]]
        if everyone and not chosen:
            chosen = list(dict.fromkeys(recent))
        return Routing(tuple(chosen), everyone, _language(text, lex), scores)

    def _scan(self, s: str) -> list[_Match]:
        """Leftmost-longest matches of lexicon phrases; English ones on word boundaries."""
        out: list[_Match] = []
        n = len(s)
        i = 0
        while i < n:
            ch = s[i]
            at_word = ch in _ALNUM
            if at_word and i > 0 and s[i - 1] in _ALNUM:
                i += 1
                continue
            node = self._root.children.get(ch)
            end = 0
            term = ""
            j = i
            while node is not None:
                j += 1
                if node.term is not None and (
                    j == n or s[j] not in _ALNUM or s[j - 1] not in _ALNUM
                ):
                    end, term = j, node.term
                if j == n:
                    break
                node = node.children.get(s[j])
            if end:
                out.append(_Match(i, end, term))
                i = end
            elif at_word:
                while i < n and s[i] in _ALNUM:
                    i += 1
            else:
                i += 1
        return out

    def _coordinated(self, s: str, matches: list[_Match], absorbed: set[int]) -> set[int]:
        """Indexes of hints listed next to a topic ("stocks and the dollar", 股票和美元): in a
        list a hint is a topic of its own, not the denomination of something else."""
        lex = self.lexicon
        topics = [
            i not in absorbed and any(w >= lex.include for w in lex.terms.get(m.term, {}).values())
            for i, m in enumerate(matches)
        ]
        promoted: set[int] = set()
        for i in range(len(matches) - 1):
            gap = s[matches[i].end : matches[i + 1].start].strip(" ")
            if gap not in lex.conjunctions or i in absorbed or i + 1 in absorbed:
                continue
            if topics[i] and not topics[i + 1]:
                promoted.add(i + 1)
            elif topics[i + 1] and not topics[i]:
                promoted.add(i)
        return promoted

    def _absorbed(self, s: str, matches: list[_Match]) -> set[int]:
        """Indexes of matches a head right after them takes over ("bond" in "bond fund")."""
        lex = self.lexicon
        absorbed: set[int] = set()
        for k, match in enumerate(matches):
            if match.term not in lex.heads:
                continue
            j = k - 1
            while j >= 0 and matches[j].term not in lex.everyone:
                gap = s[matches[j].end : matches[j + 1].start].strip(" 0123456789")
                if gap and gap not in lex.joiners:
                    break
                absorbed.add(j)
                j -= 1
        return absorbed


@cache
def default_lexicon() -> Lexicon:
    return Lexicon.load(DEFAULT_LEXICON)


@cache
def default_router() -> Router:
    return Router()


def route(text: str, *, recent: Sequence[Specialty] = ()) -> Routing:
    """Routes ``text`` with the default lexicon (see :class:`Router`)."""
    return default_router().route(text, recent=recent)
