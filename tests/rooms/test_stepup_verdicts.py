"""Rooms relay the shell's step-up verdicts: one customer's record shared by two rooms, and a
check the shell could not make."""

from __future__ import annotations

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.roles import Role
from rooms.stepup import MAX_FAILURES
from rooms.stepup_policy import Unavailable
from tests.factor_shell import FactorShell
from tests.harness import Harness


def _codes(h: Harness, member: int) -> list[int]:
    return [e.code for e in h.inbox[member].errors]


def test_failures_in_two_rooms_add_up_and_the_lock_shows_in_both() -> None:
    shell = FactorShell()  # one store, as every room on every node shares
    first, second = Harness(), Harness()
    second.now = first.now
    ann1 = first.join(Role.CUSTOMER, "Ann")
    ann2 = second.join(Role.CUSTOMER, "Ann")
    for _ in range(3):
        first.send(ann1, m.Verify("123456"))
        shell.answer(first, ok=False)
    for _ in range(MAX_FAILURES - 3):
        second.send(ann2, m.Verify("123456"))
        shell.answer(second, ok=False)
    assert _codes(second, ann2) == [ErrorCode.NOT_VERIFIED, ErrorCode.LOCKED_OUT]
    assert [e.action for e in second.audit if e.action == "stepup.lockout"] == ["stepup.lockout"]
    # The first room learns it at the next code, even a right one; no second lock-out event.
    first.send(ann1, m.Verify("654321"))
    shell.answer(first, ok=True)
    assert _codes(first, ann1)[-1] == ErrorCode.LOCKED_OUT
    assert not first.actions("stepup.lockout")
    # From then on it answers by itself, for sensitive actions too.
    checks = len(first.checks)
    first.send(ann1, m.Verify("654321"))
    first.send(ann1, m.ViewPortfolio())
    assert len(first.checks) == checks
    assert [e.ref for e in first.inbox[ann1].errors[-2:]] == ["verify", "portfolio"]
    assert _codes(first, ann1)[-2:] == [ErrorCode.LOCKED_OUT] * 2


def test_a_check_the_shell_could_not_make_counts_nothing_and_may_be_retried() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.Verify("123456"))
    h.deliver(h.room.factor_checked(h.checks[-1], Unavailable(), h.now))
    (error,) = h.inbox[ann].errors
    assert error.code == ErrorCode.NOT_VERIFIED
    assert "attempt" not in error.msg
    assert [e.outcome for e in h.actions("stepup.verify")] == ["unavailable"]
    h.send(ann, m.Verify("123456"))
    assert len(h.checks) == 2
