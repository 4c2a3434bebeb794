"""Prometheus metrics, one registry per server instance (tests run many servers in a process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from server.gc_pauses import GcPauseCollector


class Tally:
    """Per-frame counts as plain integers, added to the Prometheus counters in batches
    (:meth:`Metrics.flush`): a counter's ``inc`` takes a lock, and a node of 330 VR members
    counts some 20,000 frames a second, which made the counting a visible share of its CPU."""

    __slots__ = ("bytes_out", "datagrams_in", "frames_in", "reliable_out", "state_out")

    def __init__(self) -> None:
        self.frames_in = 0
        self.datagrams_in = 0
        self.reliable_out = 0
        self.state_out = 0
        self.bytes_out = 0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # The process's CPU, memory and collector, beside the rooms' own figures.
        ProcessCollector(registry=r)
        GCCollector(registry=r)
        r.register(GcPauseCollector())
        self.connections = Gauge("wealthroom_connections", "open WebSocket connections", registry=r)
        self.rooms = Gauge("wealthroom_rooms", "rooms hosted by this process", registry=r)
        self.frames_in = Counter("wealthroom_frames_in", "frames received", registry=r)
        self.datagrams_in = Counter(
            "wealthroom_datagrams_in",
            "frames received on members' WebRTC pose data channels",
            registry=r,
        )
        self.frames_out = Counter(
            "wealthroom_frames_out", "frames delivered to sockets", ["kind"], registry=r
        )
        self.bytes_out = Counter("wealthroom_bytes_out", "payload bytes delivered", registry=r)
        self.state_superseded = Counter(
            "wealthroom_state_superseded",
            "state frames replaced by a newer one before a slow member took them",
            registry=r,
        )
        self.closes = Counter("wealthroom_closes", "connections closed by us", ["code"], registry=r)
        self.handshake_rejects = Counter(
            "wealthroom_handshake_rejects", "handshakes refused", ["reason"], registry=r
        )
        self.connection_bounds = Counter(
            "wealthroom_connection_bounds",
            "connections cut by a hard bound (request size, unsent bytes, fragments)",
            ["bound"],
            registry=r,
        )
        self.tick_seconds = Histogram(
            "wealthroom_tick_seconds",
            "time spent in one room tick",
            buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05),
            registry=r,
        )
        self.tick_overruns = Counter(
            "wealthroom_tick_overruns", "ticks started late by more than a period", registry=r
        )

        self.answer_seconds = Histogram(
            "wealthroom_answer_seconds",
            "time for a brain to draft an expert's answer",
            buckets=(0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
            registry=r,
        )
        self.store_failures = Counter(
            "wealthroom_store_failures", "failed writes of rooms' journals to Redis", registry=r
        )
        self.degraded = Gauge(
            "wealthroom_degraded", "1 while shared services (Redis) are unreachable", registry=r
        )
        self.consoles = Gauge("wealthroom_consoles", "advisor consoles connected", registry=r)
        # Whether rooms' ticks line up: one batch per wave holds every room's poses.
        self.pose_batch = Gauge(
            "wealthroom_pose_batch",
            "binary poses per judgement, on average since the start (rooms/pose_desk.py)",
            registry=r,
        )
        self.tally = Tally()
        self._reliable_out = self.frames_out.labels(kind="reliable")
        self._state_out = self.frames_out.labels(kind="state")

    def flush(self) -> None:
        """Add the tally to the counters (every room tick, and before every render)."""
        t = self.tally
        if t.frames_in:
            self.frames_in.inc(t.frames_in)
            t.frames_in = 0
        if t.datagrams_in:
            self.datagrams_in.inc(t.datagrams_in)
            t.datagrams_in = 0
        if t.reliable_out:
            self._reliable_out.inc(t.reliable_out)
            t.reliable_out = 0
        if t.state_out:
            self._state_out.inc(t.state_out)
            t.state_out = 0
        if t.bytes_out:
            self.bytes_out.inc(t.bytes_out)
            t.bytes_out = 0

    def render(self) -> bytes:
        self.flush()
        return generate_latest(self.registry)
