"""Guest invitations: the room's side, and the rule a link's use is judged by.

A customer or advisor asks for a link (``invite``); the room decides whether they may and how
long and how often it admits, and hands the minting to the shell (:class:`IssueInvite`): the
link is a signed token, and its use count and revocation live in the node's shared store
(``server/invites.py``), because the handshake that uses a link happens before any room is
reached. The room keeps the list of its invitations for revoking them, greets each guest who
came by one with the guest's consent notice, and audits both.

:func:`redeem` is the rule the store applies to a record in one atomic step, here so that the
memory and Redis stores judge alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.limits import MAX_INVITE_S
from rooms.audit import Detail, text_digest
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.members import Member
from rooms.outputs import IssueInvite, Output, RevokeInvite
from rooms.roles import Action, Role

DEFAULT_USES = 1
DEFAULT_TTL_S = 24 * 3600
MAX_OPEN = 10  # open invitations per room: a room is a family's, not a broadcast

# What a guest agrees to by staying; audited by its hash, so the text shown is the text kept.
GUEST_NOTICE = {
    "en": "You are a guest in a private banking session. The bank records who attends and"
    " when, and the session may be recorded with notice. What you see and hear is"
    " confidential. By staying you agree to this.",
    "zh": "您是本次私人银行会谈的访客。银行会记录出席者及时间，会谈可能在通知后录音录像。"
    "您所见所闻均属保密。留在房间即表示您同意。",
    "yue": "你係今次私人銀行會面嘅訪客。銀行會記錄出席者同時間，會面可能喺通知後錄音錄影。"
    "你所見所聞均屬機密。留喺房間即表示你同意。",
}


# --- the rule a store applies ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """What the node's store keeps of one link."""

    room: str
    id: str
    uses: int  # how many admissions the link allows
    expires: float  # Unix seconds
    used: int = 0
    revoked: bool = False
    # Who used it, by the random name each guest's browser keeps for itself: the same guest
    # coming back after a dropped connection is not a new use.
    holders: tuple[str, ...] = ()


class Refusal(StrEnum):
    UNKNOWN = "unknown"  # never issued here, or forgotten after it expired
    EXPIRED = "expired"
    USED_UP = "used up"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Admitted:
    use: int  # 1 for the first guest the link admitted


def redeem(
    record: InviteRecord | None, now: float, holder: str | None = None
) -> tuple[InviteRecord | None, Admitted | Refusal]:
    """One use of a link by ``holder`` (a guest's own name for itself, or ``None``): the
    record to keep and the verdict. A holder the link admitted before comes back as the same
    use. Revoked comes before expired and used up, so that a revoked link is always reported
    as such."""
    if record is None:
        return None, Refusal.UNKNOWN
    if record.revoked:
        return record, Refusal.REVOKED
    if now >= record.expires:
        return record, Refusal.EXPIRED
    if holder is not None and holder in record.holders:
        return record, Admitted(record.holders.index(holder) + 1)
    if record.used >= record.uses:
        return record, Refusal.USED_UP
    # A use without a holder keeps its place with an empty name, so that uses stay numbered.
    used = replace(record, used=record.used + 1, holders=(*record.holders, holder or ""))
    return used, Admitted(used.used)


# --- the room's feature ------------------------------------------------------------------------


@dataclass(slots=True)
class _Issued:
    id: str
    uses: int
    expires: float
    revoked: bool = False


