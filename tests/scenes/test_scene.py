"""Scene bookkeeping and the replica's convergence under loss, reordering and late acks."""

from __future__ import annotations

import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from panda3d.core import TransformState

from avatars.appearance import DEFAULT_LOOK
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.messages import Direction
from protocol.pose import AvatarPose, HandMode, Part
from protocol.quantise import pack_quat
from scenes import AVATAR, Replica, Scene, load_layout


def _pose(x: int, y: int = 0, z: int = 0, rot: int = 0) -> AvatarPose:
    return AvatarPose(Part((x, y, z), rot))


def _spawn(scene: Scene, member: int, name: str, pose: AvatarPose | None = None) -> int:
    return scene.spawn(AVATAR, member, name, "guest", pose or _pose(0), look=DEFAULT_LOOK).id


def _scene(history: int = 300) -> Scene:
    return Scene(load_layout("private_room"), history_ticks=history)


def test_scene_graph_holds_the_room_geometry_from_its_gltf_asset() -> None:
    one, two = _scene(), _scene()
    assert one.root.find_all_matches("**/+GeomNode").get_num_paths() > 10
    # Every room of a layout shares one loaded model instead of its own copy.
    shared = one.root.find("geometry:private_room").node()
    assert shared == two.root.find("geometry:private_room").node()
    assert shared.get_num_parents() >= 2


def test_scene_graph_holds_entities_under_a_y_up_frame() -> None:
    scene = _scene()
    ident = pack_quat((0, 0, 0, 1))
    pose = AvatarPose(
        Part((1000, 2000, 3000), ident),
        HandMode.CONTROLLERS,
        Part((700, 1500, 2800), ident),
        Part((1300, 1500, 2800), ident),
    )
    ent = scene.entities[_spawn(scene, 1, "Ann", pose)]
    world = ent.node.get_pos(scene.root)
    # glTF (x, y, z) is Panda3D (x, -z, y): the head height ends up on Panda3D's Z axis.
    assert (round(world.x, 3), round(world.y, 3), round(world.z, 3)) == (1.0, -3.0, 2.0)
    left = ent.hand_nodes[0].get_pos(scene.root)
    assert (round(left.x, 3), round(left.y, 3), round(left.z, 3)) == (0.7, -2.8, 1.5)
    scene.remove(ent.id)
    assert ent.node.is_empty()


def test_scene_graph_read_through_root_follows_every_move() -> None:
    scene = _scene()
    ident = pack_quat((0, 0, 0, 1))
    ent = scene.entities[_spawn(scene, 1, "Ann")]
    for x in (500, 1500, 2500):
        scene.move(
            ent.id,
            AvatarPose(
                Part((x, 1600, -1000), pack_quat((0.0, 0.7071, 0.0, 0.7071))),
                HandMode.TRACKED,
                Part((x - 300, 1200, -1000), ident),
                Part((x + 300, 1200, -1000), ident),
            ),
        )
    root = scene.root
    head = ent.node.get_pos(root)
    assert (round(head.x, 3), round(head.y, 3), round(head.z, 3)) == (2.5, 1.0, 1.6)
    # Hands are placed in room coordinates even though the head turned 90 degrees.
    right = ent.hand_nodes[1].get_pos(root)
    assert (round(right.x, 3), round(right.y, 3), round(right.z, 3)) == (2.8, 1.0, 1.2)
    # A moved entity removed before anyone read the graph is simply gone.
    other = _spawn(scene, 2, "Bo")
    scene.move(other, _pose(900))
    scene.remove(other)
    assert scene.root.find(f"**/avatar:{other}").is_empty()


def test_delta_carries_only_what_changed_after_base() -> None:
    scene = _scene()
    a = _spawn(scene, 1, "Ann")
    b = _spawn(scene, 2, "Bo", _pose(10))
    t1 = scene.advance()
    scene.move(b, _pose(20))
    t2 = scene.advance()
    change = scene.delta(t1)
    assert change is not None
    ents, gone = change
    assert ents == [m.Ent(b, x=_pose(20).pack())]
    assert gone == []
    assert scene.delta(t2) == ([], [])
    assert not scene.changed_since(t2)
    scene.seat(b, "seat-family-1")
    scene.restyle(b, m.Look(body="slim"))
    t3 = scene.advance()
    assert scene.delta(t2) == (
        [m.Ent(b, a=m.Look(body="slim"), s="seat-family-1")],
        [],
    )
    scene.remove(a)
    scene.advance()
    assert scene.delta(t3) == ([], [a])


def test_delta_limited_to_some_entities_still_reports_every_removal() -> None:
    scene = _scene()
    a, b, c = (_spawn(scene, i, f"m{i}") for i in (1, 2, 3))
    base = scene.advance()
    scene.move(a, _pose(5))
    scene.move(b, _pose(6))
    scene.remove(c)
    scene.advance()
    assert scene.delta(base, only={a}) == ([m.Ent(a, x=_pose(5).pack())], [c])


def test_entity_added_and_removed_after_base_is_still_reported_gone() -> None:
    # The client may have applied the tick that added it without its ack reaching us yet.
    scene = _scene()
    base = scene.advance()
    e = scene.entities[_spawn(scene, 1, "Ann")]
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
    e = _spawn(scene, 1, "Ann", _pose(0, rot=5))
    t = scene.advance()
    assert not scene.move(e, _pose(0, rot=5))
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
                _spawn(scene, members, f"m{members}")
            elif roll < 0.35:
                scene.remove(rng.choice(list(scene.entities)))
            elif roll < 0.4:
                scene.rename(rng.choice(list(scene.entities)), f"n{rng.random():.3f}")
            elif roll < 0.45:
                scene.seat(rng.choice(list(scene.entities)), rng.choice(["", "s1", "s2"]))
            else:
                pos = (rng.randint(-4000, 4000), rng.randint(0, 2000), rng.randint(-3000, 3000))
                scene.move(
                    rng.choice(list(scene.entities)), _pose(*pos, rot=rng.randint(0, 2**32 - 1))
                )
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


def test_moving_avatars_do_not_grow_panda3ds_state_cache() -> None:
    # Panda3D keeps every transform it has seen until garbage-collected (ShowBase does it
    # each frame; the server has no ShowBase). A 30-minute soak leaked 1.5 GB before this.
    scene = _scene()
    ids = [_spawn(scene, i, f"m{i}") for i in range(3)]
    scene.advance()
    before = TransformState.get_num_states()
    for k in range(2000):
        for eid in ids:
            scene.move(
                eid, _pose(k, 1600, eid, rot=pack_quat((0.0, math.sin(k), 0.0, math.cos(k))))
            )
        scene.advance()
    assert TransformState.get_num_states() - before < 500  # 6,000 transforms were made
