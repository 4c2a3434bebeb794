"""A brain behind an OpenAI-compatible chat completions endpoint: a hosted model, or one served
in the bank's own network (vLLM, llama.cpp's server, Ollama and others speak the same API).

The model gets the rules, the conversation so far (a dialogue's brief carries it, as earlier
user and assistant messages) and only the brief's facts, with each product's fees, liquidity,
minimum, term, main risks and who it suits; whatever it writes still goes through the
guardrails. When it cannot answer (timeout, HTTP error, a response that is not the expected
JSON) the local brain answers instead, so a customer always gets a reply. A hand-off never
reaches the model: the customer hears the local brain's hand-off notice, and the model is not
asked to discuss a product it may not discuss.

The API key is sent as a bearer token and appears in no log line, exception or ``repr``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from avatars import suitability
from avatars.advice import AI_LABEL, Brief, Intent, Product, Reply, Verdict
from avatars.knowledge import BankProduct, text_for
from avatars.local_brain import LocalBrain
from avatars.specialties import TITLES

log = logging.getLogger(__name__)

MAX_TOKENS = 400  # about the guardrails' 1200-character cap in either language
TEMPERATURE = 0.2  # facts, not creativity

_LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Simplified Chinese (Mandarin)",
    "yue": "Cantonese, written in traditional Chinese characters",
}

SYSTEM_PROMPT = """\
You are an AI digital expert of a private bank, answering a customer in a virtual meeting \
room. Follow these rules without exception:
1. You are an AI. Never claim or imply to be a person.
2. Use only the facts given in the last user message; earlier messages are the conversation \
so far, to tell what "it" or "that one" means, never a source of facts. If the facts do not \
answer the question, say so and offer a human advisor. Never invent products, prices, \
rates, returns or other figures.
3. Never promise or suggest returns or safety. Do not use phrases such as "guaranteed \
returns", "risk-free", "can't lose", "will double", "保证收益", "稳赚", "无风险" or \
"保本保息", not even to deny them.
4. Whenever you mention a product, name its risk class exactly as given, for example \
"Risk class R3" or "风险等级 R3".
5. If the facts say the key risk must come first, begin with that product's key risk.
6. Give general information only: no personal recommendation to buy, sell or switch.
7. Answer in the language asked for, in at most 120 words of plain text, without lists or \
markdown."""


def facts(brief: Brief) -> str:
    """The brief as the model reads it: the question and the only facts it may use."""
    language = brief.language
    lines = [
        f"Customer question: {brief.question}",
        f"Answer in: {_LANGUAGE_NAMES.get(language, 'English')}",
        f"You are the bank's {TITLES[brief.specialty][0].lower()}.",
    ]
    if brief.intent is not None:
        lines.append(f"The question asks: {_INTENTS[brief.intent]}")
    subject = suitability.subject(brief)
    if brief.suitability.verdict is Verdict.DISCLOSE and subject is not None:
        lines.append(f"Say the key risk of {text_for(subject.name, language)} first.")
    if brief.products:
        lines.append("Products the question names:")
        for product in brief.products:
            key_risk = (
                f" Key risk: {text_for(product.key_risk, language)}"
                if isinstance(product, BankProduct)
                else ""
            )
            lines.append(
                f"- {text_for(product.name, language)}: risk class R{product.risk}, "
                f"{product.complexity.value}. {text_for(product.summary, language)}{key_risk}"
                f"{_product_facts(product, language)}"
            )
    if brief.faqs:
        lines.append("Answers the bank has published:")
        for faq in brief.faqs:
            lines.append(
                f"- Q: {text_for(faq.question, language)} A: {text_for(faq.answer, language)}"
            )
    if not brief.products and not brief.faqs:
        lines.append("The bank has published nothing on this question.")
    return "\n".join(lines)


_INTENTS = {
    Intent.DESCRIBE: "what the product is",
    Intent.FEES: "its fees and charges",
    Intent.RISKS: "its main risks",
    Intent.LIQUIDITY: "getting the money out: selling, redeeming, early exit, term",
    Intent.MINIMUM: "the minimum amount and the currencies",
    Intent.SUITS: "who the product suits",
    Intent.COMPARE: "the products side by side; name every risk class",
    Intent.SUITS_ME: (
        "products within the customer's risk profile, lowest risk first; offer a human advisor"
    ),
    Intent.CLARIFY: "unclear: ask which product the customer means",
}


def _product_facts(product: Product, language: str) -> str:
    if not isinstance(product, BankProduct):
        return ""
    parts = [
        f" {label}: {text_for(texts, language)}"
        for label, texts in (
            ("Fees", product.fees),
            ("Getting money out", product.liquidity),
            ("Term", product.term),
            ("Main risks", product.risks),
            ("Suits", product.suits),
        )
        if texts
    ]
    if product.currencies:
        parts.append(
            f" Minimum: {product.minimum_currency} {product.minimum:,}."
            f" Currencies: {', '.join(product.currencies)}."
        )
    return "".join(parts)


def messages(brief: Brief) -> list[dict[str, str]]:
    """The chat messages for ``brief``: the rules, the conversation so far, the facts."""
    out = [{"role": "system", "content": SYSTEM_PROMPT}]
    for exchange in brief.history:
        out.append({"role": "user", "content": exchange.question})
        if exchange.answer:
            out.append({"role": "assistant", "content": exchange.answer})
    out.append({"role": "user", "content": facts(brief)})
    return out


def _content(body: Any) -> str | None:
    """``choices[0].message.content`` if the body has it as non-empty text."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    if not isinstance(content, str) or not content.strip():
        return None
    return content.strip()


