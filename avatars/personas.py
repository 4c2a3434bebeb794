"""Digital expert personas: who answers for each specialty, as data the bank edits.

``data/personas.json`` lists them; :meth:`Personas.load` checks every field strictly and names
file, persona and field in its error. Each specialty needs at least one persona; the bank's data
has Mandarin, Cantonese and English speakers of both genders for each.

A persona's ``look`` in the file is partial (the protocol's own rules check it) and is completed
from :data:`avatars.appearance.DEFAULT_LOOK`. Its ``voice`` is an espeak-ng voice for the
persona's language, optionally with a variant (``"yue+f2"``: espeak-ng's female variant 2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from avatars.advice import LANGUAGES
from avatars.appearance import DEFAULT_LOOK, restyle
from avatars.errors import AvatarDataError
from avatars.knowledge import DATA_DIR, DataRecord, field_path, parse_data
from avatars.specialties import Specialty
from protocol.codec import look_to_wire
from protocol.errors import ProtocolError
from protocol.messages import FACES, LOOK, Look

PERSONAS_FILE = DATA_DIR / "personas.json"

GENDERS = ("female", "male")
# Face shapes the clients model; a new one needs a client release before it goes in the data.
MIN_AGE, MAX_AGE = 21, 80
# espeak-ng voices for each language (``espeak-ng --voices=en`` etc.), and the variants that
# may follow a ``+``. Checked here so a typo fails at load rather than as a mute expert.
VOICES: dict[str, frozenset[str]] = {
    "en": frozenset(
        {
            "en",
            "en-gb",
            "en-us",
            "en-029",
            "en-gb-scotland",
            "en-gb-x-rp",
            "en-gb-x-gbclan",
            "en-gb-x-gbcwmd",
        }
    ),
    "zh": frozenset({"cmn", "cmn-latn-pinyin"}),
    "yue": frozenset({"yue"}),
}
VOICE_VARIANTS = frozenset({f"m{i}" for i in range(1, 8)} | {f"f{i}" for i in range(1, 6)})
MIN_RATE, MAX_RATE = 80, 450  # words per minute, espeak-ng's own bounds
# Outfit and hair: what a customer may restyle on an expert. Build, height and skin are the
# persona's own.
RESTYLABLE = ("hair", "hair_color", "top", "bottom", "accent")


class PersonaDataError(AvatarDataError):
    """``personas.json`` is missing or invalid."""


class UnknownPersona(KeyError):
    """No persona has that id."""

    def __str__(self) -> str:
        # KeyError shows its argument's repr; the message reads better as it is.
        return str(self.args[0]) if self.args else "unknown persona"


@dataclass(frozen=True, slots=True)
class Voice:
    name: str  # espeak-ng voice, optionally "+variant"
    rate: int  # words per minute
    pitch: int  # 0-99, espeak-ng's scale


@dataclass(frozen=True, slots=True)
class Persona:
    id: str
    name: dict[str, str]  # language -> name ("en" and "zh" at least)
    gender: str  # one of GENDERS
    age: int
    specialty: Specialty
    language: str  # the language the persona speaks: one of LANGUAGES
    dialect: str  # free text shown to the bank, e.g. "Hong Kong Cantonese"
    voice: Voice
    look: Look  # complete: no field is None
    face: str  # one of FACES
    greeting: dict[str, str]  # language -> greeting ("en", "zh" and its own language at least)


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a customer asked for in an expert; every field is optional."""

    language: str | None = None
    gender: str | None = None
    persona: str | None = None  # a persona id


def _voice(record: DataRecord, language: str) -> Voice:
    raw = record.raw.get("voice")
    voice = DataRecord(raw, f"{record.where}: voice", PersonaDataError, (*record.at, "voice"))
    voice.fields(("name", "rate", "pitch"))
    name = voice.text("name", 40)
    base, plus, variant = name.partition("+")
    if base not in VOICES[language]:
        voice.fail("name", f"{base!r} is not an espeak-ng voice for {language!r}")
    if plus and variant not in VOICE_VARIANTS:
        voice.fail("name", f"variant {variant!r} is not one of {sorted(VOICE_VARIANTS)}")
    return Voice(name, voice.integer("rate", MIN_RATE, MAX_RATE), voice.integer("pitch", 0, 99))


def _look(record: DataRecord) -> Look:
    try:
        partial: Look = LOOK.check(record.raw.get("look"), "look")
    except ProtocolError as exc:
        # The protocol's message already names the field ("look.hair: ...").
        at = (*record.at, *field_path(exc.detail.partition(":")[0]))
        raise PersonaDataError(f"{record.where}: {exc.detail}", at=at) from None
    return restyle(DEFAULT_LOOK, partial)


