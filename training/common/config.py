"""TOML experiment files read into dataclasses, with inheritance and command-line overrides.

A config file sets some fields of a recipe's ``Config`` dataclass; unset fields keep their
defaults. ``base = "other.toml"`` inherits from a sibling file (the child wins), and
``overrides`` such as ``["epochs=1", "lr=3e-5"]`` are applied last, coerced to the field's type.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

INHERIT_KEY = "base"


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
    coerced = {name: _coerce(name, value, types_by_name[name]) for name, value in values.items()}
    try:
        return cls(**coerced)
    except TypeError as error:  # a required field left unset
        raise ConfigError(f"{cls.__name__}: {error}") from error


def describe(cls: type) -> str:
    """One line per field with its default and help text, for ``--help`` output."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        lines.append(f"  {f.name} = {default!r}  {f.metadata.get('help', '')}")
    return "\n".join(lines)


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


def _is_text(annotation: Any) -> bool:
    """String-like fields take an override verbatim, so ``name=1e-3`` stays the text "1e-3"."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union, types.UnionType) else ()
    return annotation in (str, Path) or any(option in (str, Path) for option in options)


def _parse_override_value(raw: str) -> Any:
    """TOML syntax when it parses (numbers, booleans, [lists], "quoted"), otherwise the bare string."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        errors = []
        for option in options:
            try:
                return _coerce(name, value, option)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError("; ".join(errors))
    if origin in (list, tuple):
        (item_type, *_) = typing.get_args(annotation) or (Any,)
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
        coerced = [_coerce(name, item, item_type) for item in items]
        return coerced if origin is list else tuple(coerced)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {value!r}")
        return value
    if annotation is Any:
        return value
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{name}: expected true/false, got {value!r}")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(f"{name}: expected an integer, got {value!r}")
        try:
            return int(value)
        except ValueError as error:
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from error
    if annotation is float:
        if isinstance(value, bool):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{name}: expected a number, got {value!r}") from error
    if annotation is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{name}: expected a string, got {value!r}")
        return str(value)
    if annotation is Path:
        return Path(str(value))
    raise ConfigError(f"{name}: unsupported field type {annotation!r}")
