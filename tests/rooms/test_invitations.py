"""Guest invitations in the pure room: who may invite, revoking, a guest's arrival and notice,
removing a guest, and that a guest never sees the customer's holdings or step-up prompts."""

from __future__ import annotations

import hashlib

import pytest

from protocol import messages as m
from protocol.codes import CloseCode, ErrorCode
from rooms.invitations import (
    DEFAULT_TTL_S,
    GUEST_NOTICE,
    MAX_OPEN,
    Admitted,
    InviteRecord,
    Refusal,
    redeem,
)
from rooms.members import Grant
from rooms.outputs import IssueInvite, RevokeInvite
from rooms.roles import Role
from rooms.stepup_policy import Passed
from tests.harness import Harness


def _invite(h: Harness, member: int, invite_id: str, msg: m.Invite | None = None) -> IssueInvite:
    """Ask for a link and carry out the shell's part, as server/room_host.py does."""
    h.send(member, msg or m.Invite())
    issue = h.invites[-1]
    assert isinstance(issue, IssueInvite)
    h.deliver(
        h.room.invite_issued(issue, invite_id, f"https://x/#invite={invite_id}", "<svg/>", h.now)
    )
    return issue


def _guest(h: Harness, invite_id: str, name: str, language: str | None = None) -> int:
    grant = Grant(
        f"guest:{invite_id}:{name}", "r1", Role.GUEST, language=language, invite=invite_id
    )
    member = h.room.connect(grant, h.now)
    h.send(member, m.Hello(1))
    h.send(member, m.Join(name))
    return member


def test_the_customer_invites_and_gets_the_link_with_its_qr_code() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    issue = _invite(h, ann, "inv1", m.Invite(uses=3, ttl=600))
    assert (issue.member, issue.room, issue.by, issue.uses) == (ann, "r1", "Ann", 3)
    assert issue.expires == h.now + 600
    (sent,) = h.inbox[ann].of(m.Invitation)
    assert sent == m.Invitation(
        "inv1", "open", 3, int((h.now + 600) * 1000), "https://x/#invite=inv1", "<svg/>"
    )
    (created,) = h.actions("invite.create")
    assert created.actor == "Ann"
    assert created.detail == {"invite": "inv1", "uses": 3, "expires": int((h.now + 600) * 1000)}


def test_an_invitation_by_default_admits_once_for_a_day() -> None:
    h = Harness()
    ada = h.join(Role.ADVISOR, "Ada")
    issue = _invite(h, ada, "inv1")
    assert (issue.uses, issue.expires) == (1, h.now + DEFAULT_TTL_S)


@pytest.mark.parametrize("role", [Role.GUEST, Role.OBSERVER, Role.BOT])
def test_only_the_customer_and_advisors_invite_or_revoke(role: Role) -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _invite(h, ann, "inv1")
    other = h.join(role, "Other")
    h.send(other, m.Invite())
    h.send(other, m.Revoke("inv1"))
    assert [(e.code, e.ref) for e in h.inbox[other].errors] == [
        (ErrorCode.FORBIDDEN, "invite"),
        (ErrorCode.FORBIDDEN, "revoke"),
    ]
    assert len(h.invites) == 1  # only the customer's
    assert [e.detail["action"] for e in h.actions("permission.denied")] == ["invite", "invite"]


def test_revoking_tells_the_store_and_a_second_revoke_is_no_such_invitation() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _invite(h, ann, "inv1")
    h.send(ann, m.Revoke("inv1"))
    assert h.invites[-1] == RevokeInvite(ann, "r1", "inv1", "revoked")
    assert h.inbox[ann].of(m.Invitation)[-1].st == "revoked"
    assert h.actions("invite.revoke")[0].detail == {"invite": "inv1", "why": "revoked"}
    h.send(ann, m.Revoke("inv1"))
    h.send(ann, m.Revoke("never"))
    codes = [e.code for e in h.inbox[ann].errors]
    assert codes == [ErrorCode.NO_SUCH_INVITATION, ErrorCode.NO_SUCH_INVITATION]


def test_a_room_has_at_most_so_many_open_invitations() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    for n in range(MAX_OPEN):
        _invite(h, ann, f"inv{n}")
    h.send(ann, m.Invite())
    assert h.inbox[ann].errors[-1].code == ErrorCode.TOO_MANY_INVITATIONS
    h.send(ann, m.Revoke("inv0"))
    _invite(h, ann, "again")
    assert h.inbox[ann].of(m.Invitation)[-1].id == "again"


def test_a_guests_arrival_and_consent_notice_are_audited() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _invite(h, ann, "inv1")
    bo = _guest(h, "inv1", "Bo", language="zh")
    (notice,) = h.inbox[bo].of(m.Notice)
    assert notice == m.Notice("guest", GUEST_NOTICE["zh"])
    (arrived,) = h.actions("guest.arrive")
    assert (arrived.role, arrived.detail) == ("guest", {"member": bo, "invite": "inv1"})
    (shown,) = h.actions("guest.notice")
    assert shown.detail["lang"] == "zh"
    assert shown.detail["sha256"] == hashlib.sha256(notice.text.encode()).hexdigest()
    # Everyone sees a guest arrive, as anyone.
    assert h.inbox[ann].of(m.Joined)[-1].role == "guest"


