"""The shell's side of step-up for pure room tests: the real rule (``rooms/stepup_policy.py``)
over records in a dict, with no authenticator: a test says whether the code matched."""

from __future__ import annotations

from rooms.outputs import CheckFactor
from rooms.stepup_policy import FactorRecord, FactorVerdict, Match, judge
from server.second_factor import STEP_S
from tests.harness import Harness


class FactorShell:
    """One store, shared by as many rooms (harnesses) as a test opens."""

    def __init__(self) -> None:
        self.records: dict[str, FactorRecord] = {}

    def verdict(self, check: CheckFactor, ok: bool, now: float) -> FactorVerdict:
        step = int(now // STEP_S)
        match = Match(step, (step + 2) * STEP_S) if ok else None
        record = self.records.get(check.subject, FactorRecord())
        self.records[check.subject], verdict = judge(record, match, now)
        return verdict

    def answer(self, h: Harness, ok: bool) -> None:
        """Judge the room's newest check and give it the verdict."""
        check = h.checks[-1]
        h.deliver(h.room.factor_checked(check, self.verdict(check, ok, h.now), h.now))
