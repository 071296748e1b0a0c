"""The known third-party noise on ``attune serve``'s terminal is filtered at its source, and nothing else is."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from attune.log_noise import ALEMBIC_PLUGINS_LOGGER, KERNELS_LOGGER, KERNELS_MESSAGE
from attune.observability import configure_logging

REPO = Path(__file__).resolve().parents[3]
KERNELS_TEMPLATE = (
    KERNELS_MESSAGE + ": %s. Please make sure you already `pip install kernels` and the kernels >= 0.11.1"
)


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None, reason="bitsandbytes is not installed")
def test_importing_bitsandbytes_under_the_service_logging_does_not_ask_for_the_kernels_package() -> None:
    script = "from attune.observability import configure_logging; configure_logging('worker', json=False); import bitsandbytes"
    result = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    assert "kernels" not in result.stderr


def test_a_kernels_package_that_fails_to_load_is_still_reported(json_logs) -> None:
    logger = logging.getLogger(KERNELS_LOGGER)
    logger.warning(KERNELS_TEMPLATE, ModuleNotFoundError("No module named 'kernels'", name="kernels"))
    logger.warning(KERNELS_TEMPLATE, ImportError("kernels 0.10 is too old"))
    logger.warning("something else went wrong")
    assert [record["message"] for record in json_logs()] == [
        KERNELS_TEMPLATE % "kernels 0.10 is too old",
        "something else went wrong",
    ]


def test_websocket_handshakes_are_access_lines_and_server_errors_stay_errors(json_logs) -> None:
    logger = logging.getLogger("uvicorn.error")
    logger.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:50412", "/ws/chat/abc?token=secret")
    logger.info("connection open")
    logger.info("connection closed")
    logger.error("ASGI callable returned without sending handshake.")
    records = [(record["logger"], record["message"]) for record in json_logs()]
    assert records == [
        ("uvicorn.websocket", '127.0.0.1:50412 - "WebSocket /ws/chat/abc?token=[scrubbed]" [accepted]'),
        ("uvicorn.error", "ASGI callable returned without sending handshake."),
    ]


def test_alembic_no_longer_announces_its_plugins_but_still_reports_migrations(json_logs) -> None:
    from alembic.runtime.plugins import Plugin

    Plugin("attune-test-plugin").remove()
    logging.getLogger("alembic.runtime.migration").info("Running upgrade  -> 2026_01_01")
    assert [record["logger"] for record in json_logs()] == ["alembic.runtime.migration"]
    assert logging.getLogger(ALEMBIC_PLUGINS_LOGGER).isEnabledFor(logging.WARNING)


def _rename_warning(when: str) -> str:
    return f"`past_key_values` is deprecated {when} for `LlamaForCausalLM.forward`. Use `cache` instead."


def test_the_past_key_values_rename_warning_is_ignored_and_its_removal_is_not(json_logs) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        configure_logging("worker", json=True)
        warnings.warn(_rename_warning("and will be removed in version 5.40.0"), FutureWarning, stacklevel=1)
        warnings.warn(_rename_warning("and removed starting from version 5.40.0"), FutureWarning, stacklevel=1)
    assert [str(warning.message) for warning in caught] == [_rename_warning("and removed starting from version 5.40.0")]