def test_the_customer_removes_a_guest_and_the_guests_link_stops_working() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _invite(h, ann, "inv1", m.Invite(uses=2))
    bo = _guest(h, "inv1", "Bo")
    h.send(ann, m.Remove(bo))
    assert h.inbox[bo].closed == CloseCode.REMOVED
    assert bo not in h.room.members
    assert h.inbox[ann].of(m.Left)[-1].reason == "removed"
    assert h.invites[-1] == RevokeInvite(ann, "r1", "inv1", "guest removed")
    assert h.actions("invite.revoke")[0].detail["why"] == "guest removed"
    assert h.actions("member.remove")[0].actor == "Ann"


@pytest.mark.parametrize("role", [Role.BOT, Role.ADVISOR, Role.OBSERVER])
def test_a_customer_removes_guests_only(role: Role) -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    other = h.join(role, "Other")
    h.send(ann, m.Remove(other))
    assert h.inbox[ann].errors[-1].code == ErrorCode.FORBIDDEN
    assert other in h.room.members


def test_a_guest_never_sees_holdings_or_step_up_prompts() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _invite(h, ann, "inv1")
    bo = _guest(h, "inv1", "Bo")
    h.send(ann, m.ViewPortfolio())  # the step-up prompt
    h.send(ann, m.Verify("123456"))
    h.deliver(h.room.factor_checked(h.checks[-1], Passed(), h.now))
    h.send(ann, m.ViewPortfolio())
    holding = m.Holding("p1", "Bond fund", "funds", 2, 100_000.0, "HKD")
    h.deliver(h.room.portfolio_ready(h.fetches[-1], [holding], h.now))
    assert h.inbox[ann].of(m.Holdings)  # the customer has them...
    assert h.inbox[ann].of(m.Verified)
    # ...the guest has the room and nothing of them, and may not ask for them itself.
    seen = h.inbox[bo].frames
    assert not [f for f in seen if isinstance(f, m.Holdings | m.Verified | m.Error)]
    h.send(bo, m.ViewPortfolio())
    h.send(bo, m.Verify("123456"))
    assert [e.code for e in h.inbox[bo].errors] == [ErrorCode.FORBIDDEN, ErrorCode.FORBIDDEN]
    assert not h.inbox[bo].of(m.Holdings)
    h.tick()
    h.sync(bo)
    assert h.inbox[bo].replica.by_member(ann) is not None  # the room itself it sees


def test_the_invitation_list_survives_a_reload_without_the_link() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _invite(h, ann, "inv1")
    h.send(ann, m.Leave())
    again = h.join(Role.CUSTOMER, "Ann")
    (listed,) = h.inbox[again].of(m.Invitation)
    assert (listed.id, listed.st, listed.url, listed.qr) == ("inv1", "open", None, None)


def test_invitations_are_saved_with_the_room() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    before = h.room.durable_version
    _invite(h, ann, "inv1")
    issued = h.room.durable_version
    assert issued != before  # the shell journals the room after an invitation...
    h.send(ann, m.Revoke("inv1"))
    assert h.room.durable_version != issued  # ...and after a revocation
    _invite(h, ann, "inv2")
    fresh = Harness()
    fresh.room.invitations.load(h.room.invitations.dump(), fresh.now)
    assert fresh.room.invitations.dump() == h.room.invitations.dump()
    fresh.room.invitations.load({}, fresh.now)  # saved before invitations: none


# --- the rule a store applies ------------------------------------------------------------------


def test_a_link_admits_its_uses_then_is_used_up() -> None:
    record: InviteRecord | None = InviteRecord("r1", "inv1", uses=2, expires=100.0)
    record, verdict = redeem(record, 10.0)
    assert verdict == Admitted(1)
    record, verdict = redeem(record, 11.0)
    assert verdict == Admitted(2)
    record, verdict = redeem(record, 12.0)
    assert verdict is Refusal.USED_UP
    assert record is not None
    assert record.used == 2


def test_expired_revoked_and_unknown_links_admit_nobody() -> None:
    fresh = InviteRecord("r1", "inv1", uses=5, expires=100.0)
    assert redeem(fresh, 100.0)[1] is Refusal.EXPIRED
    assert redeem(InviteRecord("r1", "i", 5, 100.0, revoked=True), 150.0)[1] is Refusal.REVOKED
    assert redeem(None, 1.0) == (None, Refusal.UNKNOWN)


def test_a_guest_coming_back_under_its_own_name_is_the_same_use() -> None:
    record: InviteRecord | None = InviteRecord("r1", "inv1", uses=1, expires=100.0)
    record, verdict = redeem(record, 10.0, "tab-of-bo")
    assert verdict == Admitted(1)
    record, verdict = redeem(record, 20.0, "tab-of-bo")  # a dropped connection, a reload
    assert verdict == Admitted(1)
    assert redeem(record, 20.0, "tab-of-cy")[1] is Refusal.USED_UP
    assert redeem(record, 20.0)[1] is Refusal.USED_UP
    assert record is not None
    revoked = InviteRecord("r1", "inv1", 1, 100.0, 1, revoked=True, holders=("tab-of-bo",))
    assert redeem(revoked, 20.0, "tab-of-bo")[1] is Refusal.REVOKED
    assert redeem(record, 100.0, "tab-of-bo")[1] is Refusal.EXPIRED
