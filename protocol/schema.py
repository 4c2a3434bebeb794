"""Declarative field types: each checks one decoded msgpack value strictly and says why not.

The same table drives validation, the spec's field listing and (later) the JavaScript codec's
tests, so a limit lives in exactly one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from protocol.errors import BadValue, MissingField, TooLong, UnknownField, WrongFieldType

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1
_MAX_PATHS = 256
_NUMBERS = frozenset((float, int))  # not bool: a subclass, but its own type on the wire


class Kind(Protocol):
    """A wire type: ``check`` returns the value as the application sees it, or raises."""

    def check(self, value: object, path: str) -> Any: ...

    def describe(self) -> str: ...


def _type_name(value: object) -> str:
    return {
        bool: "bool",
        int: "int",
        float: "float",
        str: "str",
        bytes: "bin",
        list: "array",
        dict: "map",
        type(None): "nil",
    }.get(type(value), type(value).__name__)


@dataclass(frozen=True, slots=True)
class Int:
    lo: int = INT64_MIN
    hi: int = UINT64_MAX

    def check(self, value: object, path: str) -> int:
        # bool is an int subclass in Python; msgpack keeps them distinct and so do we.
        if type(value) is not int:
            raise WrongFieldType(f"{path}: expected int, got {_type_name(value)}")
        if not self.lo <= value <= self.hi:
            raise BadValue(f"{path}: {value} outside [{self.lo}, {self.hi}]")
        return value

    def describe(self) -> str:
        return f"int [{self.lo}, {self.hi}]"


@dataclass(frozen=True, slots=True)
class Float:
    lo: float
    hi: float

    def check(self, value: object, path: str) -> float:
        # JavaScript encoders write 2.0 as the integer 2, so integers are floats too.
        if type(value) is float:
            number = value
        elif type(value) is int:
            number = float(value)
        else:
            raise WrongFieldType(f"{path}: expected float, got {_type_name(value)}")
        if not math.isfinite(number):
            raise BadValue(f"{path}: not a finite number")
        if not self.lo <= number <= self.hi:
            raise BadValue(f"{path}: {number} outside [{self.lo}, {self.hi}]")
        return number

    def describe(self) -> str:
        return f"float, finite, [{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True, slots=True)
class Str:
    max_len: int
    min_len: int = 0

    def check(self, value: object, path: str) -> str:
        if type(value) is not str:
            raise WrongFieldType(f"{path}: expected str, got {_type_name(value)}")
        # Lengths count Unicode code points, which JavaScript gets from [...s].length.
        if len(value) > self.max_len:
            raise TooLong(f"{path}: {len(value)} characters, at most {self.max_len}")
        if len(value) < self.min_len:
            raise BadValue(f"{path}: at least {self.min_len} characters")
        return value

    def describe(self) -> str:
        return f"str, {self.min_len}..{self.max_len} code points"


@dataclass(frozen=True, slots=True)
class Bool:
    def check(self, value: object, path: str) -> bool:
        if type(value) is not bool:
            raise WrongFieldType(f"{path}: expected bool, got {_type_name(value)}")
        return value

    def describe(self) -> str:
        return "bool"


@dataclass(frozen=True, slots=True)
class Vec:
    """A fixed-length array of one element kind (a position, a quaternion)."""

    item: Kind
    length: int

    def check(self, value: object, path: str) -> tuple[Any, ...]:
        if type(value) is not list:
            raise WrongFieldType(f"{path}: expected array, got {_type_name(value)}")
        if len(value) != self.length:
            raise BadValue(f"{path}: expected {self.length} elements, got {len(value)}")
        item = self.item
        if type(item) is Float:
            # Fast path for poses (21 floats each, tens of thousands a second), in C-level
            # builtins only. A NaN or infinity makes the sum non-finite (as does an overflow
            # of huge values, which the range refuses anyway); the slow path below then finds
            # and words the error.
            types = set(map(type, value))
            if types <= _NUMBERS:
                out = tuple(map(float, value)) if int in types else tuple(value)
                if math.isfinite(sum(out)) and item.lo <= min(out) and max(out) <= item.hi:
                    return out
        return tuple(item.check(v, f"{path}[{i}]") for i, v in enumerate(value))

    def describe(self) -> str:
        return f"array of {self.length} x ({self.item.describe()})"


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Kind
    max_len: int

    def check(self, value: object, path: str) -> list[Any]:
        if type(value) is not list:
            raise WrongFieldType(f"{path}: expected array, got {_type_name(value)}")
        if len(value) > self.max_len:
            raise TooLong(f"{path}: {len(value)} elements, at most {self.max_len}")
        return [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]

    def describe(self) -> str:
        return f"array of at most {self.max_len} x ({self.item.describe()})"


@dataclass(frozen=True, slots=True)
class OneOf:
    """A string from a fixed set (an enum on the wire)."""

    values: frozenset[str]

    def check(self, value: object, path: str) -> str:
        if type(value) is not str:
            raise WrongFieldType(f"{path}: expected str, got {_type_name(value)}")
        if value not in self.values:
            raise BadValue(f"{path}: {value[:32]!r} is not one of {sorted(self.values)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{v}`" for v in sorted(self.values))


@dataclass(frozen=True, slots=True)
class Colour:
    """An sRGB colour as ``#rrggbb``."""

    def check(self, value: object, path: str) -> str:
        if type(value) is not str:
            raise WrongFieldType(f"{path}: expected str, got {_type_name(value)}")
        if not _COLOUR.fullmatch(value):
            raise BadValue(f"{path}: expected a colour like #1f3a5f")
        return value.lower()

    def describe(self) -> str:
        return "str `#rrggbb`"


