"""Which shared services are not answering. A node keeps serving the rooms it has while Redis
or the bus is away, so being degraded is a state to report (``/healthz``, a metric, one log
line each way), not an error to raise."""

from __future__ import annotations

import logging

from server.metrics import Metrics

log = logging.getLogger(__name__)


class Health:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self.degraded: set[str] = set()  # shared services that are not answering

    def degrade(self, what: str, exc: BaseException) -> None:
        if what not in self.degraded:
            log.warning("%s unreachable (%s): running degraded", what, exc)
        self.degraded.add(what)
        self._metrics.degraded.set(1)

    def recover(self, what: str) -> None:
        if what in self.degraded:
            log.info("%s reachable again", what)
            self.degraded.discard(what)
            self._metrics.degraded.set(1 if self.degraded else 0)
