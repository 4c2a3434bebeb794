"""Writes ``avatars/data/dialogues.jsonl``: labelled multi-turn dialogues for bench_dialogue.

The set is built from conversation shapes (describe then follow-ups, pronouns, a topic switch,
a comparison, "what suits me", a hand-off, a clarifying question) crossed with products and
with wordings written by hand in English, Mandarin and Cantonese. The tuning and the held-out
parts use different wordings (pool ``a`` and pool ``b``) and different random draws, and the
held-out part was written before any tuning. Each turn is labelled with who answers
(specialties, or ``concierge``), whether a person takes over, and facts the answer must
contain (risk classes and the product's own figures, in the answer's script).

    .venv/bin/python -m bench.make_dialogues
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from avatars.knowledge import Knowledge
from avatars.script import to_hk

OUT = Path(__file__).resolve().parent.parent / "avatars" / "data" / "dialogues.jsonl"
K = Knowledge.load()

# How customers name a product: (English, Mandarin); Cantonese uses the Mandarin in HK script.
MENTION = {
    "time-deposit": ("the time deposit", "定期存款"),
    "savings-account": ("a savings account", "储蓄账户"),
    "certificate-of-deposit": ("certificates of deposit", "存款证"),
    "hkd-money-market-fund": ("the money market fund", "货币基金"),
    "global-ig-bond-fund": ("the bond fund", "债券基金"),
    "global-balanced-fund": ("the balanced fund", "平衡基金"),
    "global-equity-fund": ("the equity fund", "股票基金"),
    "us-treasuries": ("US Treasuries", "美国国债"),
    "hk-government-bonds": ("Hong Kong government bonds", "港府债券"),
    "ig-corporate-bonds": ("investment-grade corporate bonds", "投资级公司债"),
    "term-life-insurance": ("term life insurance", "定期寿险"),
    "critical-illness-cover": ("critical illness cover", "重疾保障"),
    "multi-currency-account": ("a multi-currency account", "多币种账户"),
    "hk-blue-chip-shares": ("Hong Kong blue chips", "港股蓝筹"),
    "us-listed-shares": ("US stocks", "美股"),
}
HANDOFF = {
    "equity-accumulator": ("accumulators", "累计期权"),
    "structured-deposit": ("a structured deposit", "结构性存款"),
    "fx-option": ("FX options", "外汇期权"),
    "family-trust": ("a family trust", "家族信托"),
}
SWITCH = {  # a topic word and the specialty it names
    "stocks": ("stocks", "股票", "股票"),
    "bonds": ("bonds", "债券", "債券"),
    "insurance": ("insurance", "保险", "保險"),
    "fx": ("foreign exchange", "外汇", "外匯"),
    "tax": ("tax planning", "税务", "稅務"),
    "funds": ("funds", "基金", "基金"),
    "deposits": ("deposits", "存款", "存款"),
}

# Wordings: {P} is the product mention, {T} a topic word. Pool a tunes, pool b is held out.
W: dict[str, dict[str, dict[str, list[str]]]] = {
    "describe": {
        "en": {
            "a": ["Tell me about {P}.", "What is {P}?", "Can you explain {P}?"],
            "b": ["I'd like to know more about {P}.", "How does {P} work?"],
        },
        "zh": {
            "a": ["介绍一下{P}。", "{P}是什么？", "请讲讲{P}。"],
            "b": ["我想了解一下{P}。", "{P}是怎么运作的？"],
        },
        "yue": {
            "a": ["講下{P}。", "{P}係咩嚟㗎？", "介紹下{P}啦。"],
            "b": ["我想了解多啲{P}。", "{P}點運作㗎？"],
        },
    },
    "fees": {
        "en": {
            "a": ["And what are the fees?", "What does it cost?", "Any charges?"],
            "b": ["How much will I pay in fees?", "And the charges?"],
        },
        "zh": {
            "a": ["那费用呢？", "收费是多少？", "手续费贵不贵？"],
            "b": ["要交哪些费用？", "它的管理费多少？"],
        },
        "yue": {
            "a": ["咁收費呢？", "要收幾多錢手續費？", "貴唔貴㗎？收費點計？"],
            "b": ["有咩費用要俾？", "佢嘅管理費幾多？"],
        },
    },
    "liquidity": {
        "en": {
            "a": ["Can I take the money out early?", "What if I need to withdraw early?"],
            "b": ["How quickly can I get my money back?", "Can I redeem whenever I want?"],
        },
        "zh": {
            "a": ["提前取出来会怎么样？", "可以提早赎回吗？"],
            "b": ["如果急用钱能随时取出吗？", "要锁定多久？"],
        },
        "yue": {
            "a": ["如果想提早攞返啲錢點算？", "可唔可以提早贖回？"],
            "b": ["急用錢可唔可以隨時拎返？", "要鎖幾耐？"],
        },
    },
    "minimum": {
        "en": {
            "a": ["What's the minimum?", "Which currency is it in, and what's the minimum?"],
            "b": ["How much do I need to start with?", "What currencies can I use?"],
        },
        "zh": {
            "a": ["最低要投多少？", "起投金额是多少？"],
            "b": ["门槛是多少钱？", "可以用什么货币？"],
        },
        "yue": {
            "a": ["最少要幾多錢？", "入場門檻係幾多？"],
            "b": ["起點係幾多錢？", "可以用咩貨幣？"],
        },
    },
    "risks": {
        "en": {
            "a": ["What are the risks of it?", "Is it risky?"],
            "b": ["What could go wrong with that one?", "How could I lose money on it?"],
        },
        "zh": {
            "a": ["它有什么风险？", "这个风险大吗？"],
            "b": ["那个会不会亏钱？", "这款产品的风险在哪里？"],
        },
        "yue": {
            "a": ["佢有咩風險？", "呢個風險大唔大？"],
            "b": ["嗰個會唔會蝕錢？", "呢款有咩風險？"],
        },
    },
    "suits": {
        "en": {
            "a": ["Who is it for?", "Who should buy this?"],
            "b": ["Who does it suit?", "What kind of customer is that one meant for?"],
        },
        "zh": {
            "a": ["它适合什么人？", "这个适合谁？"],
            "b": ["什么人适合买这个？", "那个适合哪些人？"],
        },
        "yue": {"a": ["佢啱咩人？", "呢個適合邊個？"], "b": ["咩人適合買呢個？", "嗰個啱邊個？"]},
    },
    "switch": {
        "en": {"a": ["And {T}?", "What about {T}?"], "b": ["How about {T}, then?", "And {T}?"]},
        "zh": {"a": ["那{T}呢？", "{T}呢？"], "b": ["还有{T}呢？", "那{T}怎么样？"]},
        "yue": {"a": ["咁{T}呢？", "{T}又點？"], "b": ["仲有{T}呢？", "咁{T}點呀？"]},
    },
    "compare": {
        "en": {
            "a": ["Compare {P} with {Q}.", "What's the difference between {P} and {Q}?"],
            "b": [
                "{P} versus {Q}: which is better for me to know about?",
                "Can you put {P} and {Q} side by side?",
            ],
        },
        "zh": {
            "a": ["比较一下{P}和{Q}。", "{P}和{Q}有什么区别？"],
            "b": ["{P}跟{Q}对比一下。", "{P}和{Q}哪个好？"],
        },
        "yue": {
            "a": ["比較下{P}同{Q}。", "{P}同{Q}有咩分別？"],
            "b": ["{P}同{Q}對比下。", "{P}同{Q}邊個好啲？"],
        },
    },
    "compare_it": {
        "en": {"a": ["Compare it with {Q}."], "b": ["How does it compare with {Q}?"]},
        "zh": {"a": ["跟{Q}比较一下呢？"], "b": ["它和{Q}比起来怎么样？"]},
        "yue": {"a": ["同{Q}比較下呢？"], "b": ["佢同{Q}比起嚟點？"]},
    },
    "suits_me": {
        "en": {
            "a": [
                "I'm 60 and want something steady. What suits me?",
                "I'm retired, what low-risk products would suit me?",
            ],
            "b": [
                "I am 65 years old and conservative; what do you suggest?",
                "What's suitable for me? I want low risk.",
            ],
        },
        "zh": {
            "a": ["我60岁了，想买点稳健的理财", "我退休了，有什么低风险的产品适合我？"],
            "b": ["我65岁，比较保守，推荐点什么？", "有没有适合我的稳健产品？"],
        },
        "yue": {
            "a": ["我60歲啦，想買啲穩健嘅產品", "我退休咗，有咩低風險嘅啱我？"],
            "b": ["我65歲，比較保守，有咩推介？", "有冇啲穩陣嘅適合我？"],
        },
    },
    "vague": {
        "en": {
            "a": ["What are the fees?", "Can I take it out early?"],
            "b": ["How much does it cost?", "What's the minimum?"],
        },
        "zh": {"a": ["费用是多少？", "可以提前取出吗？"], "b": ["收费贵吗？", "最低多少钱？"]},
        "yue": {"a": ["收費係幾多？", "可唔可以提早攞返？"], "b": ["收費貴唔貴？", "最少要幾多？"]},
    },
    "name": {
        "en": {"a": ["I mean {P}."], "b": ["{P}, please."]},
        "zh": {"a": ["我说的是{P}。"], "b": ["{P}。"]},
        "yue": {"a": ["我講緊{P}。"], "b": ["{P}呀。"]},
    },
}
RISK_PHRASE = {"en": "Risk class R{r}", "zh": "风险等级 R{r}", "yue": "風險等級 R{r}"}


def mention(pid: str, lang: str) -> str:
    en, zh = MENTION.get(pid) or HANDOFF[pid]
    return en if lang == "en" else (zh if lang == "zh" else to_hk(zh))


def script(text: str, lang: str) -> str:
    return to_hk(text) if lang == "yue" else text


def fact(pid: str, key: str, lang: str) -> str:
    """A short piece of the product's own text the answer must carry."""
    p = K.product(pid)
    texts = getattr(p, key)
    text = texts["en"] if lang == "en" else texts["zh"]
    piece = text[:24] if lang == "en" else text[:10]
    return script(piece, lang)


