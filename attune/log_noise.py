"""Third-party lines that make ``attune serve``'s terminal look broken, silenced or relabelled at their source.

Each filter matches one logger (or warning category) and one message, so everything else those
libraries say, errors included, still shows. ``configure_logging`` installs them.
"""

from __future__ import annotations

import logging
import warnings

# bitsandbytes tries the optional ``kernels`` package for a faster CPU 4-bit matmul at import and
# asks the user to install it; without it bitsandbytes uses its own kernel, which is what we ship.
KERNELS_LOGGER = "bitsandbytes.backends.cpu.ops"
KERNELS_MESSAGE = "Failed to load CPU gemm_4bit_forward from kernels-community"

# uvicorn logs each WebSocket handshake under ``uvicorn.error``; they are access lines, not errors.
WEBSOCKET_LOGGER = "uvicorn.error"
WEBSOCKET_ACCESS_LOGGER = "uvicorn.websocket"
_WEBSOCKET_HANDSHAKES = frozenset({'%s - "WebSocket %s" [accepted]', '%s - "WebSocket %s" 403'})
# The websockets library's own lines for the same sockets, naming no client: pure repetition.
_WEBSOCKET_CHATTER = frozenset({"connection open", "connection closed"})

# Alembic announces each of its built-in plugins at INFO every time it loads (migrate, create-admin).
ALEMBIC_PLUGINS_LOGGER = "alembic.runtime.plugins"

# transformers ≥ 5 renamed ``past_key_values`` to ``cache``; we still pass the old name because the
# supported range starts at 4.46, which only knows it. When it is removed the message changes and shows.
PAST_KEY_VALUES_WARNING = (
    r"`past_key_values` is deprecated and will be removed in version [\d.]+ for `[\w.]+`\. Use `cache` instead\."
)


class _MissingKernelsPackage(logging.Filter):
    """Drops the advice only when ``kernels`` is not installed; a ``kernels`` that fails to load still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not (isinstance(record.msg, str) and record.msg.startswith(KERNELS_MESSAGE)):
            return True
        error = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return not (isinstance(error, ModuleNotFoundError) and error.name == "kernels")


class _WebSocketAccess(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _WEBSOCKET_CHATTER:
            return False
        if record.msg in _WEBSOCKET_HANDSHAKES:
            record.name = WEBSOCKET_ACCESS_LOGGER
        return True


def _add_once(logger_name: str, kind: type[logging.Filter]) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, kind) for existing in logger.filters):
        # First, so it sees the record before another filter rewrites its message.
        logger.filters.insert(0, kind())


def quiet_known_noise() -> None:
    _add_once(KERNELS_LOGGER, _MissingKernelsPackage)
    _add_once(WEBSOCKET_LOGGER, _WebSocketAccess)
    logging.getLogger(ALEMBIC_PLUGINS_LOGGER).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=PAST_KEY_VALUES_WARNING, category=FutureWarning)
