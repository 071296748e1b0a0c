from __future__ import annotations

import json
import logging

import pytest

from attune.observability import configure_logging


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]):
    """Configure JSON logging for the test and return a reader of the records written so far."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("worker", json=True)

    def records() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]

    yield records
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
