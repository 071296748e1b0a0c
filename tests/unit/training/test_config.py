"""Config validation: every shipped config loads, and a bad key or value is an error that names it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from training.cli import RECIPES
from training.common.config import ConfigError, load_config
from training.common.paths import CONFIGS_DIR, configs_dir

SHIPPED = [(recipe, path) for recipe in sorted(RECIPES) for path in sorted(configs_dir(recipe).glob("*.toml"))]


@dataclass
class Spelled:
    name: str
    limit: int | None = None
    note: str | None = "kept"
    tags: list[str] = field(default_factory=list)
    files: tuple[str, ...] = ()
    out_dir: Path = Path("out")
    fp16: bool = False


def test_every_config_folder_belongs_to_a_recipe() -> None:
    folders = {path.name for path in CONFIGS_DIR.iterdir() if path.is_dir()}
    assert folders <= {configs_dir(recipe).name for recipe in RECIPES}
    assert {path.parent.name for _, path in SHIPPED} == folders


@pytest.mark.parametrize(("recipe", "path"), SHIPPED, ids=[f"{r}/{p.stem}" for r, p in SHIPPED])
def test_every_shipped_config_loads(recipe: str, path: Path) -> None:
    cls = importlib.import_module(RECIPES[recipe]).Config
    assert isinstance(load_config(cls, path), cls)


def test_an_unknown_key_in_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('name = "x"\nlimt = 3\n')
    with pytest.raises(ConfigError, match=r"unknown config field\(s\) \['limt'\] for Spelled"):
        load_config(Spelled, tmp_path / "c.toml")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("limit=many", r"limit = 'many': Input should be a valid integer"),
        ("tags=[1]", r"tags\.0 = 1: Input should be a valid string"),
        ("fp16=maybe", r"fp16 = 'maybe': Input should be a valid boolean"),
    ],
)
def test_a_wrong_type_is_an_error_naming_the_key_and_the_value(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(Spelled, None, ["name=x", override])


def test_a_required_field_left_unset_is_named() -> None:
    with pytest.raises(ConfigError, match="Spelled: name is required"):
        load_config(Spelled, None)


def test_none_and_comma_lists_are_read_before_validation(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('name = "x"\nlimit = "null"\ntags = "a, b"\n')
    config = load_config(Spelled, tmp_path / "c.toml", ["note=None", "files=p.txt,q.txt", "fp16=yes"])
    assert config == Spelled(name="x", limit=None, note=None, tags=["a", "b"], files=("p.txt", "q.txt"), fp16=True)


def test_text_overrides_are_verbatim_and_paths_become_paths() -> None:
    config = load_config(Spelled, None, ["name=[1]", "out_dir=/tmp/run"])
    assert config.name == "[1]" and config.out_dir == Path("/tmp/run")
