"""Digital expert personas: the bank's data, its checks, and choosing who answers."""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from avatars.appearance import DEFAULT_LOOK
from avatars.errors import AvatarDataError
from avatars.guardrails import find_promise
from avatars.personas import (
    PERSONAS_FILE,
    VOICES,
    Persona,
    PersonaDataError,
    Personas,
    Preferences,
    UnknownPersona,
    restyle_for,
)
from avatars.specialties import TITLES, Specialty
from protocol.errors import ProtocolError
from protocol.messages import FACES, Look


@pytest.fixture(scope="module")
def personas() -> Personas:
    return Personas.load()


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(PERSONAS_FILE.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "personas.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- the bank's data ---------------------------------------------------------------------------


def test_every_specialty_has_experts_of_each_language_and_both_genders(
    personas: Personas,
) -> None:
    for specialty in Specialty:
        team = personas.for_specialty(specialty)
        assert len(team) >= 2, specialty
        assert {p.language for p in team} == {"en", "zh", "yue"}, specialty
        assert {p.gender for p in team} == {"female", "male"}, specialty


def test_ages_cover_a_range(personas: Personas) -> None:
    ages = [p.age for p in personas.all]
    assert min(ages) < 35
    assert max(ages) > 55


def test_every_persona_is_complete_and_greets_in_its_own_language(personas: Personas) -> None:
    for p in personas.all:
        assert all(getattr(p.look, f.name) is not None for f in fields(Look)), p.id
        assert {"en", "zh"} <= set(p.name), p.id
        assert {"en", "zh", p.language} <= set(p.greeting), p.id
        assert p.face in FACES
        assert p.look.face == p.face, p.id  # the figure wears the persona's face
        assert p.voice.name.partition("+")[0] in VOICES[p.language]
        assert 0 <= p.voice.pitch <= 99
        for greeting in p.greeting.values():
            assert "AI" in greeting, p.id  # an expert says what it is from the first word
            assert find_promise(greeting) is None


def test_ids_are_unique(personas: Personas) -> None:
    assert not [i for i, n in Counter(p.id for p in personas.all).items() if n > 1]


def test_get_and_unknown_id(personas: Personas) -> None:
    first = personas.all[0]
    assert personas.get(first.id) is first
    with pytest.raises(UnknownPersona, match="no persona 'nobody'"):
        personas.get("nobody")
    with pytest.raises(KeyError):
        personas.get("nobody")


# --- pick --------------------------------------------------------------------------------------


def test_pick_prefers_the_language_asked_for(personas: Personas) -> None:
    for specialty in Specialty:
        for language in ("en", "zh", "yue"):
            assert personas.pick(specialty, language=language).language == language
            chosen = personas.pick(specialty, Preferences(language=language), language="en")
            assert chosen.language == language  # the customer's preference beats the question's


def test_pick_prefers_gender_within_the_language(personas: Personas) -> None:
    # The bank's data has a Mandarin pair of stock experts.
    assert personas.pick(Specialty.STOCKS, Preferences("zh", "female")).gender == "female"
    assert personas.pick(Specialty.STOCKS, Preferences("zh", "male")).gender == "male"
    # Language first: no Mandarin woman among bond experts, so a Mandarin man rather than a
    # Cantonese or English woman.
    chosen = personas.pick(Specialty.BONDS, Preferences("zh", "female"))
    assert (chosen.language, chosen.gender) == ("zh", "male")


def test_pick_is_deterministic(personas: Personas) -> None:
    for specialty in Specialty:
        picks = {
            personas.pick(specialty, Preferences(gender="male"), language="en").id for _ in "ab"
        }
        assert len(picks) == 1


def test_an_explicit_persona_wins_only_within_its_specialty(personas: Personas) -> None:
    cantonese = next(p for p in personas.for_specialty(Specialty.FX) if p.language == "yue")
    chosen = personas.pick(Specialty.FX, Preferences("en", "male", cantonese.id), language="en")
    assert chosen is cantonese
    other = personas.pick(Specialty.TAX, Preferences(persona=cantonese.id), language="en")
    assert other.specialty is Specialty.TAX
    assert other.language == "en"
    unknown = personas.pick(Specialty.TAX, Preferences(persona="nobody"), language="zh")
    assert unknown.language == "zh"


def test_no_speaker_of_the_language_gives_the_closest_and_the_caller_can_tell(
    tmp_path: Path,
) -> None:
    data = _data()
    data["personas"] = [p for p in data["personas"] if p["language"] != "yue"]
    personas = Personas.load(_write(tmp_path, data))
    chosen = personas.pick(Specialty.DEPOSITS, language="yue")
    assert chosen.language == "zh"  # the other Chinese speaker, not the English one
    assert chosen.language != "yue"  # what the caller checks to tell the customer
    data["personas"] = [p for p in data["personas"] if p["language"] == "en"]
    only_english = Personas.load(_write(tmp_path, data))
    assert only_english.pick(Specialty.DEPOSITS, language="yue").language == "en"


# --- restyle -----------------------------------------------------------------------------------


def test_restyle_changes_outfit_and_hair_only(personas: Personas) -> None:
    expert = personas.all[0]
    change = Look(top="#FF0000", hair="curly", body="broad", height=200, skin="#000000")
    dressed = restyle_for(expert, change)
    assert dressed.look.top == "#ff0000"
    assert dressed.look.hair == "curly"
    assert (dressed.look.body, dressed.look.height, dressed.look.skin) == (
        expert.look.body,
        expert.look.height,
        expert.look.skin,
    )
    assert dressed.id == expert.id
    assert expert.look.top != "#ff0000"
    assert restyle_for(expert, None) is expert


def test_restyle_with_a_bad_value_is_refused_like_a_members(personas: Personas) -> None:
    with pytest.raises(ProtocolError):
        restyle_for(personas.all[0], Look(top="red"))
    with pytest.raises(ProtocolError):
        restyle_for(personas.all[0], Look(hair="mohawk"))


def test_partial_look_is_completed_from_the_default(tmp_path: Path) -> None:
    data = _data()
    data["personas"][0]["look"] = {"top": "#123456"}
    persona: Persona = Personas.load(_write(tmp_path, data)).all[0]
    assert persona.look.top == "#123456"
    assert persona.look.hair == DEFAULT_LOOK.hair
    assert persona.look.height == DEFAULT_LOOK.height


# --- validation --------------------------------------------------------------------------------


def _broken(change: Any) -> dict[str, Any]:
    data = _data()
    change(data["personas"][0])
    return data


BAD_PERSONAS = [
    (lambda p: p.pop("gender"), "missing field 'gender'"),
    (lambda p: p.update(mood="cheerful"), "unknown field 'mood'"),
    (lambda p: p.update(gender="robot"), "gender: 'robot' is not one of"),
    (lambda p: p.update(age=True), "age: expected a whole number"),
    (lambda p: p.update(age=12), "age: 12 outside"),
    (lambda p: p.update(specialty="crypto"), "specialty: 'crypto'"),
    (lambda p: p.update(language="fr"), "language: 'fr'"),
    (lambda p: p.update(face="triangle"), "face: 'triangle'"),
    (lambda p: p["name"].pop("zh"), "name: missing language 'zh'"),
    (lambda p: p["name"].update(fr="Lin"), "name: unknown language 'fr'"),
    (lambda p: p["greeting"].update(en=""), "greeting.en: expected non-empty text"),
    (lambda p: p["voice"].update(name="en-gb"), "voice: name: 'en-gb' is not an espeak-ng"),
    (lambda p: p["voice"].update(name="cmn+x9"), "variant 'x9'"),
    (lambda p: p["voice"].update(pitch=120), "voice: pitch: 120 outside"),
    (lambda p: p["voice"].pop("rate"), "voice: missing field 'rate'"),
    (lambda p: p["look"].update(hair="mohawk"), "look.hair: 'mohawk' is not one of"),
    (lambda p: p["look"].update(top="navy"), "look.top: expected a colour"),
    (lambda p: p["look"].update(height=300), "look.height: 300 outside"),
    (lambda p: p["look"].update(cape="#000000"), "look: unknown field 'cape'"),
    (lambda p: p.update(id="Bad Id"), "id: expected lowercase"),
]


@pytest.mark.parametrize(("change", "message"), BAD_PERSONAS)
def test_a_bad_persona_names_file_persona_and_field(
    tmp_path: Path, change: Any, message: str
) -> None:
    path = _write(tmp_path, _broken(change))
    with pytest.raises(PersonaDataError, match=r"^personas\.json: ") as caught:
        Personas.load(path)
    assert message in str(caught.value)
    if "id:" not in message:
        assert "persona 'stocks-lin-wei'" in str(caught.value)
    assert isinstance(caught.value, AvatarDataError)


def test_a_language_of_its_own_needs_a_greeting_in_it(tmp_path: Path) -> None:
    data = _data()
    cantonese = next(p for p in data["personas"] if p["language"] == "yue")
    del cantonese["greeting"]["yue"]
    with pytest.raises(PersonaDataError, match="greeting: missing language 'yue'"):
        Personas.load(_write(tmp_path, data))


def test_duplicate_ids_and_a_specialty_without_experts_are_refused(tmp_path: Path) -> None:
    data = _data()
    data["personas"].append(copy.deepcopy(data["personas"][0]))
    with pytest.raises(PersonaDataError, match="used by an earlier persona"):
        Personas.load(_write(tmp_path, data))
    data = _data()
    data["personas"] = [p for p in data["personas"] if p["specialty"] != "tax"]
    with pytest.raises(PersonaDataError, match="no persona for specialty 'tax'"):
        Personas.load(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON: line 1"),
        ("[]", "expected an object"),
        ('{"personas": {}}', "personas: expected a list"),
        ('{"personas": [], "extra": 1}', "unknown field 'extra'"),
        ('{"personas": [7]}', "persona #1: expected an object"),
    ],
)
def test_a_broken_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "personas.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PersonaDataError, match=message):
        Personas.load(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaDataError, match="no such file"):
        Personas.load(tmp_path / "absent.json")


def test_every_specialty_has_its_titles() -> None:
    # The specialties are the protocol's list; a new one needs what a customer reads for it.
    assert set(TITLES) == set(Specialty)
    assert all(en and zh for en, zh in TITLES.values())