class OpenAICompatibleBrain:
    """A :class:`avatars.advice.Brain` calling ``POST {base_url}/chat/completions``."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout_s: float = 10.0,
        fallback: LocalBrain,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        # Logs name the host only: a base URL may carry credentials of its own.
        self._host = httpx.URL(base_url).host or "?"
        self._model = model
        self._timeout_s = timeout_s
        self._fallback = fallback
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout_s))

    def __repr__(self) -> str:
        return f"OpenAICompatibleBrain(host={self._host!r}, model={self._model!r})"

    async def answer(self, brief: Brief) -> Reply:
        if brief.suitability.verdict is Verdict.HANDOFF:
            return self._fallback.draft(brief)
        payload = {
            "model": self._model,
            "messages": messages(brief),
            "temperature": TEMPERATURE,
            "max_tokens": MAX_TOKENS,
        }
        failure: str
        try:
            # httpx's timeout bounds each read; this bounds the whole exchange.
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.post(self._url, json=payload)
            if response.status_code != httpx.codes.OK:
                failure = f"HTTP {response.status_code}"
            else:
                text = _content(response.json())
                if text is not None:
                    return self._reply(brief, text)
                failure = "no answer text in the response"
        except (TimeoutError, httpx.TimeoutException):
            failure = f"no answer within {self._timeout_s:g} s"
        except ValueError:
            failure = "response is not JSON"
        except httpx.HTTPError as exc:
            # The exception's own message is left out: only its kind says anything useful.
            failure = type(exc).__name__
        log.warning(
            "brain at %s (model %s) failed: %s; the local brain answers",
            self._host,
            self._model,
            failure,
        )
        return self._fallback.draft(brief)

    def _reply(self, brief: Brief, text: str) -> Reply:
        subject = suitability.subject(brief)
        return Reply(
            text=text,
            sources=tuple(p.id for p in brief.products) + tuple(f.id for f in brief.faqs),
            risk_class=subject.risk if subject is not None else None,
            product=subject.id if subject is not None else None,
            handoff=False,
            reason=None,
            label=AI_LABEL.get(brief.language, AI_LABEL["en"]),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
