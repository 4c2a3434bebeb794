"""Which digital experts stand in a room, where, and in what state. Pure; the room drives it.

An expert *arrives* (state ``arriving`` for ``transition_s``, for the client's appear
animation), is ``present`` while its topic lasts, and *leaves* (``leaving``, then removed) when
dismissed, idle, or displaced by a newer topic when every spot is taken. Entities appear in
the scene at once, so a summoned expert is visible at every member one tick after the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from avatars.advice import AI_LABEL
from avatars.personas import Persona, Personas, Preferences
from avatars.placement import pose_at
from avatars.specialties import Specialty
from scenes.layout import SpawnPoint
from scenes.scene import EXPERT, NO_MEMBER, Scene

ARRIVING, PRESENT, LEAVING = "arriving", "present", "leaving"


@dataclass(slots=True)
class Expert:
    entity: int
    persona: Persona
    name: str  # as shown above the avatar
    spot: str
    state: str
    since: float  # when ``state`` began
    last_active: float  # last question or summons for it

    @property
    def specialty(self) -> Specialty:
        return self.persona.specialty


@dataclass(frozen=True, slots=True)
class Arrived:
    expert: Expert


@dataclass(frozen=True, slots=True)
class Departed:
    expert: Expert
    why: str  # dismissed, idle, room full


Change = Arrived | Departed


def display_name(persona: Persona) -> str:
    return persona.name.get(persona.language) or persona.name["en"]


class ExpertDesk:
    def __init__(
        self,
        scene: Scene,
        personas: Personas,
        spots: Sequence[SpawnPoint],
        *,
        max_experts: int,
        idle_s: float,
        transition_s: float,
    ) -> None:
        self._scene = scene
        self._personas = personas
        self._spots = tuple(spots)
        self.capacity = max(0, min(max_experts, len(self._spots)))
        self._idle_s = idle_s
        self._transition_s = transition_s
        self.experts: dict[int, Expert] = {}  # by entity id

    @property
    def active(self) -> list[Expert]:
        """Experts arriving or present: the ones that answer."""
        return [x for x in self.experts.values() if x.state != LEAVING]

    def recent(self) -> list[Specialty]:
        """Specialties in the room, most recently active first ("all of you" means them)."""
        ordered = sorted(self.active, key=lambda x: -x.last_active)
        return [x.specialty for x in ordered]

    def of(self, specialty: Specialty) -> Expert | None:
        return next((x for x in self.active if x.specialty == specialty), None)

    def bring(
        self,
        specialties: Sequence[Specialty],
        prefs: Preferences,
        language: str,
        now: float,
    ) -> tuple[list[Expert], list[Change]]:
        """Make sure an expert of each specialty stands in the room (at most ``capacity``,
        earliest-named first); return them in the order asked, and what changed."""
        wanted = list(dict.fromkeys(specialties))[: self.capacity]
        changes: list[Change] = []
        chosen: list[Expert] = []
        for specialty in wanted:
            expert = self.of(specialty)
            if expert is not None and prefs.persona and expert.persona.id != prefs.persona:
                # Asked for a particular persona: the one standing there steps aside for them.
                changes += self._leave(expert, "replaced", now, at_once=True)
                expert = None
            if expert is None:
                spot = self._free_spot(
                    keep={s for s in wanted if s != specialty}, now=now, changes=changes
                )
                if spot is None:
                    continue
                persona = self._personas.pick(specialty, prefs, language=language)
                expert = self._arrive(persona, spot, now)
                changes.append(Arrived(expert))
            expert.last_active = now
            chosen.append(expert)
        return chosen, changes

    def dismiss(self, entity: int | None, now: float) -> list[Change]:
        """Send one expert (or, with ``None``, every expert) away."""
        targets = self.active if entity is None else [self.experts[entity]]
        out: list[Change] = []
        for expert in targets:
            out += self._leave(expert, "dismissed", now)
        return out

    def advance(self, now: float) -> list[Change]:
        """Move experts along their states; call once per tick."""
        out: list[Change] = []
        for expert in list(self.experts.values()):
            elapsed = now - expert.since
            if expert.state == ARRIVING and elapsed >= self._transition_s:
                expert.state, expert.since = PRESENT, now
                self._scene.stage(expert.entity, presence=PRESENT)
            elif expert.state == LEAVING and elapsed >= self._transition_s:
                self._remove(expert)
            elif expert.state != LEAVING and now - expert.last_active >= self._idle_s:
                out += self._leave(expert, "idle", now)
        return out

    def restore(self, persona: Persona, spot_id: str, now: float) -> Expert | None:
        """Put back an expert a previous host of this room had (failover): present at once."""
        spot = next((s for s in self._spots if s.id == spot_id), None)
        if spot is None or spot_id in {x.spot for x in self.experts.values()}:
            return None
        if len(self.active) >= self.capacity:
            return None
        expert = self._arrive(persona, spot, now)
        expert.state = PRESENT
        self._scene.stage(expert.entity, presence=PRESENT)
        return expert

    def clear(self) -> None:
        for expert in list(self.experts.values()):
            self._remove(expert)

    # --- internals ---------------------------------------------------------------------------

    def _arrive(self, persona: Persona, spot: SpawnPoint, now: float) -> Expert:
        entity = self._scene.spawn(
            EXPERT,
            NO_MEMBER,
            display_name(persona),
            "expert",
            pose_at(spot, seated=False),
            look=persona.look,
            persona=persona.id,
            specialty=persona.specialty.value,
            label=AI_LABEL[persona.language],
            presence=ARRIVING,
        )
        expert = Expert(entity.id, persona, entity.name, spot.id, ARRIVING, now, now)
        self.experts[entity.id] = expert
        return expert

    def _leave(
        self, expert: Expert, why: str, now: float, *, at_once: bool = False
    ) -> list[Change]:
        if expert.state == LEAVING and not at_once:
            return []
        was_active = expert.state != LEAVING
        if at_once:
            self._remove(expert)
        else:
            expert.state, expert.since = LEAVING, now
            self._scene.stage(expert.entity, presence=LEAVING)
        return [Departed(expert, why)] if was_active else []

    def _remove(self, expert: Expert) -> None:
        del self.experts[expert.entity]
        self._scene.remove(expert.entity)

    def _free_spot(
        self, *, keep: set[Specialty], now: float, changes: list[Change]
    ) -> SpawnPoint | None:
        """A spot for a new expert: a free one, else one whose expert is leaving (it goes at
        once), else the least recently active expert's that is not wanted now."""
        if len(self.active) >= self.capacity:
            spare = [x for x in self.active if x.specialty not in keep]
            if not spare:
                return None
            oldest = min(spare, key=lambda x: x.last_active)
            changes += self._leave(oldest, "room full", now, at_once=True)
        taken = {x.spot for x in self.experts.values()}
        free = [s for s in self._spots if s.id not in taken]
        if not free:
            leaving = [x for x in self.experts.values() if x.state == LEAVING]
            if not leaving:
                return None
            self._remove(min(leaving, key=lambda x: x.since))
            taken = {x.spot for x in self.experts.values()}
            free = [s for s in self._spots if s.id not in taken]
        return free[0] if free else None
