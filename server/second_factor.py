"""The customer's second factor: TOTP codes (RFC 6238, via pyotp) from an authenticator app.

Enrolment (which secret belongs to which customer) sits behind :class:`Enrolments`; the
embedded default keeps it in a JSON file under ``var/``. :class:`TotpChecker` matches a code
against the secret and has the customer's record judge it (``rooms/stepup_policy.py``) in a
:class:`~server.factor_store.FactorStore` every room and node shares and a restart keeps: a
code is accepted once (one seen over the shoulder cannot be replayed within its window, nor
after a restart), and failures count per customer, whichever room they come from.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path
from typing import Protocol

import pyotp

from rooms.stepup_policy import FactorRecord, Judged, Match, judge
from server.factor_store import FactorStore
from server.private_dir import private_dir

ISSUER = "Wealthroom"
STEP_S = 30


class Enrolments(Protocol):
    async def secret(self, subject: str) -> str | None: ...


class FileEnrolments:
    """Secrets in a JSON file (mode 0600): ``{subject: base32 secret}``; memory if no path."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._secrets: dict[str, str] = {}
        if path is not None and path.exists():
            self._secrets = {str(k): str(v) for k, v in json.loads(path.read_text()).items()}

    async def secret(self, subject: str) -> str | None:
        return self._secrets.get(subject)

    def enrol(self, subject: str) -> str:
        """A new secret for ``subject`` (replacing any), saved; returns it."""
        secret = pyotp.random_base32()
        self._secrets[subject] = secret
        if self._path is not None:
            private_dir(self._path.parent)
            tmp = self._path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(self._secrets, fh, indent=1, sort_keys=True)
            tmp.replace(self._path)
        return secret


def provisioning_uri(secret: str, subject: str) -> str:
    """What an authenticator app scans (as a QR code) to enrol."""
    return pyotp.TOTP(secret).provisioning_uri(name=subject, issuer_name=ISSUER)


class TotpChecker:
    def __init__(self, enrolments: Enrolments, store: FactorStore, *, window: int = 1) -> None:
        self._enrolments = enrolments
        self._store = store
        self._window = window  # steps either side accepted, for clock drift

    async def check(self, subject: str, code: str, now: float) -> Judged:
        match = await self.match(subject, code, now)

        def change(record: FactorRecord) -> tuple[FactorRecord, Judged]:
            return judge(record, match, now)

        return await self._store.update(subject, now, change)

    async def match(self, subject: str, code: str, now: float) -> Match | None:
        """The step ``code`` belongs to, if it is ``subject``'s within the drift allowance;
        spent or not (the record knows)."""
        secret = await self._enrolments.secret(subject)
        # Not enrolled and wrong code look the same from outside, and take the same work.
        totp = pyotp.TOTP(secret or pyotp.random_base32())
        step = int(now // STEP_S)
        matched: int | None = None
        for s in range(step - self._window, step + self._window + 1):
            if hmac.compare_digest(totp.at(s * STEP_S), code):
                matched = s
        if secret is None or matched is None:
            return None
        # The last instant at which some clock within the drift still shows this step.
        return Match(matched, (matched + self._window + 1) * STEP_S)
