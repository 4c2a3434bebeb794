"""The wall screens: an advisor presents a chart on one, for everyone in the room.

A screen's content is an entity in the scene (so it shows in the state like everything else)
and a ``presented`` message in the reliable sequence. A member who arrives later than the
presentation (the replay covers only what happened since their first arrival) is sent it when
they join.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from avatars.appearance import DEFAULT_LOOK
from protocol import messages as m
from protocol.codec import decode
from protocol.codes import ErrorCode
from protocol.messages import Direction
from protocol.pose import AvatarPose, Part
from protocol.quantise import pack_quat, pos_to_mm, yaw_quat
from rooms.audit import Detail, text_digest
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.members import Member
from rooms.outputs import Frame, Output
from rooms.roles import Action
from scenes.scene import NO_MEMBER, SCREEN


@dataclass(slots=True)
class _Showing:
    entity: int
    presented: bytes = b""  # the encoded ``presented`` message, for members who arrive later
    seq: int = 0


class Screens(Feature):
    def __init__(self, room: RoomContext) -> None:
        self._room = room
        self._screens: dict[str, _Showing] = {}
        self._contents = 0

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Present: self.on_present, m.Unpresent: self.on_unpresent}

    def on_present(self, member: Member, msg: m.Present, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.PRESENT, "present")) is not None:
            return denied
        if len(msg.labels) != len(msg.values):
            detail = f"{len(msg.labels)} labels but {len(msg.values)} values"
            return room.reject(member, now, ErrorCode.BAD_VALUE, detail, "present")
        screen = self._screen(msg.screen)
        if screen is None:
            return room.reject(
                member, now, ErrorCode.NO_SUCH_SCREEN, f"no screen {msg.screen!r}", "present"
            )
        self._contents += 1
        return self._show(member, screen, f"chart-{self._contents}", msg, now)

    def on_unpresent(self, member: Member, msg: m.Unpresent, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.PRESENT, "unpresent")) is not None:
            return denied
        screen = self._screen(msg.screen)
        if screen is None:
            return room.reject(
                member, now, ErrorCode.NO_SUCH_SCREEN, f"no screen {msg.screen!r}", "unpresent"
            )
        return self._show(member, screen, "", m.Present("", [], []), now)

    def resume(self, member: Member, since: int | None, floor: int, now: float) -> list[Output]:
        """Screens showing something this connection has not seen. Without ``since`` it has
        seen nothing (a first arrival, or the same person on a second device); with it, the
        replay brings what came after ``floor``, and this what the replay cannot reach."""
        return [
            Frame((member.id,), s.presented, reliable=True)
            for s in self._screens.values()
            if s.presented and (since is None or since < s.seq <= floor)
        ]

    def dump(self) -> dict[str, Any]:
        return {
            "screens": [
                [screen, s.presented, s.seq] for screen, s in self._screens.items() if s.presented
            ],
            "contents": self._contents,
        }

    def load(self, state: Mapping[str, Any], now: float) -> None:
        for screen_id, presented, seq in state["screens"]:
            data = bytes(presented)
            shown = decode(data, Direction.SERVER)
            if not isinstance(shown, m.Presented):
                raise ValueError("a screen holds something other than a presentation")
            # The presentation itself is in the log; the screen gets its content back.
            if self._screen(str(screen_id)) is None:
                continue
            showing = self._put_screen(str(screen_id), shown.c, shown.title)
            showing.presented, showing.seq = data, int(seq)
        self._contents = int(state["contents"])

    def _screen(self, wanted: str | None) -> str | None:
        ids = [s.id for s in self._room.scene.layout.screens]
        if wanted is None:
            return ids[0] if ids else None
        return wanted if wanted in ids else None

    def _show(
        self, member: Member, screen_id: str, content: str, chart: m.Present, now: float
    ) -> list[Output]:
        room = self._room
        showing = self._put_screen(screen_id, content, chart.title)
        out = room.broadcast_reliable(
            lambda seq: m.Presented(
                seq,
                screen_id,
                content,
                chart.title,
                chart.labels,
                chart.values,
                member.id,
                _ms(now),
            )
        )
        showing.seq, showing.presented = room.reliable_log[-1]
        detail: Detail = {
            "screen": screen_id,
            "content": content or "-",
            "items": len(chart.labels),
            "sha256": text_digest(chart.title + "|" + "|".join(chart.labels)),
        }
        action = "screen.present" if content else "screen.clear"
        out.append(room.audit(member, now, action, "ok", detail))
        return out

    def _put_screen(self, screen_id: str, content: str, title: str) -> _Showing:
        scene = self._room.scene
        showing = self._screens.get(screen_id)
        if showing is None:
            screen = next(s for s in scene.layout.screens if s.id == screen_id)
            rot = pack_quat(yaw_quat(math.radians(screen.yaw_deg)))
            entity = scene.spawn(
                SCREEN,
                NO_MEMBER,
                title,
                "screen",
                AvatarPose(Part(pos_to_mm(screen.center), rot)),
                look=DEFAULT_LOOK,
                content=content,
            )
            showing = self._screens[screen_id] = _Showing(entity.id)
        else:
            scene.rename(showing.entity, title)
            scene.stage(showing.entity, content=content)
        return showing


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