class Invitations(Feature):
    def __init__(self, room: RoomContext, *, max_open: int = MAX_OPEN) -> None:
        self._room = room
        self._max_open = max_open
        self._issued: dict[str, _Issued] = {}
        self.version = 0  # moves with every change a failover must keep

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Invite: self.on_invite, m.Revoke: self.on_revoke}

    def on_invite(self, member: Member, msg: m.Invite, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.INVITE, "invite")) is not None:
            return denied
        live = [i for i in self._issued.values() if not i.revoked and i.expires > now]
        if len(live) >= self._max_open:
            detail = f"the room has {len(live)} open invitations; revoke one first"
            return room.reject(member, now, ErrorCode.TOO_MANY_INVITATIONS, detail, "invite")
        uses = msg.uses or DEFAULT_USES
        ttl = min(msg.ttl or DEFAULT_TTL_S, MAX_INVITE_S)
        return [IssueInvite(member.id, room.id, member.grant.subject, uses, now + ttl)]

    def issued(
        self, issue: IssueInvite, invite_id: str, url: str, qr: str, now: float
    ) -> list[Output]:
        """The shell minted the link and its store holds the record."""
        self._issued[invite_id] = _Issued(invite_id, issue.uses, issue.expires)
        self.version += 1
        by = self._room.member(issue.member)
        detail: Detail = {"invite": invite_id, "uses": issue.uses, "expires": _ms(issue.expires)}
        out: list[Output] = [self._room.audit(by, now, "invite.create", "ok", detail)]
        if by is not None:
            message = m.Invitation(invite_id, "open", issue.uses, _ms(issue.expires), url, qr)
            out.append(self._room.direct(by, message))
        return out

    def failed(self, issue: IssueInvite, now: float) -> list[Output]:
        """The shell could not mint the link (its store did not answer): our fault, no strike."""
        by = self._room.member(issue.member)
        out: list[Output] = [self._room.audit(by, now, "invite.create", "failed", {})]
        if by is not None:
            error = m.Error(
                int(ErrorCode.INTERNAL), "the link could not be made; try again", "invite"
            )
            out.append(self._room.direct(by, error))
        return out

    def on_revoke(self, member: Member, msg: m.Revoke, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.INVITE, "revoke")) is not None:
            return denied
        issued = self._issued.get(msg.id)
        if issued is None or issued.revoked:
            detail = f"no open invitation {msg.id!r} in this room"
            return room.reject(member, now, ErrorCode.NO_SUCH_INVITATION, detail, "revoke")
        return self._revoke(member, issued, now, "revoked")

    def guest_removed(self, by: Member, guest: Member, now: float) -> list[Output]:
        """A removed guest's link admits nobody again: otherwise it would let them back."""
        issued = self._issued.get(guest.grant.invite or "")
        if issued is None or issued.revoked:
            return []
        return self._revoke(by, issued, now, "guest removed")

    def _revoke(self, by: Member, issued: _Issued, now: float, why: str) -> list[Output]:
        # Listed as revoked at once, so that a second revoke is refused; audited and told
        # once the store has it.
        issued.revoked = True
        self.version += 1
        return [RevokeInvite(by.id, self._room.id, issued.id, why)]

    def revoked(self, revoke: RevokeInvite, now: float) -> list[Output]:
        """The store has the revocation: only now is the member told the link is dead."""
        by, issued = self._room.member(revoke.member), self._issued.get(revoke.invite)
        detail: Detail = {"invite": revoke.invite, "why": revoke.why}
        out: list[Output] = [self._room.audit(by, now, "invite.revoke", "ok", detail)]
        if by is not None and issued is not None:
            out.append(self._room.direct(by, _state(issued)))
        return out

    def revoke_failed(self, revoke: RevokeInvite, now: float) -> list[Output]:
        """The store did not take the revocation: the link still works, so the room must
        not list it as revoked; the member may try again."""
        issued = self._issued.get(revoke.invite)
        if issued is not None:
            issued.revoked = False
            self.version += 1
        by = self._room.member(revoke.member)
        detail: Detail = {"invite": revoke.invite, "why": revoke.why}
        out: list[Output] = [self._room.audit(by, now, "invite.revoke", "failed", detail)]
        if by is not None:
            text = "the link could not be withdrawn; try again"
            out.append(self._room.direct(by, m.Error(int(ErrorCode.INTERNAL), text, "revoke")))
        return out

    def on_join(self, member: Member, now: float) -> list[Output]:
        room = self._room
        if member.role is Role.GUEST and member.grant.invite is not None:
            language = member.grant.language or "en"
            text = GUEST_NOTICE.get(language, GUEST_NOTICE["en"])
            arrived: Detail = {"member": member.id, "invite": member.grant.invite}
            notice: Detail = {"member": member.id, "lang": language, "sha256": text_digest(text)}
            return [
                room.audit(member, now, "guest.arrive", "ok", arrived),
                room.direct(member, m.Notice("guest", text)),
                room.audit(member, now, "guest.notice", "shown", notice),
            ]
        if member.role in (Role.CUSTOMER, Role.ADVISOR):
            # The list to revoke from survives a reload; the link itself was for the guest.
            return [
                room.direct(member, _state(i)) for i in self._issued.values() if i.expires > now
            ]
        return []

    def dump(self) -> dict[str, Any]:
        return {
            "invitations": [[i.id, i.uses, i.expires, i.revoked] for i in self._issued.values()]
        }

    def load(self, state: Mapping[str, Any], now: float) -> None:
        # A room saved before invitations existed has none.
        for invite_id, uses, expires, revoked in state.get("invitations", []):
            self._issued[str(invite_id)] = _Issued(
                str(invite_id), int(uses), float(expires), bool(revoked)
            )


def _state(issued: _Issued) -> m.Invitation:
    st = "revoked" if issued.revoked else "open"
    return m.Invitation(issued.id, st, issued.uses, _ms(issued.expires))


def _ms(t: float) -> int:
    return max(0, int(t * 1000))
