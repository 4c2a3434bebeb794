"""Question routing against its labelled evaluation set, and against a naive baseline.

Runs every question of ``avatars/data/routing_eval.jsonl`` through the router
(``avatars.routing.Router`` with ``avatars/data/routing.json``) and through a baseline that
knows only English and matches the specialty names as whole words ("stock", "stocks", "bond",
..., "fx", "tax"), with "all of you" as its only way to address everyone and every question
taken as English. It prints:

- per-specialty precision, recall and F1;
- exact-match accuracy (the same set of specialties and the same "everyone" flag) overall, on
  the tuning and the held-out lines, on Chinese (Mandarin and Cantonese) and on English;
- everyone-detection and language-detection accuracy;
- routing time per question: the first pass over the set (cold word cache) and, over
  ``--repeat`` further passes, the median and p99 of single calls.

    .venv/bin/python -m bench.bench_routing [--repeat 20] [--failures] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avatars.routing import DEFAULT_LEXICON, Lexicon, Router
from avatars.specialties import Specialty

EVAL = Path(__file__).resolve().parent.parent / "avatars" / "data" / "routing_eval.jsonl"


@dataclass(frozen=True, slots=True)
class Question:
    q: str
    lang: str
    expect: frozenset[Specialty]
    everyone: bool
    holdout: bool


@dataclass(frozen=True, slots=True)
class Answer:
    specialties: frozenset[Specialty]
    everyone: bool
    language: str


Route = Callable[[str], Answer]


def load_eval(path: Path = EVAL) -> list[Question]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            out.append(
                Question(
                    q=d["q"],
                    lang=d["lang"],
                    expect=frozenset(Specialty(s) for s in d["expect"]),
                    everyone=bool(d["everyone"]),
                    holdout=d.get("split") == "holdout",
                )
            )
            if out[-1].lang not in ("en", "zh", "yue"):
                raise ValueError(f"{path}:{number}: unknown language {out[-1].lang!r}")
    return out


def router_route(router: Router) -> Route:
    def run(text: str) -> Answer:
        r = router.route(text)
        return Answer(frozenset(r.specialties), r.everyone, r.language)

    return run


_BASELINE_WORDS = {
    "stock": Specialty.STOCKS,
    "stocks": Specialty.STOCKS,
    "bond": Specialty.BONDS,
    "bonds": Specialty.BONDS,
    "fund": Specialty.FUNDS,
    "funds": Specialty.FUNDS,
    "insurance": Specialty.INSURANCE,
    "deposit": Specialty.DEPOSITS,
    "deposits": Specialty.DEPOSITS,
    "fx": Specialty.FX,
    "tax": Specialty.TAX,
}


def baseline(text: str) -> Answer:
    low = text.lower()
    words = re.findall(r"[a-z]+", low)
    found = frozenset(_BASELINE_WORDS[w] for w in words if w in _BASELINE_WORDS)
    return Answer(found, "all of you" in low, "en")


@dataclass
class Scores:
    name: str
    exact: dict[str, tuple[int, int]] = field(default_factory=dict)  # slice -> (right, total)
    prf: dict[Specialty, tuple[float, float, float]] = field(default_factory=dict)
    everyone: tuple[int, int] = (0, 0)
    language: tuple[int, int] = (0, 0)
    misses: list[tuple[Question, Answer]] = field(default_factory=list)


SLICES: dict[str, Callable[[Question], bool]] = {
    "overall": lambda q: True,
    "tuning": lambda q: not q.holdout,
    "holdout": lambda q: q.holdout,
    "Chinese": lambda q: q.lang != "en",
    "  Mandarin": lambda q: q.lang == "zh",
    "  Cantonese": lambda q: q.lang == "yue",
    "English": lambda q: q.lang == "en",
}


def score(name: str, route: Route, questions: Sequence[Question]) -> Scores:
    s = Scores(name)
    answers = [route(q.q) for q in questions]
    right = [
        a.specialties == q.expect and a.everyone == q.everyone
        for q, a in zip(questions, answers, strict=True)
    ]
    for label, pick in SLICES.items():
        chosen = [ok for q, ok in zip(questions, right, strict=True) if pick(q)]
        s.exact[label] = (sum(chosen), len(chosen))
    for sp in Specialty:
        tp = sum(
            sp in a.specialties and sp in q.expect for q, a in zip(questions, answers, strict=True)
        )
        fp = sum(
            sp in a.specialties and sp not in q.expect
            for q, a in zip(questions, answers, strict=True)
        )
        fn = sum(
            sp not in a.specialties and sp in q.expect
            for q, a in zip(questions, answers, strict=True)
        )
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        s.prf[sp] = (p, r, 2 * p * r / (p + r) if p + r else 0.0)
    pairs = list(zip(questions, answers, strict=True))
    s.everyone = (sum(a.everyone == q.everyone for q, a in pairs), len(pairs))
    s.language = (sum(a.language == q.lang for q, a in pairs), len(pairs))
    s.misses = [(q, a) for (q, a), ok in zip(pairs, right, strict=True) if not ok]
    return s


def timing(router: Router, questions: Sequence[Question], repeat: int) -> dict[str, float]:
    t0 = time.perf_counter_ns()
    for q in questions:
        router.route(q.q)
    cold = (time.perf_counter_ns() - t0) / len(questions) / 1000
    samples: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(repeat):
        for q in questions:
            start = clock()
            router.route(q.q)
            samples.append((clock() - start) / 1000)
    samples.sort()
    return {
        "cold_mean_us": cold,
        "median_us": statistics.median(samples),
        "p99_us": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "calls": float(len(samples)),
    }


def _pct(pair: tuple[int, int]) -> str:
    right, total = pair
    return f"{right / total:6.1%} ({right:3d}/{total:3d})" if total else "     -"


def table(ours: Scores, naive: Scores) -> str:
    head = f"{'per specialty':16} {'router P':>8} {'R':>6} {'F1':>6}"
    lines = [f"{head}   {'baseline P':>10} {'R':>6} {'F1':>6}"]
    for sp in Specialty:
        p, r, f = ours.prf[sp]
        bp, br, bf = naive.prf[sp]
        lines.append(f"{sp.value:16} {p:8.2f} {r:6.2f} {f:6.2f}   {bp:10.2f} {br:6.2f} {bf:6.2f}")
    lines.append("")
    lines.append(f"{'exact match':16} {'router':>18}   {'baseline':>18}")
    for label in SLICES:
        lines.append(f"{label:16} {_pct(ours.exact[label]):>18}   {_pct(naive.exact[label]):>18}")
    lines.append(f"{'everyone flag':16} {_pct(ours.everyone):>18}   {_pct(naive.everyone):>18}")
    lines.append(f"{'language':16} {_pct(ours.language):>18}   {_pct(naive.language):>18}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--eval", type=Path, default=EVAL, help="labelled questions (JSON lines)")
    p.add_argument("--lexicon", type=Path, default=DEFAULT_LEXICON)
    p.add_argument("--repeat", type=int, default=20, help="timed passes after the cold one")
    p.add_argument("--failures", action="store_true", help="list the questions routed wrongly")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    questions = load_eval(args.eval)
    lexicon = Lexicon.load(args.lexicon)
    router = Router(lexicon)
    times = timing(Router(lexicon), questions, args.repeat)
    ours = score("router", router_route(router), questions)
    naive = score("baseline", baseline, questions)

    held = sum(q.holdout for q in questions)
    chinese = sum(q.lang != "en" for q in questions)
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(
        f"{len(questions)} questions ({held} held out, {chinese} Chinese); lexicon "
        f"{args.lexicon.name}: {len(lexicon.terms)} terms and compounds\n"
    )
    print(table(ours, naive))
    print(
        f"\nrouting time per question: cold pass {times['cold_mean_us']:.1f} us mean; "
        f"warm median {times['median_us']:.1f} us, p99 {times['p99_us']:.1f} us "
        f"({times['calls']:.0f} calls)"
    )
    print(
        "\nexact match: the same set of specialties and the same everyone flag. baseline: "
        "English specialty names as whole words, 'all of you', every question taken as English."
    )
    if args.failures:
        print("\nmisrouted (router):")
        for q, a in ours.misses:
            got = ",".join(sorted(s.value for s in a.specialties)) or "-"
            want = ",".join(sorted(s.value for s in q.expect)) or "-"
            split = "holdout" if q.holdout else "tuning"
            print(f"  [{split}] {q.q}")
            print(f"      want {want} everyone={q.everyone}; got {got} everyone={a.everyone}")
    if args.json:
        doc: dict[str, Any] = {
            "benchmark": "bench/bench_routing.py",
            "questions": len(questions),
            "timing": times,
        }
        for s in (ours, naive):
            doc[s.name] = {
                "exact": {k.strip(): v for k, v in s.exact.items()},
                "prf": {sp.value: v for sp, v in s.prf.items()},
                "everyone": s.everyone,
                "language": s.language,
            }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
