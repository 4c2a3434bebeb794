"""Step-up before sensitive actions: a second factor, lock-out after five failures."""

from __future__ import annotations

import pyotp
import pytest

from avatars.expertise import default_expertise
from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.limits import RoomLimits
from rooms.roles import Role
from rooms.stepup import LOCKOUT_S, MAX_FAILURES, VERIFIED_FOR_S
from rooms.stepup_policy import Failed, Locked, Passed
from server.factor_store import FileFactorStore
from server.second_factor import FileEnrolments, TotpChecker, provisioning_uri
from tests.factor_shell import FactorShell
from tests.harness import Harness


def _codes(h: Harness, member: int) -> list[int]:
    return [e.code for e in h.inbox[member].errors]


def _verify(h: Harness, member: int, ok: bool, shell: FactorShell | None = None) -> None:
    h.send(member, m.Verify("123456"))
    (shell or _shells.setdefault(id(h), FactorShell())).answer(h, ok)


_shells: dict[int, FactorShell] = {}  # one store per harness, unless a test shares one


def test_portfolio_needs_a_verification_and_then_arrives() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.ViewPortfolio())
    assert _codes(h, ann) == [ErrorCode.STEP_UP_REQUIRED]
    assert h.fetches == []
    h.send(ann, m.Verify("123456"))
    (check,) = h.checks
    assert (check.subject, check.code) == ("Ann", "123456")
    h.deliver(h.room.factor_checked(check, Passed(), h.now))
    (verified,) = h.inbox[ann].of(m.Verified)
    assert verified.until == int((h.now + VERIFIED_FOR_S) * 1000)
    h.send(ann, m.ViewPortfolio())
    (fetch,) = h.fetches
    holding = m.Holding("p1", "Bond fund", "funds", 2, 100_000.0, "HKD")
    h.deliver(h.room.portfolio_ready(fetch, [holding], h.now))
    assert h.inbox[ann].of(m.Holdings) == [m.Holdings([holding], 3)]
    assert [e.outcome for e in h.actions("stepup.verify")] == ["ok"]
    assert h.actions("portfolio.view")
    # The window closes.
    h.tick(VERIFIED_FOR_S + 1)
    h.send(ann, m.ViewPortfolio())
    assert _codes(h, ann)[-1] == ErrorCode.STEP_UP_REQUIRED


def test_five_failures_lock_out_without_saying_which_factor_failed() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=2 * LOCKOUT_S))
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    for _ in range(MAX_FAILURES - 1):
        _verify(h, ann, ok=False)
    errors = h.inbox[ann].errors
    assert [e.code for e in errors] == [ErrorCode.NOT_VERIFIED] * (MAX_FAILURES - 1)
    assert errors[0].msg == "not verified; 4 attempts left"
    assert errors[-1].msg == "not verified; 1 attempt left"
    _verify(h, ann, ok=False)
    assert _codes(h, ann)[-1] == ErrorCode.LOCKED_OUT
    assert "locked" in h.inbox[ann].errors[-1].msg
    # Locked: a further code is not even checked, and the lock outlives a reconnect.
    checks = len(h.checks)
    h.send(ann, m.Verify("654321"))
    assert len(h.checks) == checks
    assert _codes(h, ann)[-1] == ErrorCode.LOCKED_OUT
    h.send(ann, m.Leave())
    again = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(again, m.ViewPortfolio())
    assert _codes(h, again) == [ErrorCode.LOCKED_OUT]
    assert h.inbox[again].errors[-1].ref == "portfolio"  # what it answers, not "verify"
    assert [e.action for e in h.audit if e.action == "stepup.lockout"] == ["stepup.lockout"]
    # It lifts by itself.
    h.tick(LOCKOUT_S + 1)
    _verify(h, again, ok=True)
    assert h.inbox[again].of(m.Verified)


def test_a_second_code_while_one_is_checked_is_refused() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.Verify("123456"))
    h.send(ann, m.Verify("123456"))
    assert len(h.checks) == 1
    assert _codes(h, ann) == [ErrorCode.ALREADY_DONE]


