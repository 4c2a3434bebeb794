"""Time the process spends in the cyclic garbage collector, for ``/metrics``.

A collection stops the event loop: every member of every room waits for it. Prometheus's own
GC collector counts collections but not how long they took, which is what an operator needs to
see whether the collector is a share of a node's CPU (see ``server/heap.py``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.metrics_core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

GENERATIONS = 3


class _Pauses:
    """One callback for the process: ``gc.callbacks`` is process-wide, registries are not."""

    def __init__(self) -> None:
        self.seconds = [0.0] * GENERATIONS
        self._began = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        generation = int(info["generation"])
        self.seconds[generation] += time.perf_counter() - self._began


_pauses: _Pauses | None = None


def pauses() -> _Pauses:
    global _pauses
    if _pauses is None:
        _pauses = _Pauses()
    return _pauses


class GcPauseCollector(Collector):
    def __init__(self) -> None:
        self._pauses = pauses()

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "wealthroom_gc_pause_seconds",
            "time spent in the cyclic garbage collector (the event loop stops meanwhile)",
            labels=["generation"],
        )
        for generation in range(GENERATIONS):
            family.add_metric([str(generation)], self._pauses.seconds[generation])
        yield family
