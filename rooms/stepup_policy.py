"""The step-up rule for one customer: when a code passes, when failures lock them out.

Judged on the shell side, over a :class:`FactorRecord` the shell keeps per customer (token
subject) in a store every room and node shares, and that outlives a restart
(``server/factor_store.py``, ``server/cluster/redis_factors.py``): a customer holding tokens
for several rooms gets ``MAX_FAILURES`` guesses in all of them together, not in each. A room
only relays the :data:`FactorVerdict`. Pure: the record and the time come in, the new record
and the verdict go out, so the store can apply it inside one atomic update.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

MAX_FAILURES = 5
LOCKOUT_S = 15 * 60.0
# Failures in a row are forgotten after this long without another: the record can expire,
# and the rate stays at most MAX_FAILURES - 1 guesses per window without a lock-out.
FAILURES_KEPT_S = LOCKOUT_S

_NEVER = float("-inf")


@dataclass(frozen=True, slots=True)
class FactorRecord:
    """What is known of one customer's second factor. The default: nothing (a fresh one)."""

    failures: int = 0  # in a row, since the last success or lock-out
    last_failure: float = _NEVER
    locked_until: float = _NEVER
    last_step: int = -1  # newest TOTP step accepted: it and every earlier one are spent
    spent_until: float = _NEVER  # after this no code of last_step or before could match

    @property
    def keep_until(self) -> float:
        """After this the record says nothing a fresh one would not: a store may drop it."""
        failures = self.last_failure + FAILURES_KEPT_S if self.failures else _NEVER
        return max(self.locked_until, failures, self.spent_until)


@dataclass(frozen=True, slots=True)
class Match:
    """A code that matches the customer's secret at TOTP ``step``; any code of that step stops
    matching at ``until`` (clock drift allowance included)."""

    step: int
    until: float


@dataclass(frozen=True, slots=True)
class Passed:
    """The code is right and unused: open the verified window."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Wrong, spent, or not enrolled (the same from outside). ``left`` more tries, then locked."""

    failures: int
    left: int


@dataclass(frozen=True, slots=True)
class Locked:
    """Locked out until ``until`` (epoch seconds). ``fresh``: this very check locked it (the
    ``MAX_FAILURES``-th failure); otherwise the code was not judged at all."""

    until: float
    fresh: bool


@dataclass(frozen=True, slots=True)
class Unavailable:
    """The shell could not judge the code (the store did not answer): nothing was counted."""


Judged = Passed | Failed | Locked  # what the rule can say
FactorVerdict = Judged | Unavailable  # what a room may be told


def judge(record: FactorRecord, match: Match | None, now: float) -> tuple[FactorRecord, Judged]:
    """The verdict on one code, and the record to keep. ``match``: ``None`` if the code does not
    match (or the customer is not enrolled)."""
    if now < record.locked_until:
        return record, Locked(record.locked_until, fresh=False)
    if match is not None and match.step > record.last_step:
        return FactorRecord(last_step=match.step, spent_until=match.until), Passed()
    failures = 1 + (record.failures if now < record.last_failure + FAILURES_KEPT_S else 0)
    if failures >= MAX_FAILURES:
        until = now + LOCKOUT_S
        locked = replace(record, failures=0, last_failure=now, locked_until=until)
        return locked, Locked(until, fresh=True)
    failed = replace(record, failures=failures, last_failure=now)
    return failed, Failed(failures, MAX_FAILURES - failures)
