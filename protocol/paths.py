"""HTTP paths a server serves and its tools call, beside the WebSocket protocol itself."""

from __future__ import annotations

# The QA simulator's read-only view of a room: GET <prefix><room> with a bot or observer token.
QA_PROBE_PREFIX = "/qa/rooms/"
