"""What a room asks its shell to do: send frames, close connections, record audit events,
consult a brain, page an advisor."""

from __future__ import annotations

from dataclasses import dataclass

from avatars.advice import Brief
from avatars.specialties import Specialty
from protocol.codes import CloseCode
from protocol.messages import AdvisorBrief, IceCandidate, RtcAnswer
from rooms.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class Frame:
    """Send ``data`` to each member in ``to``.

    ``reliable`` frames must all arrive, in order; state frames (``reliable=False``) may be
    replaced by a newer one if the member has not taken the older yet.
    """

    to: tuple[int, ...]
    data: bytes
    reliable: bool


@dataclass(frozen=True, slots=True)
class Close:
    member: int
    code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class Audit:
    """Append ``event`` to the audit log."""

    event: AuditEvent


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask a brain to draft an answer to ``brief``; give it back with ``Room.answered``."""

    ticket: int
    brief: Brief


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Find a human advisor for this room; report progress with ``Room.page_update``."""

    id: str
    room: str
    customer: str  # subject
    customer_name: str
    skill: Specialty | None  # None: any advisor (the customer asked for a person)
    language: str
    product: str | None
    reason: str
    risk: int | None  # the customer's risk profile C1-C5
    brief: AdvisorBrief | None = None  # the conversation so far: for the advisor's eyes only


@dataclass(frozen=True, slots=True)
class PageCancel:
    """Nobody in the room needs the advisor any more."""

    id: str


@dataclass(frozen=True, slots=True)
class CheckFactor:
    """Check a second-factor code for ``subject`` and judge it by the customer's record
    (``rooms/stepup_policy.py``); give the verdict to ``Room.factor_checked``.

    The code is a secret: never log it.
    """

    member: int
    subject: str
    code: str


@dataclass(frozen=True, slots=True)
class FetchPortfolio:
    """Look up ``subject``'s holdings; give them to ``Room.portfolio_ready``."""

    member: int
    subject: str


@dataclass(frozen=True, slots=True)
class IssueInvite:
    """Mint a guest link for ``room`` (``uses`` admissions until ``expires``, Unix seconds),
    record it in the shared store, and give it to ``Room.invite_issued``."""

    member: int  # who asked, to be given the link
    room: str
    by: str  # their subject
    uses: int
    expires: float


@dataclass(frozen=True, slots=True)
class RevokeInvite:
    """The link ``invite`` of ``room`` admits nobody from now on (the shared store's record);
    once it is so, tell ``Room.invite_revoked``."""

    member: int  # who revoked it, to be told when the store has it
    room: str
    invite: str
    why: str  # for the audit trail: revoked, or the guest was removed


InviteOutput = IssueInvite | RevokeInvite


@dataclass(frozen=True, slots=True)
class MediaStart:
    """Open (or renegotiate) ``member``'s peer: it sends ``send``, receives per ``view``."""

    member: int
    send: frozenset[str]
    view: str
    dc: bool
    quality: str = "high"  # of the video it receives


@dataclass(frozen=True, slots=True)
class MediaStop:
    """Close ``member``'s peer; its tracks leave everyone else's view."""

    member: int


@dataclass(frozen=True, slots=True)
class MediaSignal:
    """An answer or ICE candidate from ``member`` for its peer."""

    member: int
    message: RtcAnswer | IceCandidate


@dataclass(frozen=True, slots=True)
class MediaEnable:
    """Mute or unmute ``member``'s ``kind`` (audio or video) for everyone."""

    member: int
    kind: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class Speak:
    """Voice ``text`` as expert ``entity`` (persona ``persona``); report the start with
    ``Room.speaking`` so its mouth follows the audio."""

    entity: int
    persona: str
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class Hush:
    """Expert ``entity`` stops speaking at once (the customer spoke over it)."""

    entity: int


@dataclass(frozen=True, slots=True)
class Listen:
    """Listen to ``member``'s microphone for speech in ``language``: report onsets, ends and
    transcripts (``Room.speech_started``, ``speech_ended``, ``heard``, ``please_type``).
    ``transcribe`` False: onsets and ends only (an advisor whose speech holds hands-free
    questions back)."""

    member: int
    language: str
    transcribe: bool = True


@dataclass(frozen=True, slots=True)
class Unlisten:
    """Stop listening to ``member``'s microphone; anything it said and is not out yet is
    dropped."""

    member: int


@dataclass(frozen=True, slots=True)
class RecordStart:
    """Start recording ``id``. Only members in ``members`` (and later ``RecordAdmit``) may be
    recorded: they have been sent the consent notice."""

    id: str
    by: str  # subject of the advisor who started it
    retention_days: int
    members: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RecordAdmit:
    """``member`` has been sent the notice: their media may go into recording ``id``."""

    id: str
    member: int


@dataclass(frozen=True, slots=True)
class RecordStop:
    id: str


MediaOutput = (
    MediaStart
    | MediaStop
    | MediaSignal
    | MediaEnable
    | Speak
    | Hush
    | Listen
    | Unlisten
    | RecordStart
    | RecordAdmit
    | RecordStop
)
Output = (
    Frame
    | Close
    | Audit
    | Consult
    | PageRequest
    | PageCancel
    | CheckFactor
    | FetchPortfolio
    | InviteOutput
    | MediaOutput
)
