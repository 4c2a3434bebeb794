"""What the gateway keeps about handshakes it has not admitted: bounded whatever they send.

An entry in the audit chain per refused token let one client write about 30 GB a day, and in
Redis mode create a stream for every room name it made up. So refusals are counted per source
address and reason, and one summary entry per window goes to the chain, under the node's own
name (which no room id can take), never under the room the URL named: nothing is kept per
name that no token vouched for. Handshakes are also rate-limited per source address before any
token is read. Every table here is bounded; the oldest sources go first.

Pure: the caller passes the time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from protocol.limits import TokenBucket
from rooms.audit import AuditEvent, Detail

MAX_SOURCES = 10_000  # sources remembered for the rate limit; the oldest is forgotten first
MAX_LISTED = 20  # sources named in one summary, busiest first; the rest are only counted


@dataclass(slots=True)
class _Window:
    start: float
    counts: dict[tuple[str, str], int] = field(default_factory=dict)


class HandshakeGuard:
    def __init__(
        self,
        node: str,
        *,
        rate: float,
        burst: float,
        window_s: float = 60.0,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.node = node
        self._rate = rate
        self._burst = burst
        self._window_s = window_s
        self._max_sources = max_sources
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._window: _Window | None = None

    @property
    def audit_room(self) -> str:
        """Where summaries are filed: ``node:<id>``, outside the room id alphabet."""
        return f"node:{self.node}"

    def admit(self, source: str, now: float) -> bool:
        """May ``source`` open another handshake now? (``rate`` 0: always.)"""
        if self._rate <= 0:
            return True
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst, now)
            self._buckets[source] = bucket
            if len(self._buckets) > self._max_sources:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
        return bucket.take(now)

    def refused(self, source: str, reason: str, now: float) -> list[AuditEvent]:
        """Count one refusal; returns the summary of a window that has ended, if any."""
        out = self.flush(now)
        if self._window is None:
            self._window = _Window(now)
        counts = self._window.counts
        key = (source, reason)
        if key in counts or len(counts) < self._max_sources:
            counts[key] = counts.get(key, 0) + 1
        else:
            # Past the bound the refusal is still counted, under no source.
            counts[("", reason)] = counts.get(("", reason), 0) + 1
        return out

    def flush(self, now: float, *, force: bool = False) -> list[AuditEvent]:
        """The summary of the current window if it has ended (or ``force``, at shutdown)."""
        window = self._window
        if window is None or (not force and now - window.start < self._window_s):
            return []
        self._window = None
        by_source: dict[str, dict[str, int]] = {}
        for (source, reason), n in window.counts.items():
            by_source.setdefault(source, {})[reason] = n
        busiest = sorted(by_source.items(), key=lambda kv: -sum(kv[1].values()))
        total = sum(window.counts.values())
        detail: Detail = {
            "from": int(window.start),
            "to": int(now),
            "total": total,
            "sources": len(by_source),
            # Detail values are flat: "1.2.3.4 TokenInvalid=2990 TokenExpired=10; ..."
            "top": "; ".join(
                " ".join([s or "(others)", *(f"{r}={n}" for r, n in sorted(reasons.items()))])
                for s, reasons in busiest[:MAX_LISTED]
            ),
        }
        return [AuditEvent(now, self.audit_room, "unknown", "", "auth.refused", "summary", detail)]
