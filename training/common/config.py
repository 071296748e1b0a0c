"""TOML experiment files read into dataclasses, with inheritance and command-line overrides.

A config file sets some fields of a recipe's ``Config`` dataclass; unset fields keep their
defaults. ``base = "other.toml"`` inherits from a sibling file (the child wins), and
``overrides`` such as ``["epochs=1", "lr=3e-5"]`` are applied last. Pydantic validates the
result against the dataclass (``TypeAdapter``), so a value of the wrong type is an error
naming the field and the value, and an unknown key is an error naming the key.

Two spellings are read before validation, since neither TOML nor ``--set`` has syntax
for them: ``none`` (or ``null``) is None for an optional field, and ``a,b`` is the list
``["a", "b"]`` for a list or tuple field. An override of a text field (``str``, ``Path``)
is taken verbatim, so ``model=1e-3`` stays the text "1e-3"; any other override is read as a
TOML value (numbers, booleans, [lists], "quoted") when it parses, otherwise as a bare string.
"""

from __future__ import annotations

import dataclasses
import functools
import tomllib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")

INHERIT_KEY = "base"
NONE_SPELLINGS = ("none", "null")


class ConfigError(ValueError):
    """A config file or override that does not fit the recipe's Config."""


def load_config(cls: type[T], path: str | Path | None, overrides: Iterable[str] = ()) -> T:
    """Build ``cls`` from its defaults, then the TOML file at ``path`` (with its bases), then ``overrides``."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    types_by_name = typing.get_type_hints(cls)
    values: dict[str, Any] = _read_with_bases(Path(path), seen=()) if path is not None else {}
    for override in overrides:
        name, raw = _split_override(override)
        values[name] = raw if _is_text(types_by_name.get(name)) else _parse_override_value(raw)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config field(s) {unknown} for {cls.__name__}; known: {sorted(known)}")
    spelled = {name: _read_spelling(value, types_by_name[name]) for name, value in values.items()}
    try:
        return _adapter(cls).validate_python(spelled)
    except ValidationError as error:
        raise ConfigError(_describe_errors(cls, error)) from error


def describe(cls: type) -> str:
    """One line per field with its default and help text, for ``--help`` output."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        lines.append(f"  {f.name} = {default!r}  {f.metadata.get('help', '')}")
    return "\n".join(lines)


@functools.cache
def _adapter(cls: type[T]) -> TypeAdapter[T]:
    return TypeAdapter(cls)


def _describe_errors(cls: type, error: ValidationError) -> str:
    """One clause per problem, each naming the field (``labels.1`` for an item) and the value it got."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(map(str, item["loc"]))
        if item["type"] == "missing":
            problems.append(f"{cls.__name__}: {where} is required")
        else:
            problems.append(f"{where} = {item['input']!r}: {item['msg']}")
    return "; ".join(problems)


def _read_with_bases(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"config inheritance loop: {' -> '.join(map(str, (*seen, path)))}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with path.open("rb") as handle:
        values = tomllib.load(handle)
    base_name = values.pop(INHERIT_KEY, None)
    if base_name is None:
        return values
    inherited = _read_with_bases(path.parent / base_name, seen=(*seen, path))
    return inherited | values


def _split_override(override: str) -> tuple[str, str]:
    name, sep, raw = override.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"override {override!r} is not of the form name=value")
    return name.strip(), raw.strip()


def _options(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (``int | None``), or the annotation alone."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _is_text(annotation: Any) -> bool:
    """String-like fields take an override verbatim, so ``name=1e-3`` stays the text "1e-3"."""
    return any(option in (str, Path) for option in _options(annotation))


def _parse_override_value(raw: str) -> Any:
    """TOML syntax when it parses (numbers, booleans, [lists], "quoted"), otherwise the bare string."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _read_spelling(value: Any, annotation: Any) -> Any:
    """``none``/``null`` for an optional field is None; ``a,b`` for a list or tuple field is ``["a", "b"]``."""
    if not isinstance(value, str):
        return value
    options = _options(annotation)
    if type(None) in options and value.lower() in NONE_SPELLINGS:
        return None
    if any(typing.get_origin(option) in (list, tuple) for option in options):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value