def risk(pid: str, lang: str) -> str:
    return RISK_PHRASE[lang].format(r=K.product(pid).risk)


def turn(q: str, answer: list[str], facts: list[str], handoff: bool = False) -> dict[str, Any]:
    return {"q": q, "answer": answer, "handoff": handoff, "facts": facts}


def build(pool: str, rng: random.Random, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    shapes = [
        "follow",
        "pronoun",
        "switch",
        "compare",
        "compare_it",
        "suits_me",
        "handoff",
        "clarify",
        "suits",
    ]
    langs = ["en", "zh", "yue", "en", "zh", "yue"]

    def w(kind: str, lang: str, **fill: str) -> str:
        return rng.choice(W[kind][lang][pool]).format(**fill)

    i = 0
    while len(out) < count:
        shape = shapes[i % len(shapes)]
        lang = langs[(i // len(shapes)) % len(langs)] if i % 2 else langs[i % len(langs)]
        i += 1
        pid = rng.choice(sorted(MENTION))
        p = K.product(pid)
        sp = p.specialty.value
        profile = rng.randint(max(p.risk, 2), 5)
        subject = mention(pid, lang)
        turns: list[dict[str, Any]] = []
        if shape == "follow":
            turns = [
                turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                turn(w("fees", lang), [sp], [fact(pid, "fees", lang), risk(pid, lang)]),
                turn(w("liquidity", lang), [sp], [fact(pid, "liquidity", lang)]),
            ]
        elif shape == "pronoun":
            turns = [
                turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                turn(w("risks", lang), [sp], [fact(pid, "risks", lang)]),
                turn(w("minimum", lang), [sp], [risk(pid, lang)]),
            ]
        elif shape == "suits":
            turns = [
                turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                turn(w("suits", lang), [sp], [fact(pid, "suits", lang)]),
            ]
        elif shape == "switch":
            other = rng.choice([s for s in SWITCH if s != sp])
            en, zh, yue = SWITCH[other]
            topic = {"en": en, "zh": zh, "yue": yue}[lang]
            turns = [
                turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                turn(w("switch", lang, T=topic), [other], []),
            ]
        elif shape in ("compare", "compare_it"):
            same = [
                q for q in sorted(MENTION) if q != pid and K.product(q).specialty == p.specialty
            ]
            if not same:
                continue  # the only product of its shelf here: nothing to compare it with
            qid = rng.choice(same)
            profile = max(profile, K.product(qid).risk)
            other_name = mention(qid, lang)
            facts = [risk(pid, lang), risk(qid, lang)]
            if shape == "compare":
                turns = [turn(w("compare", lang, P=subject, Q=other_name), [sp], facts)]
            else:
                turns = [
                    turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                    turn(w("compare_it", lang, Q=other_name), [sp], facts),
                ]
        elif shape == "suits_me":
            profile = rng.choice([1, 2, 3, 4])
            panel = ["deposits", "bonds", "funds"] if profile >= 2 else ["deposits", "funds"]
            facts = [RISK_PHRASE[lang].format(r=1)]
            turns = [turn(w("suits_me", lang), panel, facts)]
        elif shape == "handoff":
            hid = rng.choice(sorted(HANDOFF))
            h = K.product(hid)  # complex: a person takes over whatever the profile
            turns = [
                turn(w("describe", lang, P=subject), [sp], [risk(pid, lang)]),
                turn(
                    w("describe", lang, P=mention(hid, lang)),
                    [h.specialty.value],
                    [f"R{h.risk}"],
                    handoff=True,
                ),
            ]
        elif shape == "clarify":
            turns = [
                turn(w("vague", lang), ["concierge"], []),
                turn(w("name", lang, P=subject), [sp], [risk(pid, lang)]),
            ]
        out.append({"lang": lang, "risk": profile, "shape": shape, "turns": turns})
    return out


def main() -> None:
    tune = build("a", random.Random(1), 110)
    held = build("b", random.Random(2), 60)
    with OUT.open("w", encoding="utf-8") as fh:
        for split, items in (("tune", tune), ("holdout", held)):
            for n, d in enumerate(items, 1):
                record = {"id": f"{split}-{n:03d}", "split": split, **d}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
