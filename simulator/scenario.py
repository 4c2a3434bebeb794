"""Scenarios as data: who takes part, what they do, and what must be seen to happen.

A scenario is a JSON file (``simulator/scenarios/*.json``) read strictly: an unknown key, a
value of the wrong type, a bot that acts before it joined or a role that may not do what a
step asks are refused with the file, the step and the key named, before anything runs. The
model here is pure (no clock, no sockets); :mod:`simulator.runner` carries it out. Every key
and step is described in ``simulator/scenarios/README.md``; in short::

    {
      "scenario": "private_visit", "title": "...", "layout": "private_room",
      "room": "sim-visit", "seed": 7, "within_s": 5,
      "network": {"latency_ms": 8, "jitter_ms": 3},
      "bots": [{"name": "Ann", "role": "customer", "device": "vr", "risk": 3},
               {"name": "Guest {n}", "count": 40, "group": "audience", "role": "guest"}],
      "steps": [{"do": "join", "bots": ["Ann", "audience"], "stagger_s": 0.05},
                {"do": "ask", "bot": "Ann", "text": "...", "expect": {"experts": ["stocks"]}},
                {"do": "wait_for", "bots": ["audience"], "until": {"expert": "stocks"}},
                {"do": "checkpoint", "name": "expert in the room"}]
    }
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from protocol.limits import (
    MAX_CHART_ITEMS,
    MAX_CHAT_CHARS,
    MAX_ID_CHARS,
    MAX_NAME_CHARS,
    MAX_QUESTION_CHARS,
    MAX_SEAT_CHARS,
    MAX_TITLE_CHARS,
)
from protocol.messages import GENDERS, HANDOFF_STATES, LANGUAGES, SPECIALTIES

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
LAYOUTS_DIR = Path(__file__).resolve().parent.parent / "scenes" / "layouts"

ROLES = ("customer", "guest", "advisor", "observer", "bot")
DEVICES = ("desktop", "vr", "thin")
# A thin client receives the room as video drawn by the server and sends its poses on a WebRTC
# data channel: only over real sockets, and only members with an avatar (not observers).
IN_PROCESS_THIN = (
    "{names}: thin-client bots receive the room as WebRTC video drawn by the server, which an "
    "in-process run (no sockets, no server) cannot carry; run the scenario over sockets "
    "(without --in-process) or make them desktop bots"
)
# Each thin view costs the server about a quarter of a core with its software renderer (640x360
# at 15 fps), all of them drawn in one render thread: more than three would measure the
# renderer falling behind, not the room.
MAX_THIN_BOTS = 3
# Headsets refresh at 72-90 Hz; a pose per frame is what a WebXR client sends.
VR_HZ = (72.0, 90.0)
ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,48}$")  # 48: a run suffix still fits the 64 allowed

# What each role may do, as the room's permission table has it (rooms/roles.py); checked here
# so that a scenario asking the impossible fails before it runs, not halfway through.
_MOVERS = frozenset({"customer", "guest", "advisor", "bot"})
_ASKERS = frozenset({"customer", "guest", "advisor", "bot"})
_DISMISSERS = frozenset({"customer", "advisor", "bot"})
_PRESENTERS = frozenset({"advisor"})
_SPEAKERS = frozenset({"customer", "guest", "advisor", "bot"})


class ScenarioError(ValueError):
    """A scenario file that cannot be run, with where and why."""


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotSpec:
    name: str
    role: str
    device: str = "desktop"
    group: str | None = None
    risk: int | None = None  # customer's profile C1-C5
    lang: str | None = None
    skills: tuple[str, ...] = ()  # an advisor's console: what pages they can take
    langs: tuple[str, ...] = ()
    hz: float | None = None  # VR frame rate; None: the runner picks one in 72-90 Hz

    @property
    def vr(self) -> bool:
        return self.device == "vr"

    @property
    def thin(self) -> bool:
        """Media over WebRTC: the room as video drawn by the server, poses on a data channel."""
        return self.device == "thin"

    @property
    def speaks(self) -> bool:
        """May send a microphone (the room's permission table: everyone but observers)."""
        return self.role in _SPEAKERS


@dataclass(frozen=True, slots=True)
class Network:
    """In-process links: one-way latency and jitter. Real sockets have their own."""

    latency_ms: float = 5.0
    jitter_ms: float = 2.0


@dataclass(frozen=True, slots=True)
class Condition:
    """Something a bot can see: ``kind`` and the value it is about."""

    kind: str
    value: str

    def describe(self) -> str:
        return _CONDITION_TEXT[self.kind].format(self.value)


_CONDITION_TEXT = {
    "expert": "a {} expert in the room",
    "no_expert": "no {} expert in the room",
    "member": "{} in the room",
    "gone": "{} gone from the room",
    "handoff": "the advisor hand-off at '{}'",
    "answer": "an answer from the {} expert",
    "screen": "the chart '{}' on the wall screen",
    "chat": "the chat line '{}'",
    "page": "a page for {} in the console",
    "seated": "seated in {}",
}
CONDITIONS = frozenset(_CONDITION_TEXT)


@dataclass(frozen=True, slots=True)
class AskExpect:
    routed: tuple[str, ...] | None = None  # specialties the question is routed to, exactly
    experts: tuple[str, ...] | None = None  # specialties of the experts that must appear
    handoff: bool | None = None  # whether an answer hands over to a human


@dataclass(frozen=True, slots=True)
class Step:
    index: int  # 1-based position in the file
    label: str  # what the report calls it


@dataclass(frozen=True, slots=True)
class Join(Step):
    bots: tuple[str, ...]
    stagger_s: float = 0.0
    seat: str | None = None  # expected: arrives in this seat


@dataclass(frozen=True, slots=True)
class Leave(Step):
    bots: tuple[str, ...]
    stagger_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Churn(Step):
    """Arrivals and departures at random over ``seconds``; each bot stays ``stay_s``."""

    bots: tuple[str, ...]
    seconds: float
    stay_s: tuple[float, float]
    wander: bool = True


@dataclass(frozen=True, slots=True)
class LookAround(Step):
    bots: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class Walk(Step):
    bots: tuple[str, ...]
    to: str | tuple[float, float]  # a spawn point or seat id, or (x, z) in metres


@dataclass(frozen=True, slots=True)
class Sit(Step):
    bot: str
    seat: str


@dataclass(frozen=True, slots=True)
class Stand(Step):
    bots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Chat(Step):
    bot: str
    text: str
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class Ask(Step):
    bot: str
    text: str
    within_s: float
    lang: str | None = None
    gender: str | None = None
    expect: AskExpect = AskExpect()


@dataclass(frozen=True, slots=True)
class WaitFor(Step):
    bots: tuple[str, ...]
    until: Condition
    within_s: float


@dataclass(frozen=True, slots=True)
class Console(Step):
    bots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AcceptPage(Step):
    bot: str
    within_s: float
    skill: str | None = None  # expected: the page asks for this skill


@dataclass(frozen=True, slots=True)
class Present(Step):
    bot: str
    title: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    screen: str | None = None


@dataclass(frozen=True, slots=True)
class Dismiss(Step):
    bot: str
    specialty: str | None = None  # None: every expert


@dataclass(frozen=True, slots=True)
class Drop(Step):
    bots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reconnect(Step):
    bots: tuple[str, ...]
    since: bool = True
    within_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Delay(Step):
    bots: tuple[str, ...]
    ms: float
    jitter_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Stall(Step):
    bots: tuple[str, ...]
    seconds: float


@dataclass(frozen=True, slots=True)
class Idle(Step):
    seconds: float


@dataclass(frozen=True, slots=True)
class Checkpoint(Step):
    name: str
    within_s: float


AnyStep = (
    Join
    | Leave
    | Churn
    | LookAround
    | Walk
    | Sit
    | Stand
    | Chat
    | Ask
    | WaitFor
    | Console
    | AcceptPage
    | Present
    | Dismiss
    | Drop
    | Reconnect
    | Delay
    | Stall
    | Idle
    | Checkpoint
)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    layout: str
    room: str
    seed: int
    within_s: float
    bots: tuple[BotSpec, ...]
    groups: Mapping[str, tuple[str, ...]]
    steps: tuple[AnyStep, ...]
    network: Network = Network()
    tick_hz: int = 30
    notes: str = ""
    source: str = "<scenario>"
    _by_name: Mapping[str, BotSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {b.name: b for b in self.bots})

    def bot(self, name: str) -> BotSpec:
        return self._by_name[name]


# --- reading -----------------------------------------------------------------------------------


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A scenario by name (``private_visit``: from ``simulator/scenarios``) or by path."""
    path = Path(name_or_path)
    if path.suffix != ".json" and not path.exists():
        path = SCENARIOS_DIR / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(available()) or "none"
        raise ScenarioError(f"no scenario {str(name_or_path)!r} (known: {known})")
    text = path.read_text(encoding="utf-8")
    return parse_scenario_text(text, source=path.name, layouts=known_layouts())


def thin_bots(scenario: Scenario) -> list[str]:
    return [b.name for b in scenario.bots if b.thin]


def refuse_thin_in_process(scenario: Scenario) -> None:
    """``ScenarioError`` if the scenario has thin bots: they need a server and WebRTC."""
    names = thin_bots(scenario)
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise ScenarioError(f"{scenario.source}: {IN_PROCESS_THIN.format(names=shown)}")


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.json"))


def known_layouts() -> frozenset[str]:
    return frozenset(p.stem for p in LAYOUTS_DIR.glob("*.json"))


def parse_scenario_text(text: str, *, source: str, layouts: Collection[str]) -> Scenario:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"{source}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return parse_scenario(raw, source=source, layouts=layouts)


def parse_scenario(raw: Any, *, source: str, layouts: Collection[str]) -> Scenario:
    """Validate ``raw`` (decoded JSON) into a :class:`Scenario`; ``ScenarioError`` if not."""
    top = _Obj(raw, source, "the file")
    name = top.text("scenario", max_len=64)
    title = top.text("title", max_len=200)
    layout = top.text("layout", max_len=64)
    if layout not in layouts:
        top.fail("layout", f"no layout {layout!r} (known: {', '.join(sorted(layouts))})")
    room = top.text("room", max_len=48)
    if not ROOM_ID.match(room):
        top.fail("room", "a room id is 1-48 letters, digits, '_' or '-'")
    seed = top.integer("seed", 0, 2**31 - 1, default=0)
    within = top.number("within_s", 0.1, 600.0, default=5.0)
    tick_hz = top.integer("tick_hz", 1, 240, default=30)
    notes = top.text("notes", max_len=2000, default="")
    network = _network(top.get("network"), source)
    bots, groups = _bots(top.require("bots"), source)
    steps = _steps(top.require("steps"), source, bots, groups, within)
    top.done()
    scenario = Scenario(
        name,
        title,
        layout,
        room,
        seed,
        within,
        bots,
        groups,
        steps,
        network,
        tick_hz,
        notes,
        source,
    )
    _check_story(scenario)
    return scenario


def _network(raw: Any, source: str) -> Network:
    if raw is None:
        return Network()
    obj = _Obj(raw, source, "network")
    net = Network(
        obj.number("latency_ms", 0.0, 5000.0, default=5.0),
        obj.number("jitter_ms", 0.0, 5000.0, default=2.0),
    )
    obj.done()
    return net


def _bot(obj: _Obj) -> tuple[BotSpec, int]:
    """One entry of ``bots``: its spec (the name a template when there are several) and how
    many bots it stands for."""
    template = obj.text("name", max_len=MAX_NAME_CHARS)
    role = obj.choice("role", ROLES)
    device = obj.choice("device", DEVICES, default="desktop")
    if device == "thin" and role == "observer":
        obj.fail(
            "device",
            "an observer has no avatar, so no head to draw a thin client's view from",
        )
    count = obj.integer("count", 1, 500, default=1)
    group = obj.text("group", max_len=64, default="") or None
    risk = obj.integer("risk", 1, 5, default=None)
    lang = obj.choice("lang", sorted(LANGUAGES), default=None)
    skills = obj.choices("skills", sorted(SPECIALTIES))
    langs = obj.choices("langs", sorted(LANGUAGES))
    hz = obj.number("hz", VR_HZ[0], VR_HZ[1], default=None)
    obj.done()
    if count > 1 and "{n}" not in template:
        obj.fail("name", 'with "count", the name needs "{n}" (e.g. "Guest {n}")')
    if count > 1 and group is None:
        obj.fail("group", 'with "count", name the group the steps refer to')
    if (skills or langs) and role != "advisor":
        obj.fail("skills", "only an advisor has console skills and languages")
    if role == "advisor" and not skills:
        skills = tuple(sorted(SPECIALTIES))
    if role == "advisor" and not langs:
        langs = ("en",)
    if device == "vr" and role == "observer":
        obj.fail("device", "an observer has no avatar to wear a headset")
    if hz is not None and device != "vr":
        obj.fail("hz", "a frame rate is for a VR bot")
    spec = BotSpec(template, role, device, group, risk, lang, skills, langs, hz)
    return spec, count


def _bots(raw: Any, source: str) -> tuple[tuple[BotSpec, ...], dict[str, tuple[str, ...]]]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{source}: bots: expected a non-empty list of bots")
    bots: list[BotSpec] = []
    groups: dict[str, list[str]] = {}
    for i, item in enumerate(raw):
        obj = _Obj(item, source, f"bots[{i}]")
        spec, count = _bot(obj)
        template, group = spec.name, spec.group
        for n in range(1, count + 1):
            name = template.replace("{n}", str(n))
            if len(name) > MAX_NAME_CHARS:
                obj.fail("name", f"{name!r} is longer than {MAX_NAME_CHARS} characters")
            bots.append(replace(spec, name=name))
            if group is not None:
                groups.setdefault(group, []).append(name)
    names = [b.name for b in bots]
    thin = [b.name for b in bots if b.thin]
    if len(thin) > MAX_THIN_BOTS:
        raise ScenarioError(
            f"{source}: bots: {len(thin)} thin-client bots; at most {MAX_THIN_BOTS} (the server "
            "draws each one's view in software, about a quarter of a core apiece)"
        )
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise ScenarioError(f"{source}: bots: two bots are called {dup!r}")
    clash = next((g for g in groups if g in names), None)
    if clash is not None:
        raise ScenarioError(f"{source}: bots: {clash!r} is both a bot and a group")
    return tuple(bots), {g: tuple(v) for g, v in groups.items()}


def _steps(
    raw: Any,
    source: str,
    bots: tuple[BotSpec, ...],
    groups: Mapping[str, tuple[str, ...]],
    within: float,
) -> tuple[AnyStep, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{source}: steps: expected a non-empty list of steps")
    names = {b.name for b in bots}
    out: list[AnyStep] = []
    for i, item in enumerate(raw):
        where = f"steps[{i}]"
        if isinstance(item, dict) and isinstance(item.get("do"), str):
            where = f'steps[{i}] ("{item["do"]}")'
        obj = _Obj(item, source, where)
        kind = obj.choice("do", _STEP_KINDS)
        out.append(_step(kind, obj, i + 1, names, groups, within))
        obj.done()
    return tuple(out)


def _step(
    kind: str,
    o: _Obj,
    index: int,
    names: Collection[str],
    groups: Mapping[str, tuple[str, ...]],
    within: float,
) -> AnyStep:
    note = o.text("note", max_len=200, default="")
    return _STEP_READERS[kind](_StepFields(o, index, note, names, groups, within))


@dataclass(frozen=True, slots=True)
class _StepFields:
    """One step's object, with what every kind of step reads from it the same way."""

    o: _Obj
    index: int
    note: str
    names: Collection[str]
    groups: Mapping[str, tuple[str, ...]]
    within: float

    def many(self) -> tuple[str, ...]:
        return self.o.targets(self.names, self.groups)

    def one(self) -> str:
        return self.o.single(self.names)

    def wait(self) -> float:
        return float(self.o.number("within_s", 0.05, 600.0, default=self.within))


def _join(f: _StepFields) -> Join:
    o, note, index = f.o, f.note, f.index
    bots = f.many()
    stagger = o.number("stagger_s", 0.0, 60.0, default=0.0)
    seat = _expect_obj(o, ("seat",)).get("seat")
    if seat is not None and not isinstance(seat, str):
        o.fail("expect", "seat: expected a seat id")
    return Join(index, note or _who("join", bots), bots, stagger, seat)


def _leave(f: _StepFields) -> Leave:
    bots = f.many()
    return Leave(f.index, f.note or _who("leave", bots), bots, f.o.number("stagger_s", 0, 60, 0.0))


def _churn(f: _StepFields) -> Churn:
    o = f.o
    bots = f.many()
    seconds = o.number("seconds", 0.1, 600.0)
    stay = o.pair("stay_s", 0.05, 600.0)
    return Churn(f.index, f.note or _who("churn", bots), bots, seconds, stay, o.flag("wander"))


def _look_around(f: _StepFields) -> LookAround:
    bots = f.many()
    seconds = f.o.number("seconds", 0.1, 600.0)
    return LookAround(f.index, f.note or _who("look around", bots), bots, seconds)


def _walk(f: _StepFields) -> Walk:
    o = f.o
    bots = f.many()
    to = o.require("to")
    target: str | tuple[float, float]
    if isinstance(to, str) and 0 < len(to) <= MAX_SEAT_CHARS:
        target = to
    elif isinstance(to, list) and len(to) == 2 and all(_finite(v) and abs(v) <= 100 for v in to):
        target = (float(to[0]), float(to[1]))
    else:
        o.fail("to", "expected a spot id or [x, z] in metres")
    return Walk(f.index, f.note or _who("walk", bots), bots, target)


def _sit(f: _StepFields) -> Sit:
    bot = f.one()
    return Sit(f.index, f.note or f"{bot} sits", bot, f.o.text("seat", max_len=MAX_SEAT_CHARS))


def _stand(f: _StepFields) -> Stand:
    bots = f.many()
    return Stand(f.index, f.note or _who("stand", bots), bots)


def _chat(f: _StepFields) -> Chat:
    bot = f.one()
    text = f.o.text("text", max_len=MAX_CHAT_CHARS)
    repeat = f.o.integer("repeat", 1, 100, default=1)
    return Chat(f.index, f.note or f"{bot} chats", bot, text, repeat)


def _ask(f: _StepFields) -> Ask:
    o = f.o
    bot = f.one()
    text = o.text("text", max_len=MAX_QUESTION_CHARS)
    lang = o.choice("lang", sorted(LANGUAGES), default=None)
    gender = o.choice("gender", sorted(GENDERS), default=None)
    exp = _expect_obj(o, ("routed", "experts", "handoff"))
    expect = AskExpect(
        _specialties(o, exp, "routed"),
        _specialties(o, exp, "experts"),
        _opt_bool(o, exp, "handoff"),
    )
    return Ask(f.index, f.note or f"{bot} asks", bot, text, f.wait(), lang, gender, expect)


def _wait_for(f: _StepFields) -> WaitFor:
    bots = f.many()
    until = _condition(f.o)
    label = f.note or f"{_who('wait for', bots)}: {until.describe()}"
    return WaitFor(f.index, label, bots, until, f.wait())


def _console(f: _StepFields) -> Console:
    bots = f.many()
    return Console(f.index, f.note or _who("sign in to the console", bots), bots)


def _accept_page(f: _StepFields) -> AcceptPage:
    o = f.o
    bot = f.one()
    exp = _expect_obj(o, ("skill",))
    skill = exp.get("skill")
    if skill is not None and skill not in SPECIALTIES:
        o.fail("expect", f"skill: expected one of {', '.join(sorted(SPECIALTIES))}")
    return AcceptPage(f.index, f.note or f"{bot} accepts a page", bot, f.wait(), skill)


def _present(f: _StepFields) -> Present:
    o = f.o
    bot = f.one()
    title = o.text("title", max_len=MAX_TITLE_CHARS)
    labels = o.strings("labels", max_len=MAX_TITLE_CHARS, max_items=MAX_CHART_ITEMS)
    values = o.numbers("values", 0.0, 1e15, max_items=MAX_CHART_ITEMS)
    if len(labels) != len(values):
        o.fail("values", f"{len(labels)} labels but {len(values)} values")
    screen = o.text("screen", max_len=MAX_ID_CHARS, default="") or None
    return Present(f.index, f.note or f"{bot} presents", bot, title, labels, values, screen)


def _dismiss(f: _StepFields) -> Dismiss:
    bot = f.one()
    sp = f.o.choice("specialty", sorted(SPECIALTIES), default=None)
    return Dismiss(f.index, f.note or f"{bot} dismisses {sp or 'every'} expert", bot, sp)


def _drop(f: _StepFields) -> Drop:
    bots = f.many()
    return Drop(f.index, f.note or _who("drop", bots), bots)


def _reconnect(f: _StepFields) -> Reconnect:
    bots = f.many()
    since = f.o.flag("since", default=True)
    return Reconnect(f.index, f.note or _who("reconnect", bots), bots, since, f.wait())


def _delay(f: _StepFields) -> Delay:
    bots = f.many()
    ms = f.o.number("ms", 0.0, 10_000.0)
    jitter = f.o.number("jitter_ms", 0.0, 10_000.0, default=0.0)
    return Delay(f.index, f.note or f"{_who('delay', bots)} {ms:g} ms", bots, ms, jitter)


def _stall(f: _StepFields) -> Stall:
    bots = f.many()
    seconds = f.o.number("seconds", 0.01, 60.0)
    return Stall(f.index, f.note or _who("stall", bots), bots, seconds)


def _idle(f: _StepFields) -> Idle:
    seconds = f.o.number("seconds", 0.0, 600.0)
    return Idle(f.index, f.note or f"idle {seconds:g} s", seconds)


def _checkpoint(f: _StepFields) -> Checkpoint:
    name = f.o.text("name", max_len=80)
    return Checkpoint(f.index, f.note or f"checkpoint: {name}", name, f.wait())


# The ``do`` values, in the order an error lists them, and how each reads its step.
_STEP_READERS: dict[str, Callable[[_StepFields], AnyStep]] = {
    "join": _join,
    "leave": _leave,
    "churn": _churn,
    "look_around": _look_around,
    "walk": _walk,
    "sit": _sit,
    "stand": _stand,
    "chat": _chat,
    "ask": _ask,
    "wait_for": _wait_for,
    "console": _console,
    "accept_page": _accept_page,
    "present": _present,
    "dismiss": _dismiss,
    "drop": _drop,
    "reconnect": _reconnect,
    "delay": _delay,
    "stall": _stall,
    "idle": _idle,
    "checkpoint": _checkpoint,
}
_STEP_KINDS = list(_STEP_READERS)


def _who(verb: str, bots: tuple[str, ...]) -> str:
    shown = ", ".join(bots[:3]) + (f" and {len(bots) - 3} more" if len(bots) > 3 else "")
    return f"{verb}: {shown}"


def _expect_obj(o: _Obj, keys: tuple[str, ...]) -> dict[str, Any]:
    raw = o.get("expect")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        o.fail("expect", "expected an object")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        o.fail("expect", f"unknown key {unknown[0]!r}; expected one of {', '.join(keys)}")
    return dict(raw)


def _specialties(o: _Obj, exp: dict[str, Any], key: str) -> tuple[str, ...] | None:
    value = exp.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(v in SPECIALTIES for v in value):
        o.fail("expect", f"{key}: expected a list of {', '.join(sorted(SPECIALTIES))}")
    return tuple(value)


def _opt_bool(o: _Obj, exp: dict[str, Any], key: str) -> bool | None:
    value = exp.get(key)
    if value is not None and not isinstance(value, bool):
        o.fail("expect", f"{key}: expected true or false")
    return value


def _condition(o: _Obj) -> Condition:
    raw = o.require("until")
    if not isinstance(raw, dict) or len(raw) != 1:
        o.fail("until", f"expected one condition, one of {', '.join(sorted(CONDITIONS))}")
    ((kind, value),) = raw.items()
    if kind not in CONDITIONS:
        o.fail(
            "until", f"unknown condition {kind!r}; expected one of {', '.join(sorted(CONDITIONS))}"
        )
    if not isinstance(value, str) or not value:
        o.fail("until", f"{kind}: expected a non-empty string")
    if kind in ("expert", "answer") and value not in SPECIALTIES:
        o.fail("until", f"{kind}: expected one of {', '.join(sorted(SPECIALTIES))}")
    if kind in ("no_expert", "page") and value not in SPECIALTIES | {"any"}:
        o.fail("until", f"{kind}: expected 'any' or one of {', '.join(sorted(SPECIALTIES))}")
    if kind == "handoff" and value not in HANDOFF_STATES:
        o.fail("until", f"handoff: expected one of {', '.join(sorted(HANDOFF_STATES))}")
    return Condition(kind, value)


def _check_story(s: Scenario) -> None:
    """Walk the steps with who is in the room, so that a bot never acts before it is there."""
    story = _Story(s)
    for step in s.steps:
        story.follow(step)


class _Story:
    """Who is in the room, who was dropped and who has a console open, step by step."""

    def __init__(self, scenario: Scenario) -> None:
        self.s = scenario
        self.present: set[str] = set()
        self.dropped: set[str] = set()
        self.consoles: set[str] = set()

    def fail(self, step: AnyStep, msg: str) -> NoReturn:
        kind = _kind(step)
        raise ScenarioError(f'{self.s.source}: steps[{step.index - 1}] ("{kind}"): {msg}')

    def role(self, name: str) -> str:
        return self.s.bot(name).role

    def need(self, step: AnyStep, bots: tuple[str, ...], roles: Collection[str], what: str) -> None:
        for b in bots:
            if b not in self.present:
                where = "dropped (reconnect it first)" if b in self.dropped else "not in the room"
                self.fail(step, f"{b} is {where}")
            if self.role(b) not in roles:
                self.fail(step, f"{b} is a {self.role(b)}, who may not {what}")

    def follow(self, step: AnyStep) -> None:
        """Check ``step`` against who is where, then move people as it does."""
        if isinstance(step, Join | Churn):
            self.arrive(step)
        elif isinstance(step, Leave):
            self.need(step, step.bots, ROLES, "leave")
            self.present.difference_update(step.bots)
        elif isinstance(step, WaitFor):
            self.wait_for(step)
        elif isinstance(step, Console):
            self.console(step)
        elif isinstance(step, AcceptPage):
            self.accept_page(step)
        elif isinstance(step, Drop):
            self.need(step, step.bots, ROLES, "drop")
            self.present.difference_update(step.bots)
            self.dropped.update(step.bots)
        elif isinstance(step, Reconnect):
            self.reconnect(step)
        else:
            self.act(step)

    def act(self, step: AnyStep) -> None:
        """A step that moves nobody in or out: whoever does it must be there, and may."""
        if isinstance(step, LookAround | Walk | Stand):
            self.need(step, step.bots, _MOVERS, "move")
        elif isinstance(step, Sit):
            self.need(step, (step.bot,), _MOVERS, "sit")
        elif isinstance(step, Chat):
            self.need(step, (step.bot,), _MOVERS, "chat")
        elif isinstance(step, Ask):
            self.need(step, (step.bot,), _ASKERS, "ask the experts")
        elif isinstance(step, Dismiss):
            self.need(step, (step.bot,), _DISMISSERS, "dismiss experts")
        elif isinstance(step, Present):
            self.need(step, (step.bot,), _PRESENTERS, "present on the wall screen")
        elif isinstance(step, Delay | Stall):
            self.need(step, step.bots, ROLES, "be delayed")

    def arrive(self, step: Join | Churn) -> None:
        for b in step.bots:
            if b in self.present or b in self.dropped:
                self.fail(step, f"{b} is already in the room")
            if isinstance(step, Churn) and self.s.bot(b).thin:
                self.fail(
                    step,
                    f"{b} is a thin client: its media is set up on each arrival, which "
                    "churn does not wait for (use join and leave)",
                )
            if self.role(b) == "advisor" and b in self.consoles:
                self.fail(step, f"{b} signed in to the console: let accept_page bring them in")
        if isinstance(step, Join):
            self.present.update(step.bots)

    def wait_for(self, step: WaitFor) -> None:
        if step.until.kind == "page":
            missing = [b for b in step.bots if b not in self.consoles]
            if missing:
                self.fail(step, f"{missing[0]} has no console open (add a console step)")
        else:
            self.need(step, step.bots, ROLES, "watch")
        if step.until.kind == "seated":
            self.need(step, step.bots, _MOVERS, "sit")

    def console(self, step: Console) -> None:
        for b in step.bots:
            if self.role(b) != "advisor":
                self.fail(step, f"{b} is a {self.role(b)}; only advisors have a console")
        self.consoles.update(step.bots)

    def accept_page(self, step: AcceptPage) -> None:
        if step.bot not in self.consoles:
            self.fail(step, f"{step.bot} has no console open (add a console step)")
        if step.bot in self.present:
            self.fail(step, f"{step.bot} is in the room already")
        self.present.add(step.bot)

    def reconnect(self, step: Reconnect) -> None:
        for b in step.bots:
            if b not in self.dropped:
                self.fail(step, f"{b} was not dropped")
        self.dropped.difference_update(step.bots)
        self.present.update(step.bots)


def _kind(step: AnyStep) -> str:
    return {
        Join: "join",
        Leave: "leave",
        Churn: "churn",
        LookAround: "look_around",
        Walk: "walk",
        Sit: "sit",
        Stand: "stand",
        Chat: "chat",
        Ask: "ask",
        WaitFor: "wait_for",
        Console: "console",
        AcceptPage: "accept_page",
        Present: "present",
        Dismiss: "dismiss",
        Drop: "drop",
        Reconnect: "reconnect",
        Delay: "delay",
        Stall: "stall",
        Idle: "idle",
        Checkpoint: "checkpoint",
    }[type(step)]


def step_kind(step: AnyStep) -> str:
    """The ``do`` value the step was written with."""
    return _kind(step)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


class _Obj:
    """One JSON object being read: every key taken is remembered, the rest are refused."""

    def __init__(self, raw: Any, source: str, where: str) -> None:
        if not isinstance(raw, dict):
            raise ScenarioError(f"{source}: {where}: expected an object, got {_typename(raw)}")
        self.raw: dict[str, Any] = raw
        self.source = source
        self.where = where
        self.taken: set[str] = set()

    def fail(self, key: str, msg: str) -> NoReturn:
        raise ScenarioError(f"{self.source}: {self.where}: {key}: {msg}")

    def get(self, key: str) -> Any:
        self.taken.add(key)
        return self.raw.get(key)

    def require(self, key: str) -> Any:
        if key not in self.raw:
            self.fail(key, "missing")
        return self.get(key)

    def done(self) -> None:
        unknown = sorted(set(self.raw) - self.taken)
        if unknown:
            known = ", ".join(sorted(self.taken))
            raise ScenarioError(
                f"{self.source}: {self.where}: unknown key {unknown[0]!r} (expected one of {known})"
            )

    def text(self, key: str, *, max_len: int, default: str | None = None) -> str:
        if key not in self.raw and default is not None:
            self.taken.add(key)
            return default
        value = self.require(key)
        if not isinstance(value, str) or not 0 < len(value) <= max_len:
            self.fail(key, f"expected a string of 1-{max_len} characters, got {_show(value)}")
        return str(value)

    def choice(self, key: str, options: Collection[str], default: Any = ...) -> Any:
        if key not in self.raw and default is not ...:
            self.taken.add(key)
            return default
        value = self.require(key)
        if value not in options:
            self.fail(key, f"expected one of {', '.join(options)}, got {_show(value)}")
        return value

    def choices(self, key: str, options: Collection[str]) -> tuple[str, ...]:
        value = self.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(v in options for v in value):
            self.fail(key, f"expected a list of {', '.join(options)}, got {_show(value)}")
        return tuple(value)

    def integer(self, key: str, lo: int, hi: int, default: Any = ...) -> Any:
        if key not in self.raw and default is not ...:
            self.taken.add(key)
            return default
        value = self.require(key)
        if type(value) is not int or not lo <= value <= hi:
            self.fail(key, f"expected a whole number in {lo}..{hi}, got {_show(value)}")
        return value

    def number(self, key: str, lo: float, hi: float, default: Any = ...) -> Any:
        if key not in self.raw and default is not ...:
            self.taken.add(key)
            return default
        value = self.require(key)
        if not _finite(value) or not lo <= value <= hi:
            self.fail(key, f"expected a number in {lo:g}..{hi:g}, got {_show(value)}")
        return float(value)

    def pair(self, key: str, lo: float, hi: float) -> tuple[float, float]:
        value = self.require(key)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(_finite(v) and lo <= v <= hi for v in value)
            or value[0] > value[1]
        ):
            self.fail(key, f"expected [least, most] within {lo:g}..{hi:g}, got {_show(value)}")
        return (float(value[0]), float(value[1]))

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {_show(value)}")
        return bool(value)

    def strings(self, key: str, *, max_len: int, max_items: int) -> tuple[str, ...]:
        value = self.require(key)
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(isinstance(v, str) and 0 < len(v) <= max_len for v in value)
        ):
            self.fail(key, f"expected at most {max_items} strings of 1-{max_len} characters")
        return tuple(value)

    def numbers(self, key: str, lo: float, hi: float, *, max_items: int) -> tuple[float, ...]:
        value = self.require(key)
        if (
            not isinstance(value, list)
            or len(value) > max_items
            or not all(_finite(v) and lo <= v <= hi for v in value)
        ):
            self.fail(key, f"expected at most {max_items} numbers in {lo:g}..{hi:g}")
        return tuple(float(v) for v in value)

    def targets(
        self, names: Collection[str], groups: Mapping[str, tuple[str, ...]]
    ) -> tuple[str, ...]:
        """``"bot": "Ann"`` or ``"bots": ["Ann", "audience"]`` (groups expand), in order."""
        if ("bot" in self.raw) == ("bots" in self.raw):
            self.fail("bots", 'name the bots with "bot" or "bots" (one of them)')
        raw = self.get("bot") if "bot" in self.raw else self.get("bots")
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not items or not all(isinstance(x, str) for x in items):
            self.fail("bots", "expected a bot or group name, or a list of them")
        out: list[str] = []
        for item in items:
            if item in groups:
                out += groups[item]
            elif item in names:
                out.append(item)
            else:
                self.fail("bots", f"no bot or group called {item!r}")
        if len(set(out)) != len(out):
            self.fail("bots", "a bot is named twice")
        return tuple(out)

    def single(self, names: Collection[str]) -> str:
        value = self.require("bot")
        if not isinstance(value, str) or value not in names:
            self.fail("bot", f"no bot called {_show(value)}")
        return str(value)


def _typename(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false"}.get(
        type(v), "a number" if _finite(v) else "null" if v is None else type(v).__name__
    )


def _show(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