def test_a_failure_counts_even_if_the_member_left_before_the_answer() -> None:
    h = Harness()
    shell = FactorShell()
    ann = h.join(Role.CUSTOMER, "Ann")
    for _ in range(MAX_FAILURES - 1):
        _verify(h, ann, ok=False, shell=shell)
    h.send(ann, m.Verify("123456"))
    check = h.checks[-1]
    h.send(ann, m.Leave())
    h.deliver(h.room.factor_checked(check, shell.verdict(check, False, h.now), h.now))
    assert h.actions("stepup.lockout")[0].actor == "Ann"


@pytest.mark.parametrize("role", [Role.GUEST, Role.ADVISOR, Role.OBSERVER, Role.BOT])
def test_only_the_customer_may_verify(role: Role) -> None:
    h = Harness()
    member = h.join(role, "X")
    h.send(member, m.Verify("123456"))
    assert _codes(h, member) == [ErrorCode.FORBIDDEN]
    assert h.checks == []


def test_confirming_interest_pages_an_advisor_for_that_product() -> None:
    h = Harness()
    product = sorted(default_expertise().knowledge.products.values(), key=lambda p: p.id)[0]
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.ConfirmInterest(product.id))
    assert _codes(h, ann) == [ErrorCode.STEP_UP_REQUIRED]
    _verify(h, ann, ok=True)
    h.send(ann, m.ConfirmInterest("no-such-product"))
    assert _codes(h, ann)[-1] == ErrorCode.BAD_VALUE
    h.send(ann, m.ConfirmInterest(product.id))
    (page,) = h.pages
    assert page.product == product.id
    assert page.skill == product.specialty
    assert h.actions("product.interest")[0].detail["product"] == product.id


# --- the TOTP checker -------------------------------------------------------------------------


async def test_totp_codes_are_accepted_once_and_only_for_the_enrolled_customer(
    tmp_path: object,
) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "totp.json"
    enrolments = FileEnrolments(path)
    secret = enrolments.enrol("ann")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "otpauth://totp/" in provisioning_uri(secret, "ann")
    # A restart reads the file.
    checker = TotpChecker(FileEnrolments(path), FileFactorStore())
    now = 1_900_000_000.0
    code = pyotp.TOTP(secret).at(now)
    assert await checker.check("ann", code, now) == Passed()
    assert isinstance(await checker.check("ann", code, now), Failed)  # replayed
    assert isinstance(await checker.check("bob", code, now), Failed)  # not enrolled
    later = now + 30
    wrong = "000000" if code != "000000" else "111111"
    assert isinstance(await checker.check("ann", wrong, later), Failed)
    assert await checker.check("ann", pyotp.TOTP(secret).at(later), later) == Passed()
    # One step of clock drift either way is tolerated, two are not.
    far = now + 300
    assert await checker.check("ann", pyotp.TOTP(secret).at(far - 30), far) == Passed()
    verdict = await checker.check("ann", pyotp.TOTP(secret).at(far + 90), far + 30)
    assert isinstance(verdict, Failed)


def test_the_rule_locks_on_the_fifth_failure_in_a_row_and_forgets_old_ones() -> None:
    shell = FactorShell()
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.Verify("123456"))
    (check,) = h.checks
    verdicts = [shell.verdict(check, False, h.now) for _ in range(MAX_FAILURES)]
    assert verdicts[:-1] == [Failed(n, MAX_FAILURES - n) for n in range(1, MAX_FAILURES)]
    assert verdicts[-1] == Locked(h.now + LOCKOUT_S, fresh=True)
    assert shell.verdict(check, True, h.now + 1) == Locked(h.now + LOCKOUT_S, fresh=False)
    # After the lock, and after a quiet spell, failures count from one again.
    assert shell.verdict(check, False, h.now + LOCKOUT_S) == Failed(1, MAX_FAILURES - 1)
    assert shell.verdict(check, False, h.now + 3 * LOCKOUT_S) == Failed(1, MAX_FAILURES - 1)
