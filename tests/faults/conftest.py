"""The production topology for the fault, load and hostile-input suite (tests/faults/stack.py):
a fresh PostgreSQL database, one Redis database index, two ``attune api`` replicas and two
``attune worker`` processes serving the zero-cost ``echo`` model, each a real subprocess
logging under test-output/faults/. Started once for every test in this folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import FaultStack, fresh_database, running_stack


@pytest.fixture(scope="package")
def fault_database() -> Iterator[str]:
    with fresh_database() as dsn:
        yield dsn


@pytest.fixture(scope="package")
def fault_stack(fault_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    with running_stack(fault_database, tmp_path_factory.mktemp("faults")) as stack:
        yield stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``runs_last`` tests (schemathesis, whose admin calls change settings) after the folder's
    others, not after the whole session's: the stack is torn down when the folder ends."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in item.path.parents]
    ordered = sorted((items[i] for i in slots), key=lambda item: item.get_closest_marker("runs_last") is not None)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item
