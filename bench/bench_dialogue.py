"""Multi-turn dialogues against their labels, with context and without.

Plays every dialogue of ``avatars/data/dialogues.jsonl`` through the dialogue planner
(``avatars.dialogue``), the local brain and the guardrails, turn by turn with the state carried
over, and again with every turn asked alone (a fresh state each time: the no-context
baseline). Per turn it scores:

- who answers: the set of specialties that answer (``concierge`` when none does) and whether a
  person takes over, both as labelled;
- facts: every labelled fact (a risk class, a product's own fee, liquidity or risk text) is in
  what the customer reads.

Tuning and held-out dialogues are reported apart; ``--split tune`` scores the tuning part only.

    .venv/bin/python -m bench.bench_dialogue [--split tune] [--failures]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avatars.advice import Verdict
from avatars.dialogue import CONCIERGE, Dialogue, DialogueState, clarify_reply, default_dialogue
from avatars.expertise import concierge_reply
from avatars.guardrails import guard
from avatars.local_brain import LocalBrain

DATA = Path(__file__).resolve().parent.parent / "avatars" / "data" / "dialogues.jsonl"


@dataclass(frozen=True, slots=True)
class Outcome:
    who: bool
    facts: bool
    got: tuple[str, ...]
    handoff: bool
    text: str


def ask(
    dialogue: Dialogue, brain: LocalBrain, state: DialogueState, q: str, risk: int | None, lang: str
) -> tuple[DialogueState, tuple[str, ...], bool, str]:
    plan = dialogue.plan(state, q, risk=risk, language=lang)
    texts: list[str] = []
    handoff = False
    for brief in dialogue.briefs(plan):
        reply = guard(brain.draft(brief), brief)
        handoff |= brief.suitability.verdict is Verdict.HANDOFF
        texts.append(reply.text)
    if not plan.assignments:
        reply = clarify_reply(lang) if plan.resolution == "clarify" else concierge_reply(lang)
        texts.append(reply.text)
    text = "\n".join(texts)
    who = tuple(sorted(s.value for s in plan.specialties)) or (CONCIERGE,)
    return plan.state.answered(text), who, handoff, text


def score(turn: dict[str, Any], who: tuple[str, ...], handoff: bool, text: str) -> Outcome:
    right = who == tuple(sorted(turn["answer"])) and handoff == turn["handoff"]
    folded = text.lower()
    facts = all(f.lower() in folded for f in turn["facts"])
    return Outcome(right, facts, who, handoff, text)


def run(
    dialogues: list[dict[str, Any]], *, context: bool
) -> list[tuple[dict[str, Any], int, Outcome]]:
    dialogue = default_dialogue()
    brain = LocalBrain(dialogue.knowledge)
    out = []
    for d in dialogues:
        state = DialogueState()
        for i, turn in enumerate(d["turns"]):
            if not context:
                state = DialogueState()
            state, who, handoff, text = ask(dialogue, brain, state, turn["q"], d["risk"], d["lang"])
            out.append((d, i, score(turn, who, handoff, text)))
    return out


def pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:5.1f}% ({hits:3d}/{total:3d})" if total else "     -"


def report(
    results: list[tuple[dict[str, Any], int, Outcome]],
    baseline: list[tuple[dict[str, Any], int, Outcome]],
) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for n, (d, i, _) in enumerate(results):
        groups[d["split"]].append(n)
        groups[f"{d['split']} {d['lang']}"].append(n)
        if i > 0:
            groups[f"{d['split']} follow-up turns"].append(n)
    print(
        f"{'turns':28s} {'who answers':>18s} {'facts':>18s}   {'baseline who':>18s} {'facts':>18s}"
    )
    for name in sorted(groups, key=lambda g: (not g.startswith("tune"), g)):
        idx = groups[name]
        who = pct(sum(results[k][2].who for k in idx), len(idx))
        facts = pct(sum(results[k][2].facts for k in idx), len(idx))
        bwho = pct(sum(baseline[k][2].who for k in idx), len(idx))
        bfacts = pct(sum(baseline[k][2].facts for k in idx), len(idx))
        print(f"{name:28s} {who:>18s} {facts:>18s}   {bwho:>18s} {bfacts:>18s}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "holdout", "all"), default="all")
    parser.add_argument("--failures", action="store_true", help="print the turns that miss")
    args = parser.parse_args(argv)
    dialogues = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    if args.split != "all":
        dialogues = [d for d in dialogues if d["split"] == args.split]
    run(dialogues[:1], context=True)  # loads the data, jieba's dictionary and the index
    started = time.perf_counter()
    results = run(dialogues, context=True)
    elapsed = time.perf_counter() - started
    baseline = run(dialogues, context=False)
    turns = len(results)
    print(f"Python {platform.python_version()} on {platform.machine()}")
    print(
        f"{len(dialogues)} dialogues, {turns} turns "
        f"({sum(d['lang'] != 'en' for d in dialogues)} dialogues Chinese, "
        f"{sum(d['lang'] == 'yue' for d in dialogues)} of them Cantonese)\n"
    )
    report(results, baseline)
    print(
        f"\nwith context: the dialogue state carried from turn to turn; baseline: every turn "
        f"asked alone. {1e3 * elapsed / turns:.2f} ms per turn (plan, briefs, local brain, "
        "guardrails)."
    )
    if args.failures:
        for d, i, o in results:
            if not (o.who and o.facts):
                t = d["turns"][i]
                print(f"\n{d['id']} turn {i + 1} [{d['lang']}, C{d['risk']}] {t['q']}")
                print(f"  want {t['answer']} handoff={t['handoff']} facts={t['facts']}")
                print(f"  got  {list(o.got)} handoff={o.handoff}: {o.text[:240]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