@dataclass(frozen=True, slots=True)
class Bytes:
    """Opaque binary (msgpack ``bin``), for packed records such as poses."""

    min_len: int
    max_len: int

    def check(self, value: object, path: str) -> bytes:
        if type(value) is not bytes:
            raise WrongFieldType(f"{path}: expected bin, got {_type_name(value)}")
        if not self.min_len <= len(value) <= self.max_len:
            raise BadValue(f"{path}: {len(value)} bytes, expected {self.min_len}..{self.max_len}")
        return value

    def describe(self) -> str:
        return f"bin, {self.min_len}..{self.max_len} bytes"


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    kind: Kind
    required: bool = True
    doc: str = ""


class Struct:
    """A msgpack map with declared string keys, built into ``build(**fields)``."""

    __slots__ = ("_allowed", "_by_key", "_paths", "build", "fields", "name")

    def __init__(self, name: str, build: Callable[..., Any], fields: tuple[Field, ...]) -> None:
        self.name = name
        self.build = build
        self.fields = fields
        self._by_key = {f.key: f for f in fields}
        # Per (skip): the keys a map may carry. Per path: each field's (key, kind, required,
        # path), so that a valid message builds no error path strings.
        self._allowed: dict[str, frozenset[str]] = {}
        self._paths: dict[str, tuple[tuple[str, Kind, bool, str], ...]] = {}

    def check(self, value: object, path: str) -> Any:
        if type(value) is not dict:
            raise WrongFieldType(f"{path}: expected map, got {_type_name(value)}")
        return self.check_map(value, path, skip="")

    def check_map(self, value: Mapping[Any, Any], path: str, *, skip: str) -> Any:
        allowed = self._allowed.get(skip)
        if allowed is None:
            allowed = self._allowed[skip] = frozenset(self._by_key) | {skip} - {""}
        if not value.keys() <= allowed:
            by_key = self._by_key
            for key in value:
                if key not in by_key and key != skip:
                    shown = key if isinstance(key, str) else _type_name(key)
                    raise UnknownField(f"{path}: unknown field {shown!r}")
        fields = self._paths.get(path)
        if fields is None:
            if len(self._paths) >= _MAX_PATHS:
                self._paths.clear()  # list items name their index: bound the cache
            fields = tuple((f.key, f.kind, f.required, f"{path}.{f.key}") for f in self.fields)
            self._paths[path] = fields
        kwargs: dict[str, Any] = {}
        for key, kind, required, field_path in fields:
            if key in value:
                kwargs[key] = kind.check(value[key], field_path)
            elif required:
                raise MissingField(f"{path}: missing field {key!r}")
        return self.build(**kwargs)

    def describe(self) -> str:
        return f"map ({self.name})"
