"""Scene bookkeeping and the replica's convergence under loss, reordering and late acks."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.messages import Direction
from protocol.quantise import pack_quat
from scenes import AVATAR, Replica, Scene, load_layout


def _scene(history: int = 300) -> Scene:
    return Scene(load_layout("private_room"), history_ticks=history)


def test_scene_graph_holds_entities_under_a_y_up_frame() -> None:
    scene = _scene()
    ent = scene.spawn(AVATAR, 1, "Ann", "customer", (1000, 2000, 3000), pack_quat((0, 0, 0, 1)))
    world = ent.node.get_pos(scene.root)
    # glTF (x, y, z) is Panda3D (x, -z, y): the head height ends up on Panda3D's Z axis.
    assert (round(world.x, 3), round(world.y, 3), round(world.z, 3)) == (1.0, -3.0, 2.0)
    scene.remove(ent.id)
    assert ent.node.is_empty()


def test_delta_carries_only_what_changed_after_base() -> None:
    scene = _scene()
    a = scene.spawn(AVATAR, 1, "Ann", "customer", (0, 0, 0), 0)
    b = scene.spawn(AVATAR, 2, "Bo", "guest", (10, 0, 0), 0)
    t1 = scene.advance()
    scene.move(b.id, (20, 0, 0), 0)
    t2 = scene.advance()
    change = scene.delta(t1)
    assert change is not None
    ents, gone = change
    assert ents == [m.Ent(b.id, p=(20, 0, 0), q=0)]
    assert gone == []
    assert scene.delta(t2) == ([], [])
    assert not scene.changed_since(t2)
    scene.remove(a.id)
    scene.advance()
    assert scene.delta(t2) == ([], [a.id])


def test_entity_added_and_removed_after_base_is_still_reported_gone() -> None:
    # The client may have applied the tick that added it without its ack reaching us yet.
    scene = _scene()
    base = scene.advance()
    e = scene.spawn(AVATAR, 1, "Ann", "customer", (0, 0, 0), 0)
    added = scene.advance()
    replica = Replica()
    replica.apply(m.Snapshot(base, []))
    replica.apply(m.Delta(added, base, *scene.delta(base) or ([], [])))
    assert e.id in replica.entities
    scene.remove(e.id)
    removed = scene.advance()
    assert scene.delta(base) == ([], [e.id])
    replica.apply(m.Delta(removed, base, *scene.delta(base) or ([], [])))
    assert replica.entities == {}


def test_base_older_than_history_needs_a_snapshot() -> None:
    scene = _scene(history=5)
    base = scene.advance()
    for _ in range(10):
        scene.advance()
    assert scene.delta(base) is None


def test_moving_to_the_same_place_is_not_a_change() -> None:
    scene = _scene()
    e = scene.spawn(AVATAR, 1, "Ann", "customer", (0, 0, 0), 5)
    t = scene.advance()
    assert not scene.move(e.id, (0, 0, 0), 5)
    scene.advance()
    assert not scene.changed_since(t)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_replica_converges_despite_drops_reordering_and_late_acks(seed: int) -> None:
    rng = random.Random(seed)
    scene = _scene(history=20)
    replica = Replica()
    acked: int | None = None
    in_flight: list[bytes] = []
    acks: list[int] = []
    members = 0
    for _ in range(rng.randint(20, 120)):
        # The world changes at random.
        for _ in range(rng.randint(0, 3)):
            roll = rng.random()
            if roll < 0.25 or not scene.entities:
                members += 1
                scene.spawn(AVATAR, members, f"m{members}", "guest", (0, 0, 0), 0)
            elif roll < 0.35:
                scene.remove(rng.choice(list(scene.entities)))
            elif roll < 0.4:
                scene.rename(rng.choice(list(scene.entities)), f"n{rng.random():.3f}")
            else:
                pos = (rng.randint(-4000, 4000), rng.randint(0, 2000), rng.randint(-3000, 3000))
                scene.move(rng.choice(list(scene.entities)), pos, rng.randint(0, 2**32 - 1))
        tick = scene.advance()
        # The server sends against the newest ack it has, as the room does.
        change = scene.delta(acked) if acked is not None else None
        if change is None:
            frame: m.Message = m.Snapshot(tick, scene.snapshot())
        else:
            frame = m.Delta(tick, acked or 0, *change)
        in_flight.append(encode(frame))
        # The network drops, delays and reorders state frames and acks.
        rng.shuffle(in_flight)
        keep = []
        for data in in_flight:
            fate = rng.random()
            if fate < 0.3:
                continue  # lost
            if fate < 0.6:
                keep.append(data)  # late
                continue
            msg = decode(data, Direction.SERVER)
            if replica.apply(msg):
                acks.append(msg.tick)
        in_flight = keep
        if acks and rng.random() < 0.6:
            arrived = acks.pop(rng.randrange(len(acks)))
            acked = arrived if acked is None else max(acked, arrived)
    # Traffic settles: a clean network until the replica catches up.
    for _ in range(3):
        tick = scene.advance()
        change = scene.delta(acked) if acked is not None else None
        frame = (
            m.Snapshot(tick, scene.snapshot())
            if change is None
            else m.Delta(tick, acked or 0, *change)
        )
        assert replica.apply(decode(encode(frame), Direction.SERVER))
        acked = frame.tick
    assert replica.digest() == scene.digest()
    assert replica.entities == {e.i: e for e in scene.snapshot()}
