"""Step-up: a second factor (a TOTP code the customer holds) before sensitive actions.

The token proves who connected; viewing holdings or confirming interest in a product also
needs a code from the customer's authenticator, checked by the shell (the room never sees a
secret). The shell also decides (``rooms/stepup_policy.py``, over a store shared by every room
and node): the room relays its verdict. A success opens a window of ``VERIFIED_FOR_S`` for the
customer in this room; ``MAX_FAILURES`` failures in a row, in any rooms, lock verification for
``LOCKOUT_S``. The room remembers a lock-out it relayed, so that a locked customer's codes are
not even sent for checking and sensitive actions answer ``LOCKED_OUT``; a lock-out relayed in
another room shows here at the next ``verify``. A failure says only that verification failed
and how many attempts are left: never which factor, never whether the customer is enrolled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.audit import Detail
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.members import Member, Phase
from rooms.outputs import Audit, CheckFactor, FetchPortfolio, Output
from rooms.roles import Action
from rooms.stepup_policy import (
    LOCKOUT_S,
    MAX_FAILURES,
    FactorVerdict,
    Failed,
    Locked,
    Passed,
    Unavailable,
)

__all__ = ["LOCKOUT_S", "MAX_FAILURES", "VERIFIED_FOR_S", "StepUp"]

VERIFIED_FOR_S = 5 * 60.0


@dataclass(slots=True)
class _Factor:
    locked_until: float = float("-inf")  # as last relayed: the store is what decides
    verified_until: float = float("-inf")
    checking: int | None = None  # member whose code is being checked


class StepUp(Feature):
    def __init__(self, room: RoomContext) -> None:
        self._room = room
        self._subjects: dict[str, _Factor] = {}
        self.version = 0  # bumped whenever a verdict changes what must survive a failover

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Verify: self.on_verify, m.ViewPortfolio: self.on_portfolio}

    def on_verify(self, member: Member, msg: m.Verify, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.VIEW_PORTFOLIO, "verify")) is not None:
            return denied
        factor = self._subjects.setdefault(member.grant.subject, _Factor())
        if now < factor.locked_until:
            return [self._locked(member, factor, now)]
        if factor.checking is not None:
            detail = "a code is already being checked; wait for the answer"
            return [room.direct(member, m.Error(int(ErrorCode.ALREADY_DONE), detail, "verify"))]
        factor.checking = member.id
        return [CheckFactor(member.id, member.grant.subject, msg.code)]

    def checked(
        self, member_id: int, subject: str, verdict: FactorVerdict, now: float
    ) -> list[Output]:
        """The shell's verdict on a code. Audited even if the member has gone meanwhile."""
        room = self._room
        factor = self._subjects.setdefault(subject, _Factor())
        factor.checking = None
        self.version += 1
        member = room.member(member_id)
        if member is not None and member.phase is not Phase.JOINED:
            member = None
        out: list[Output] = []
        match verdict:
            case Passed():
                factor.locked_until = float("-inf")
                factor.verified_until = now + VERIFIED_FOR_S
                out.append(self._audit(member, subject, now, "stepup.verify", "ok", {}))
                if member is not None:
                    out.append(room.direct(member, m.Verified(int(factor.verified_until * 1000))))
            case Failed(failures=failures, left=left):
                detail: Detail = {"failures": failures}
                out.append(self._audit(member, subject, now, "stepup.verify", "failed", detail))
                if member is not None:
                    text = f"not verified; {left} attempt{'s' if left > 1 else ''} left"
                    out.append(self._refuse(member, ErrorCode.NOT_VERIFIED, text))
            case Locked(until=until, fresh=fresh):
                factor.locked_until = until
                if fresh:
                    failed: Detail = {"failures": MAX_FAILURES}
                    out.append(self._audit(member, subject, now, "stepup.verify", "failed", failed))
                    locked: Detail = {"until": int(until)}
                    out.append(
                        self._audit(member, subject, now, "stepup.lockout", "locked", locked)
                    )
                if member is not None:
                    out.append(self._locked(member, factor, now))
            case Unavailable():
                out.append(self._audit(member, subject, now, "stepup.verify", "unavailable", {}))
                if member is not None:
                    text = "not verified: the code could not be checked; try again in a moment"
                    out.append(self._refuse(member, ErrorCode.NOT_VERIFIED, text))
        return out

    def require(self, member: Member, now: float, action: Action, ref: str) -> list[Output] | None:
        """``None`` if ``member`` may do this sensitive ``action`` now; else what to send."""
        room = self._room
        if (denied := room.gate(member, now, action, ref)) is not None:
            return denied
        factor = self._subjects.get(member.grant.subject)
        if factor is not None and now < factor.locked_until:
            return [self._locked(member, factor, now, ref)]
        if factor is None or now >= factor.verified_until:
            detail = "enter the code from your authenticator app first (verify)"
            return [room.direct(member, m.Error(int(ErrorCode.STEP_UP_REQUIRED), detail, ref))]
        return None

    def on_portfolio(self, member: Member, msg: m.ViewPortfolio, now: float) -> list[Output]:
        if (refused := self.require(member, now, Action.VIEW_PORTFOLIO, "portfolio")) is not None:
            return refused
        return [FetchPortfolio(member.id, member.grant.subject)]

    def portfolio_ready(
        self, member_id: int, holdings: list[m.Holding], now: float
    ) -> list[Output]:
        member = self._room.member(member_id)
        if member is None or member.phase is not Phase.JOINED:
            return []
        detail: Detail = {"items": len(holdings)}
        return [
            self._room.direct(member, m.Holdings(holdings, member.grant.risk)),
            self._audit(member, member.grant.subject, now, "portfolio.view", "ok", detail),
        ]

    def dump(self) -> dict[str, Any]:
        return {
            "stepup": {
                subject: [_finite(f.locked_until), _finite(f.verified_until)]
                for subject, f in self._subjects.items()
            }
        }

    def load(self, state: Mapping[str, Any], now: float) -> None:
        for subject, saved in state["stepup"].items():
            # Older saves led with the failure count, which the shared store now keeps.
            locked, verified = saved[-2:]
            self._subjects[str(subject)] = _Factor(_inf(locked), _inf(verified))

    def _refuse(self, member: Member, code: ErrorCode, text: str) -> Output:
        return self._room.direct(member, m.Error(int(code), text, "verify"))

    def _locked(self, member: Member, factor: _Factor, now: float, ref: str = "verify") -> Output:
        minutes = max(1, round((factor.locked_until - now) / 60))
        detail = (
            f"too many failed verifications: sensitive actions are locked for {minutes} more "
            "minute(s); your advisor can help in the meantime"
        )
        return self._room.direct(member, m.Error(int(ErrorCode.LOCKED_OUT), detail, ref))

    def _audit(
        self,
        member: Member | None,
        subject: str,
        now: float,
        action: str,
        outcome: str,
        detail: Detail,
    ) -> Output:
        event = self._room.audit(member, now, action, outcome, detail)
        if member is None:
            # The member left before the answer: the event is still theirs.
            return Audit(replace(event.event, actor=subject, role="customer"))
        return event


def _finite(t: float) -> float | None:
    return None if t == float("-inf") else t


def _inf(t: float | None) -> float:
    return float("-inf") if t is None else float(t)
