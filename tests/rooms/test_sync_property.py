"""Every member's replica equals the server's scene once traffic settles, whatever happened:
random moves, joins, leaves, seats and restyles; state frames and acks dropped, delayed and
reordered; interest management on in the big layouts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.messages import Direction
from rooms.dispatch import frames_of
from rooms.interest import POLICIES, InterestPolicy
from rooms.limits import RoomLimits
from rooms.members import Grant, Phase
from rooms.roles import Role
from rooms.room import Room
from scenes import Replica, load_layout

T = TypeVar("T")
IDENT = (0.0, 0.0, 0.0, 1.0)
LOOKS = [m.Look(hair="bob"), m.Look(top="#7a1f3d"), m.Look(body="broad", height=185)]


@dataclass
class Link:
    """One member's lossy connection: frames and acks in flight, and its replica."""

    replica: Replica = field(default_factory=Replica)
    frames: list[bytes] = field(default_factory=list)
    acks: list[int] = field(default_factory=list)


class World:
    def __init__(self, layout: str, interest: InterestPolicy | None, rng: random.Random) -> None:
        self.room = Room(
            "p",
            load_layout(layout),
            limits=RoomLimits(rate=1e9, burst=1e9, strikes=1e9),
            interest=interest,
        )
        self.rng = rng
        self.now = 100.0
        self.links: dict[int, Link] = {}
        self.serial = 0

    def send(self, member: int, message: m.Message) -> None:
        for out in frames_of(self.room.receive(member, encode(message), self.now)):
            if not out.reliable:
                raise AssertionError("state frames come only from tick")

    def join(self) -> None:
        self.serial += 1
        role = self.rng.choice([Role.CUSTOMER, Role.GUEST, Role.BOT, Role.ADVISOR])
        member = self.room.connect(Grant(f"s{self.serial}", "p", role), self.now)
        self.send(member, m.Hello(1))
        self.send(member, m.Join(f"m{self.serial}"))
        self.links[member] = Link()

    def act(self) -> None:
        rng, room = self.rng, self.room
        roll = rng.random()
        joined = [mb.id for mb in room.joined]
        if roll < 0.15 or not joined:
            self.join()
            return
        member = rng.choice(joined)
        if roll < 0.22:
            room.disconnect(member, self.now)
            del self.links[member]
        elif roll < 0.27:
            self.send(member, m.Stand())
        elif roll < 0.3:
            self.send(member, m.Sit(rng.choice(room.scene.layout.seats).id))
        elif roll < 0.33:
            self.send(member, m.Restyle(rng.choice(LOOKS)))
        else:
            entity = room.members[member].entity
            if entity is None:
                return
            x, y, z = room.scene.entities[entity].pos
            step = (rng.uniform(-0.3, 0.3), rng.uniform(-0.1, 0.1), rng.uniform(-0.3, 0.3))
            p = (x / 1000 + step[0], y / 1000 + step[1], z / 1000 + step[2])
            self.send(member, m.Pose(p, IDENT))

    def tick(self, *, lossy: bool) -> None:
        self.now += 1 / 30
        for out in frames_of(self.room.tick(self.now)):
            if not out.reliable:
                for member in out.to:
                    if member in self.links:
                        self.links[member].frames.append(out.data)
        for member, link in list(self.links.items()):
            self._network(member, link, lossy=lossy)

    def _network(self, member: int, link: Link, *, lossy: bool) -> None:
        arrived, link.frames = self._split(link.frames, lossy=lossy, lost=0.2, late=0.25)
        for data in arrived:
            frame = decode(data, Direction.SERVER)
            if link.replica.apply(frame):
                link.acks.append(frame.tick)
        acked, link.acks = self._split(link.acks, lossy=lossy, lost=0.2, late=0.3)
        for tick in acked:
            if self.room.members.get(member) and self.room.members[member].phase is Phase.JOINED:
                self.send(member, m.Ack(tick))

    def _split(
        self, items: list[T], *, lossy: bool, lost: float, late: float
    ) -> tuple[list[T], list[T]]:
        """What arrives now and what later, shuffled; the rest is lost. A clean link: all, now."""
        if not lossy:
            return items, []
        self.rng.shuffle(items)
        now: list[T] = []
        later: list[T] = []
        for item in items:
            fate = self.rng.random()
            if fate >= lost:
                (later if fate < lost + late else now).append(item)
        return now, later


@pytest.mark.parametrize("layout", ["private_room", "branch_lobby", "seminar_room"])
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_member_converges_to_the_server_scene(layout: str, seed: int) -> None:
    rng = random.Random(seed)
    world = World(layout, POLICIES.get(layout), rng)
    for _ in range(rng.randint(20, 80)):
        for _ in range(rng.randint(0, 6)):
            world.act()
        world.tick(lossy=True)
    if not world.room.joined:
        world.join()  # whoever is left must converge; make sure somebody is
    # Traffic settles: nothing moves, the network delivers everything in order.
    policy = POLICIES.get(layout)
    for _ in range(3 * (policy.far_every if policy else 1) + 3):
        world.tick(lossy=False)
    truth = world.room.scene.digest()
    for member, link in world.links.items():
        assert link.replica.digest() == truth, f"member {member} diverged"
        assert link.replica.entities == {e.i: e for e in world.room.scene.snapshot()}
