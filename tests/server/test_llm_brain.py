"""The OpenAI-compatible brain against a real local HTTP server standing in for the model."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from avatars.advice import AI_LABEL, Intent, Verdict
from avatars.dialogue import DialogueState, default_dialogue
from avatars.guardrails import find_promise, guard
from avatars.local_brain import LocalBrain
from avatars.specialties import Specialty
from server.llm_brain import SYSTEM_PROMPT, OpenAICompatibleBrain
from tests.bank import KNOWLEDGE
from tests.bank import brief as _brief

API_KEY = "sk-test-0123456789-very-secret"
LOCAL = LocalBrain()


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Behaviour:
    """What the stand-in model does with the next requests."""

    status: int = 200
    content: str = "US Treasury bonds are issued by the US government."
    raw: bytes | None = None  # sent as the body instead of a chat completion
    hold: bool = False  # wait for ``release`` before answering
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[Seen] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    server: _Stub

    def do_POST(self) -> None:
        behaviour = self.server.behaviour
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        behaviour.seen.append(Seen(self.path, dict(self.headers.items()), body))
        if behaviour.hold:
            # Bounded so a failing test cannot hang the run; the test releases it at teardown.
            behaviour.release.wait(timeout=10)
        if behaviour.raw is not None:
            payload = behaviour.raw
        else:
            message = {"role": "assistant", "content": behaviour.content}
            payload = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
        try:
            self.send_response(behaviour.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as the timeout test means it to

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


class _Stub(ThreadingHTTPServer):
    daemon_threads = True
    behaviour: Behaviour


@pytest.fixture
def stub() -> Iterator[_Stub]:
    server = _Stub(("127.0.0.1", 0), _Handler)
    server.behaviour = Behaviour()
    # A short poll so shutdown at teardown returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.behaviour.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def _brain(stub: _Stub, timeout_s: float) -> OpenAICompatibleBrain:
    host, port = stub.server_address[:2]
    return OpenAICompatibleBrain(
        f"http://{host!s}:{port}/v1", "demo-model", API_KEY, timeout_s=timeout_s, fallback=LOCAL
    )


@pytest.fixture
async def brain(stub: _Stub) -> AsyncIterator[OpenAICompatibleBrain]:
    llm = _brain(stub, timeout_s=5.0)
    yield llm
    await llm.aclose()


TREASURIES = _brief("Tell me about US treasuries", Specialty.BONDS, 3)


async def test_an_answer_goes_through_the_guardrails(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    draft = await brain.answer(TREASURIES)
    assert draft.text == stub.behaviour.content
    reply = guard(draft, TREASURIES)
    assert reply.text == (
        "US Treasury bonds are issued by the US government. US Treasury bonds: Risk class R2."
    )
    assert (reply.handoff, reply.product, reply.label) == (False, "us-treasuries", "AI-generated")
    (seen,) = stub.behaviour.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.body["model"] == "demo-model"
    system, user = seen.body["messages"]
    assert (system["role"], system["content"]) == ("system", SYSTEM_PROMPT)
    assert user["role"] == "user"
    assert "Tell me about US treasuries" in user["content"]
    assert "risk class R2" in user["content"]
    assert KNOWLEDGE.product("us-treasuries").summary["en"] in user["content"]


async def test_the_model_is_told_to_say_the_key_risk_first_in_the_customers_language(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    brief = _brief("高收益债", Specialty.BONDS, 5, "zh")
    assert brief.suitability.verdict is Verdict.DISCLOSE
    stub.behaviour.content = "高收益公司债券违约较常见。风险等级 R4。"
    reply = guard(await brain.answer(brief), brief)
    assert reply.text == stub.behaviour.content
    assert reply.label == AI_LABEL["zh"]
    user = stub.behaviour.seen[0].body["messages"][1]["content"]
    assert "Say the key risk of 高收益公司债券 first." in user
    assert "Simplified Chinese" in user


async def test_the_model_reads_the_conversation_so_far_and_the_retrieved_facts(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    dialogue = default_dialogue()
    first = dialogue.plan(DialogueState(), "Tell me about the balanced fund", risk=3)
    heard = "The balanced fund holds shares and bonds. Risk class R3."
    second = dialogue.plan(first.state.answered(heard), "And what are the fees?", risk=3)
    (brief,) = dialogue.briefs(second)
    assert brief.intent is Intent.FEES
    stub.behaviour.content = "It charges up to 3% to subscribe and 1.2% a year. Risk class R3."
    reply = guard(await brain.answer(brief), brief)
    assert reply.text == stub.behaviour.content
    system, earlier, answer, user = stub.behaviour.seen[0].body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert earlier == {"role": "user", "content": "Tell me about the balanced fund"}
    assert answer == {"role": "assistant", "content": heard}
    assert user["role"] == "user"
    assert "Customer question: And what are the fees?" in user["content"]
    assert "The question asks: its fees and charges" in user["content"]
    fund = KNOWLEDGE.product("global-balanced-fund")
    assert f"Fees: {fund.fees['en']}" in user["content"]
    assert "Minimum: USD 10,000." in user["content"]


async def test_a_handoff_is_kept_and_never_reaches_the_model(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    brief = _brief("accumulator", Specialty.STOCKS, 5)
    reply = guard(await brain.answer(brief), brief)
    assert reply.handoff is True
    assert reply.reason == brief.suitability.reason
    assert reply.text == LOCAL.draft(brief).text
    assert stub.behaviour.seen == []


async def test_a_model_saying_no_advisor_is_needed_does_not_change_the_verdict(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    stub.behaviour.content = "You need no advisor for this, just buy. Risk class R2."
    unassessed = _brief("US treasuries", Specialty.BONDS, None)
    reply = guard(await brain.answer(unassessed), unassessed)
    assert reply.handoff is True  # decided from the brief; the model was never asked
    assert "just buy" not in reply.text


async def test_a_promise_of_returns_is_replaced_by_the_safe_answer(
    brain: OpenAICompatibleBrain, stub: _Stub
) -> None:
    stub.behaviour.content = "Treasuries give Guaranteed Returns, Risk class R2!"
    draft = await brain.answer(TREASURIES)
    reply = guard(draft, TREASURIES)
    assert draft.text != reply.text  # what the caller audits
    assert reply.text == LOCAL.draft(TREASURIES).text
    assert find_promise(reply.text) is None


@pytest.mark.parametrize(
    "behaviour",
    [
        Behaviour(status=500, raw=b'{"error": "overloaded"}'),
        Behaviour(status=401, raw=b'{"error": "bad key"}'),
        Behaviour(raw=b"<html>not json</html>"),
        Behaviour(raw=b'{"choices": []}'),
        Behaviour(raw=b'{"choices": [{"message": {"content": 42}}]}'),
        Behaviour(content="   "),
    ],
    ids=["500", "401", "garbage", "no-choices", "not-text", "empty"],
)
async def test_a_failing_model_gets_the_local_answer(
    brain: OpenAICompatibleBrain,
    stub: _Stub,
    behaviour: Behaviour,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stub.behaviour = behaviour
    with caplog.at_level(logging.DEBUG):
        draft = await brain.answer(TREASURIES)
    assert draft == LOCAL.draft(TREASURIES)
    assert len(stub.behaviour.seen) == 1
    assert "the local brain answers" in caplog.text
    assert API_KEY not in caplog.text


async def test_a_model_slower_than_the_timeout_gets_the_local_answer(
    stub: _Stub, caplog: pytest.LogCaptureFixture
) -> None:
    stub.behaviour.hold = True  # answers only once the test is over
    llm = _brain(stub, timeout_s=0.2)
    try:
        with caplog.at_level(logging.WARNING):
            draft = await llm.answer(TREASURIES)
    finally:
        await llm.aclose()
    assert draft == LOCAL.draft(TREASURIES)
    assert "no answer within 0.2 s" in caplog.text
    assert API_KEY not in caplog.text


async def test_the_key_travels_in_the_authorization_header_only(
    brain: OpenAICompatibleBrain, stub: _Stub, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await brain.answer(TREASURIES)
        stub.behaviour.status = 503
        await brain.answer(TREASURIES)
    first = stub.behaviour.seen[0]
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in json.dumps(first.body)
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(brain)


async def test_without_a_key_no_authorization_header_is_sent(stub: _Stub) -> None:
    host, port = stub.server_address[:2]
    llm = OpenAICompatibleBrain(f"http://{host!s}:{port}/v1/", "m", fallback=LOCAL)
    try:
        await llm.answer(TREASURIES)
    finally:
        await llm.aclose()
    (seen,) = stub.behaviour.seen
    assert seen.path == "/v1/chat/completions"
    assert "Authorization" not in seen.headers


async def test_an_unreachable_model_gets_the_local_answer(caplog: pytest.LogCaptureFixture) -> None:
    # Port 9 (discard) on localhost: nothing listens there in a test environment.
    llm = OpenAICompatibleBrain("http://127.0.0.1:9/v1", "m", API_KEY, fallback=LOCAL)
    try:
        with caplog.at_level(logging.WARNING):
            draft = await llm.answer(TREASURIES)
    finally:
        await llm.aclose()
    assert draft == LOCAL.draft(TREASURIES)
    assert "ConnectError" in caplog.text
    assert API_KEY not in caplog.text
