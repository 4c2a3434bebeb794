"""Room state to renderer figures: where people stand or sit, which way they face, their look."""

from __future__ import annotations

import pytest

from avatars.figures import figures_from_state
from protocol import messages as m
from protocol.pose import AvatarPose, Part
from protocol.quantise import pack_quat, yaw_quat


def _ent(
    head: tuple[int, int, int], yaw: float, *, seat: str = "", look: m.Look | None = None
) -> m.Ent:
    pose = AvatarPose(Part(head, pack_quat(yaw_quat(yaw))))
    return m.Ent(1, "avatar", 1, "Ann", "guest", look, seat, pose.pack())


def test_standing_figure_has_its_feet_on_the_floor_and_faces_its_yaw() -> None:
    (fig,) = figures_from_state([_ent((500, 1600, -200), 1.0)])
    assert fig.pos == pytest.approx((0.5, 0.0, -0.2))
    assert fig.yaw_deg == pytest.approx(57.3, abs=0.3)
    assert fig.label == "Ann"


def test_seated_figure_sits_and_wears_its_chosen_colours() -> None:
    look = m.Look(top="#ff0000", skin="#00ff00", hair="bob", hair_color="#0000ff")
    (fig,) = figures_from_state([_ent((0, 1200, 1100), 0.0, seat="seat-customer", look=look)])
    assert fig.pos == pytest.approx((0.0, 0.0, 1.1))
    assert (fig.rgb, fig.skin, fig.hair) == ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def test_entities_without_a_pose_are_not_drawn() -> None:
    assert figures_from_state([m.Ent(7, "avatar", 2, "Bo")]) == []


def test_an_experts_ai_label_goes_with_its_figure_and_nobody_elses() -> None:
    pose = AvatarPose(Part((0, 1600, -2000), pack_quat(yaw_quat(0.0)))).pack()
    expert = m.Ent(3, "expert", 0, "王军", "expert", None, "", pose, l="AI生成")
    member = m.Ent(4, "avatar", 1, "Ann", "guest", None, "", pose, l="AI-generated")
    fig_expert, fig_member = figures_from_state([expert, member])
    assert (fig_expert.label, fig_expert.ai_label) == ("王军", "AI生成")
    assert fig_member.ai_label == ""
