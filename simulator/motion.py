"""How a bot's body moves: head and hands as smooth functions of time. Pure.

A person in a headset is never still: the head sways a few centimetres and turns a few
degrees, the hands drift and gesture. Each of these is a sum of slow sine waves with random
phases, so consecutive poses at 72-90 Hz differ by millimetres and nothing ever jumps. Walking
eases in and out along a straight line at under half the speed the room allows
(``avatars/placement.py``: 3 m/s), so a bot never earns a ``MOVED_TOO_FAST``.

Time is an argument everywhere: the same motion drives a bot on a virtual clock in-process and
on the monotonic clock over sockets. ``hold`` freezes the body (a checkpoint wants a quiet room)
and ``release`` resumes it where it stopped, without a jump.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from avatars.placement import EYE_SEATED_MM, MAX_SPEED_MM_S
from scenes.layout import Layout

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]

# Average walking pace; the cosine ease peaks at pi/2 times this (1.4 m/s), under half the limit.
WALK_SPEED_M_S = 0.9
ALLOWED_SPEED_M_S = MAX_SPEED_MM_S / 1000
TURN_S = 0.4  # how long turning to face the way one walks takes
LOOK_DEG = 55.0  # how far a look around turns the head each way
SEATED_EYE_M = EYE_SEATED_MM / 1000


@dataclass(frozen=True, slots=True)
class Sample:
    """One pose, as the ``pose`` message carries it (metres, quaternions x, y, z, w)."""

    p: Vec3
    q: Quat
    lh: tuple[float, ...] | None = None
    rh: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class _Wave:
    amp: float
    freq: float
    phase: float

    def at(self, t: float) -> float:
        return self.amp * math.sin(2 * math.pi * self.freq * t + self.phase)


def _waves(rng: random.Random, amps: tuple[float, ...], lo: float, hi: float) -> tuple[_Wave, ...]:
    return tuple(_Wave(a, rng.uniform(lo, hi), rng.uniform(0, 2 * math.pi)) for a in amps)


def _sum(waves: tuple[_Wave, ...], t: float) -> float:
    return sum(w.at(t) for w in waves)


@dataclass(slots=True)
class _Walk:
    t0: float  # motion time
    start: tuple[float, float]
    end: tuple[float, float]
    duration: float
    yaw_from: float
    yaw_to: float


@dataclass(slots=True)
class _Look:
    t0: float
    duration: float


class Motion:
    """One body, anchored where the room put it (``anchor``: head position, ``yaw``: facing)."""

    def __init__(
        self,
        anchor: Vec3,
        yaw: float,
        *,
        vr: bool,
        seated: bool,
        rng: random.Random,
        now: float,
    ) -> None:
        self.vr = vr
        self.seated = seated
        self._x, self._y, self._z = anchor
        self._yaw = yaw
        self._walk: _Walk | None = None
        self._look: _Look | None = None
        self._shift = now  # motion time = clock time - shift, frozen while held
        self._held: float | None = None
        # Seated people sway less than standing ones.
        k = 0.5 if seated else 1.0
        self._sway_x = _waves(rng, (0.012 * k, 0.008 * k), 0.07, 0.35)
        self._sway_z = _waves(rng, (0.012 * k, 0.008 * k), 0.07, 0.35)
        self._sway_y = _waves(rng, (0.006,), 0.2, 0.3)  # breathing
        self._nod = _waves(rng, (math.radians(3), math.radians(1.5)), 0.08, 0.4)
        self._turn = _waves(rng, (math.radians(4), math.radians(2)), 0.05, 0.3)
        self._hands = tuple(_waves(rng, (0.05, 0.03), 0.15, 0.6) for _ in range(6))
        self._gesture = _Wave(0.1, rng.uniform(0.06, 0.12), rng.uniform(0, 2 * math.pi))

    # --- commands --------------------------------------------------------------------------

    def look_around(self, now: float, seconds: float) -> None:
        self._look = _Look(self._mt(now), seconds)

    def walk_to(
        self, now: float, target: tuple[float, float], speed: float = WALK_SPEED_M_S
    ) -> float:
        """Start walking to ``target`` (x, z); return when we get there (clock time)."""
        t = self._mt(now)
        x, _, z = self._head_base(t)
        dx, dz = target[0] - x, target[1] - z
        distance = math.hypot(dx, dz)
        if distance < 0.01:
            return now
        self._settle(t)
        duration = distance / max(0.1, min(speed, ALLOWED_SPEED_M_S / 2))
        yaw_to = math.atan2(-dx, -dz)  # yaw 0 looks along -Z, yaw 90 degrees along -X
        self._walk = _Walk(t, (x, z), target, duration, self._yaw, yaw_to)
        return now + duration

    def hold(self, now: float) -> None:
        if self._held is None:
            self._held = now

    def release(self, now: float) -> None:
        if self._held is not None:
            self._shift += now - self._held
            self._held = None

    def where(self, now: float) -> Vec3:
        """Where the body is (head height, without sway)."""
        return self._head_base(self._mt(now))

    @property
    def held(self) -> bool:
        return self._held is not None

    def busy(self, now: float) -> bool:
        """Walking or looking around: a desktop client sends poses only then."""
        t = self._mt(now)
        walk, look = self._walk, self._look
        return (walk is not None and t < walk.t0 + walk.duration + TURN_S) or (
            look is not None and t < look.t0 + look.duration
        )

    # --- the pose --------------------------------------------------------------------------

    def pose_at(self, now: float) -> Sample:
        t = self._mt(now)
        bx, by, bz = self._head_base(t)
        body_yaw = self._body_yaw(t)
        yaw = body_yaw + self._look_yaw(t)
        pitch = 0.0
        if self.vr:
            bx += _sum(self._sway_x, t)
            by += _sum(self._sway_y, t)
            bz += _sum(self._sway_z, t)
            yaw += _sum(self._turn, t)
            pitch = math.radians(-6) + _sum(self._nod, t)
        head = (bx, by, bz)
        q = _yaw_pitch(yaw, pitch)
        if not self.vr:
            return Sample(_round(head), q)
        lh = self._hand(t, head, body_yaw, -1)
        rh = self._hand(t, head, body_yaw, 1)
        return Sample(_round(head), q, lh, rh)

    # --- internals -------------------------------------------------------------------------

    def _mt(self, now: float) -> float:
        return (self._held if self._held is not None else now) - self._shift

    def _head_base(self, t: float) -> Vec3:
        walk = self._walk
        if walk is None or t <= walk.t0:
            return (self._x, self._y, self._z)
        u = min(1.0, (t - walk.t0) / walk.duration)
        ease = (1 - math.cos(math.pi * u)) / 2
        (sx, sz), (ex, ez) = walk.start, walk.end
        return (sx + (ex - sx) * ease, self._y, sz + (ez - sz) * ease)

    def _body_yaw(self, t: float) -> float:
        walk = self._walk
        if walk is None or t <= walk.t0:
            return self._yaw
        u = min(1.0, (t - walk.t0) / TURN_S)
        turn = _wrap(walk.yaw_to - walk.yaw_from)
        return walk.yaw_from + turn * (1 - math.cos(math.pi * u)) / 2

    def _look_yaw(self, t: float) -> float:
        look = self._look
        if look is None or not look.t0 < t < look.t0 + look.duration:
            return 0.0
        u = (t - look.t0) / look.duration
        # Left, back through the middle, right, and home: one full sine over the look.
        return math.radians(LOOK_DEG) * math.sin(2 * math.pi * u)

    def _settle(self, t: float) -> None:
        """Fold a finished walk into the anchor, so the next one starts from there."""
        walk = self._walk
        if walk is None:
            return
        self._x, self._y, self._z = self._head_base(t)
        self._yaw = self._body_yaw(t)
        self._walk = None

    def _hand(self, t: float, head: Vec3, yaw: float, side: int) -> tuple[float, ...]:
        waves = self._hands[0:3] if side < 0 else self._hands[3:6]
        lift = max(0.0, self._gesture.at(t)) if side > 0 else 0.0  # now and then a gesture
        lx = side * 0.22 + _sum(waves[0], t)
        ly = -0.5 + _sum(waves[1], t) + 2.5 * lift
        lz = -0.3 + _sum(waves[2], t) - lift
        c, s = math.cos(yaw), math.sin(yaw)
        x = head[0] + lx * c + lz * s
        z = head[2] - lx * s + lz * c
        roll = side * math.radians(20) + waves[0][0].at(t) * 2
        q = _mul(_yaw_pitch(yaw, 0.0), (0.0, 0.0, math.sin(roll / 2), math.cos(roll / 2)))
        return (*_round((x, head[1] + ly, z)), *q)


def _yaw_pitch(yaw: float, pitch: float) -> Quat:
    qy = (0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2))
    qp = (math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2))
    return _mul(qy, qp)


def _mul(a: Quat, b: Quat) -> Quat:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


def _round(v: Vec3) -> Vec3:
    return (round(v[0], 4), round(v[1], 4), round(v[2], 4))


def yaw_of(q: Quat) -> float:
    """The heading (about +Y) of a rotation: what the body faces."""
    qx, qy, qz, qw = q
    return math.atan2(2 * (qw * qy + qx * qz), 1 - 2 * (qx * qx + qy * qy))


def wander_target(
    layout: Layout, start: tuple[float, float], rng: random.Random, reach: float = 2.5
) -> tuple[float, float]:
    """A spot on walkable floor a few steps from ``start``: where someone waiting drifts to."""
    best = start
    for _ in range(12):
        angle = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(0.6, reach)
        x = start[0] + dist * math.sin(angle)
        z = start[1] + dist * math.cos(angle)
        if layout.on_floor(x, z) and _clear_line(layout, start, (x, z)):
            return (round(x, 3), round(z, 3))
    return best


def _clear_line(layout: Layout, a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Walkable all the way: a straight walk through furniture would be pushed around it."""
    steps = max(2, int(math.dist(a, b) / 0.1))
    return all(
        layout.on_floor(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
        for i in range(steps + 1)
    )
