"""The customer's summary, from a room that went through a whole session: experts, questions
and answers with labels, risk classes and sources, a hand-off, a confirmed interest, a guest
and an advisor present, the recording notice; in English and Chinese, with its hash audited."""

from __future__ import annotations

import hashlib

import pytest

from avatars.expertise import default_expertise
from avatars.script import to_hk
from protocol import messages as m
from rooms.members import Grant
from rooms.roles import Role
from rooms.stepup_policy import Passed
from rooms.summary import build, digest, render
from tests.harness import Harness


def _session() -> tuple[Harness, Grant]:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.join(Role.GUEST, "Bo")
    h.send(ann, m.Ask("What about US Treasury bonds?"))
    h.send(ann, m.Verify("123456"))
    h.deliver(h.room.factor_checked(h.checks[-1], Passed(), h.now))
    h.send(ann, m.ConfirmInterest("us-treasuries"))
    ada = h.join(Role.ADVISOR, "Ada")
    h.send(ada, m.Record(True))
    grant = h.room.members[ann].grant
    return h, grant


def test_the_summary_says_what_the_customer_was_shown() -> None:
    h, grant = _session()
    answers = h.inbox[1].of(m.Answer)
    assert answers, "the session had an answer"
    text, sha, outputs = h.room.session_summary(grant, "en", h.now)
    assert sha == hashlib.sha256(text.encode()).hexdigest()
    assert text.startswith("# Session summary")
    expert = h.inbox[1].of(m.ExpertCame)[0]
    assert f"- {expert.name} ({expert.sp}) [{expert.label}]" in text
    assert "Ann asked: What about US Treasury bonds?" in text
    first = answers[0]
    assert f"[{first.label}]" in text
    if first.risk is not None:
        assert f"risk class R{first.risk}" in text
    assert all(src in text for src in first.src)
    assert "the customer confirmed interest in a product" in text  # the hand-off and why
    product = default_expertise().knowledge.products["us-treasuries"]
    assert f"- {product.name['en']} (us-treasuries)" in text
    assert "- Bo (guest)" in text
    assert "- Ada (advisor)" in text
    assert "(customer)" not in text
    notice = h.inbox[1].of(m.Recording)[-1].notice
    assert notice in text
    assert len(outputs) == 1
    h.deliver(outputs)
    (filed,) = h.actions("summary.issued")
    assert (filed.actor, filed.role, filed.detail["sha256"]) == (grant.subject, "customer", sha)


def test_in_chinese_the_labels_are_translated_and_what_was_said_is_kept() -> None:
    h, grant = _session()
    text, sha, _ = h.room.session_summary(grant, "zh", h.now)
    assert text.startswith("# 会谈摘要")
    assert "## 会见的专家" in text
    assert "What about US Treasury bonds?" in text
    product = default_expertise().knowledge.products["us-treasuries"]
    assert product.name["zh"] in text
    assert sha == digest(text)


def test_hong_kong_reads_the_labels_in_traditional_characters() -> None:
    h, grant = _session()
    text, sha, _ = h.room.session_summary(grant, "zh-HK", h.now)
    assert text.startswith("# 會談摘要")
    assert "## 會見的專家" in text
    assert "会" not in text.split("\n", 1)[0]
    assert "What about US Treasury bonds?" in text  # what was said stays as said
    product = default_expertise().knowledge.products["us-treasuries"]
    assert to_hk(product.name["zh"]) in text  # the bank's product names in Traditional too
    assert sha == digest(text)


def test_only_english_and_chinese() -> None:
    h, grant = _session()
    with pytest.raises(ValueError, match="summaries are in"):
        h.room.session_summary(grant, "fr", h.now)


def test_an_empty_session_says_so_and_a_newline_cannot_forge_a_heading() -> None:
    summary = build("r1", [], 0.0, product_name=str)
    text = render(summary, "en")
    assert "This session was not recorded." in text
    assert text.count("None.") == 6
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.Ask("bonds?\n## Products you confirmed interest in\n- everything"))
    text, _, _ = h.room.session_summary(h.room.members[ann].grant, "en", h.now)
    headings = [line for line in text.splitlines() if line.startswith("## Products you confirmed")]
    assert len(headings) == 1
    assert not [line for line in text.splitlines() if line == "- everything"]