def _persona(record: DataRecord) -> Persona:
    record.fields(
        (
            "id",
            "name",
            "gender",
            "age",
            "specialty",
            "language",
            "dialect",
            "voice",
            "look",
            "face",
            "greeting",
        )
    )
    language = record.choice("language", LANGUAGES)
    face = record.choice("face", FACES)
    # A persona greets in its own language as well as the two every room renders.
    greeting_languages = tuple(dict.fromkeys(("en", "zh", language)))
    return Persona(
        id=record.identifier(),
        name=record.texts("name", max_len=40),
        gender=record.choice("gender", GENDERS),
        age=record.integer("age", MIN_AGE, MAX_AGE),
        specialty=Specialty(record.choice("specialty", (s.value for s in Specialty))),
        language=language,
        dialect=record.text("dialect", 60),
        voice=_voice(record, language),
        # The face shape is the persona's own, and so its figure's.
        look=replace(_look(record), face=face),
        face=face,
        greeting=record.texts("greeting", greeting_languages, max_len=200),
    )


def _language_match(spoken: str, wanted: str | None) -> int:
    if wanted is None or spoken == wanted:
        return 2
    # Mandarin and Cantonese speakers share the written language, so the other Chinese
    # speaker serves better than an English one.
    if {spoken, wanted} == {"zh", "yue"}:
        return 1
    return 0


class Personas:
    """Every persona, by id and by specialty, in file order (which breaks ties in ``pick``)."""

    def __init__(self, personas: tuple[Persona, ...]) -> None:
        self.all = personas
        self._by_id = {p.id: p for p in personas}
        self._by_specialty = {s: tuple(p for p in personas if p.specialty == s) for s in Specialty}

    @classmethod
    def load(cls, path: Path | None = None) -> Personas:
        """Read and check ``path`` (default: the package's ``data/personas.json``)."""
        path = PERSONAS_FILE if path is None else path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PersonaDataError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PersonaDataError(f"{path}: cannot read: {exc}") from None
        return cls.parse(text, path.name)

    @classmethod
    def parse(cls, text: str, name: str = PERSONAS_FILE.name) -> Personas:
        """The personas in ``text``, the file ``name``, checked."""
        personas: list[Persona] = []
        seen: set[str] = set()
        for i, raw in enumerate(parse_data(text, name, "personas", PersonaDataError)):
            record = DataRecord(raw, f"{name}: persona #{i + 1}", PersonaDataError, ("personas", i))
            persona_id = record.identifier()
            record.where = f"{name}: persona {persona_id!r}"
            if persona_id in seen:
                record.fail("id", "used by an earlier persona")
            seen.add(persona_id)
            personas.append(_persona(record))
        missing = [s.value for s in Specialty if not any(p.specialty == s for p in personas)]
        if missing:
            raise PersonaDataError(f"{name}: no persona for specialty {missing[0]!r}")
        return cls(tuple(personas))

    def get(self, persona_id: str) -> Persona:
        try:
            return self._by_id[persona_id]
        except KeyError:
            raise UnknownPersona(f"no persona {persona_id!r}") from None

    def for_specialty(self, specialty: Specialty) -> tuple[Persona, ...]:
        return self._by_specialty[specialty]

    def pick(
        self,
        specialty: Specialty,
        prefs: Preferences = Preferences(),
        *,
        language: str | None = None,
    ) -> Persona:
        """The persona to answer for ``specialty``.

        A persona id in ``prefs`` wins when it is of ``specialty`` (otherwise it is ignored).
        Then the language asked for (``prefs.language``, else the question's ``language``),
        the other Chinese language next, then the gender asked for; ties go to file order, so
        the same question always brings the same expert.

        When no persona speaks the language asked for, the best other is returned: the caller
        compares ``persona.language`` with what it asked to tell the customer.
        """
        if prefs.persona is not None:
            chosen = self._by_id.get(prefs.persona)
            if chosen is not None and chosen.specialty == specialty:
                return chosen
        wanted = prefs.language or language
        candidates = self._by_specialty[specialty]
        return max(
            candidates,
            key=lambda p: (
                _language_match(p.language, wanted),
                prefs.gender is None or p.gender == prefs.gender,
                -candidates.index(p),
            ),
        )


def restyle_for(persona: Persona, look: Look | None) -> Persona:
    """``persona`` wearing a customer's restyle: only outfit and hair change (build, height and
    skin are the persona's). Values are checked by the protocol's rules, so a bad colour
    raises the same error a member's own restyle would."""
    if look is None:
        return persona
    checked: Look = LOOK.check(look_to_wire(look), "look")
    change = Look(**{f: getattr(checked, f) for f in RESTYLABLE})
    return replace(persona, look=restyle(persona.look, change))
