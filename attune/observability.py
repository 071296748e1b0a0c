"""Metrics and structured logs shared by the backend and the worker.

Every metric below has exactly one writer process (named in its help text), so in the
embedded mode, where backend and worker share one process and one registry, nothing is
counted twice. Each process serves the default registry: the backend at ``/metrics`` (via
``render_metrics``), the worker on its own port (via ``serve_metrics``).

Logs: ``configure_logging`` writes one JSON object per line, and every record carries the
ids bound with ``bind_log_context`` (request, session, job, worker). The backend binds
``request_id``/``session_id`` and puts ``request_id`` in the job; the worker binds the job's
``job_id``/``request_id``/``session_id`` and its ``worker_id``, so grepping one id follows a
turn across processes. Imports neither FastAPI nor torch.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import socket
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest, start_http_server

from attune.log_noise import quiet_known_noise

# Chat latencies: a cached reply lands in milliseconds, a 4-bit 8B model on CPU takes minutes.
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
_LOAD_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

ACTIVE_WEBSOCKETS = Gauge(
    "attune_websockets_active",
    "Chat WebSockets open and authenticated on this replica (backend).",
)
CHAT_TURNS = Counter(
    "attune_chat_turns_total",
    "Finished chat turns by model and outcome: complete, cancelled, safety, cached, error (backend).",
    ["model", "outcome"],
)
TIME_TO_FIRST_TOKEN = Histogram(
    "attune_time_to_first_token_seconds",
    "From enqueueing a generation job to its first token, queue wait included (backend, from the done event).",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)
REPLY_DURATION = Histogram(
    "attune_reply_duration_seconds",
    "From enqueueing a generation job to its last token (backend, from the done event).",
    ["model"],
    buckets=_LATENCY_BUCKETS,
)
GENERATED_TOKENS = Counter(
    "attune_generated_tokens_total",
    "Reply tokens generated; rate() of it is tokens per second (worker).",
    ["model"],
)
QUEUE_DEPTH = Gauge(
    "attune_queue_depth",
    "Jobs waiting in a model's stream, sampled by each worker serving it; aggregate with max (worker).",
    ["model"],
)
CACHE_REQUESTS = Counter(
    "attune_cache_requests_total",
    "Response-cache look-ups by result: hit or miss (backend).",
    ["result"],
)
MODEL_LOAD_SECONDS = Histogram(
    "attune_model_load_seconds",
    "Time to load a model's weights (worker).",
    ["model"],
    buckets=_LOAD_BUCKETS,
)
MODEL_MEMORY_BYTES = Gauge(
    "attune_model_memory_bytes",
    "Memory held by a loaded model; 0 once unloaded (worker).",
    ["model"],
)
ERRORS = Counter(
    "attune_errors_total",
    "Errors by machine-readable code and the process that raised them: error frames sent to "
    "clients (backend), error events emitted for jobs (worker).",
    ["process", "code"],
)


def render_metrics() -> tuple[bytes, str]:
    """The Prometheus exposition of this process's metrics and its content type, for a ``/metrics`` route."""
    return generate_latest(), CONTENT_TYPE_LATEST


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` from a background thread (the worker has no web framework of its own)."""
    start_http_server(port, addr=host)


# --- structured logs -----------------------------------------------------------------

LOG_CONTEXT_FIELDS = ("request_id", "session_id", "job_id", "worker_id")
_context_vars: dict[str, ContextVar[str | None]] = {
    name: ContextVar(f"attune_log_{name}", default=None) for name in LOG_CONTEXT_FIELDS
}

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged too.
_STANDARD_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "process_name",
    *LOG_CONTEXT_FIELDS,
}


def log_context() -> dict[str, str]:
    """The ids bound in the current context (unset ones left out)."""
    return {name: value for name, var in _context_vars.items() if (value := var.get()) is not None}


@contextmanager
def bind_log_context(**ids: str | int | None) -> Iterator[dict[str, str]]:
    """Attach ids to every log record written inside the block (and in tasks started from it).

    ``None`` values are ignored, so ``bind_log_context(request_id=job.request_id)`` is safe
    when the job has none. Unknown names raise ``TypeError``: a typo would silently drop an id.
    """
    unknown = set(ids) - set(LOG_CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    tokens = [
        (_context_vars[name], _context_vars[name].set(str(value))) for name, value in ids.items() if value is not None
    ]
    try:
        yield log_context()
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class _ContextFilter(logging.Filter):
    """Copies the bound ids and the process name onto each record, for any formatter to use."""

    def __init__(self, process: str) -> None:
        super().__init__()
        self._process = process

    def filter(self, record: logging.LogRecord) -> bool:
        record.process_name = self._process
        for name, var in _context_vars.items():
            setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process, the bound ids and any ``extra``."""

    def __init__(self) -> None:
        super().__init__()
        self._host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": getattr(record, "process_name", None),
            "host": self._host,
            "pid": record.process,
        }
        for name in LOG_CONTEXT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted, so redirections made later still apply."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


# A query parameter's value inside a request line: "?token=abc&x=1" keeps its names, not values.
_QUERY_VALUE = re.compile(r"([?&][^=&\s\"'#]*=)[^&\s\"'#]*")


class _ScrubQueryStrings(logging.Filter):
    """Removes query-string values from the server's access and connection logs.

    A token sent in ``?token=`` (refused, but sent), a journal search in ``?q=``: none of it
    belongs in a log file.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY_VALUE.sub(r"\1[scrubbed]", message), None
        return True


_TEXT_FORMAT = "%(asctime)s %(levelname)s %(process_name)s %(name)s [req=%(request_id)s job=%(job_id)s] %(message)s"


def configure_logging(process: str, json: bool, level: str | int = "INFO") -> None:
    """Send every log record of this process to stderr, as JSON lines or readable text.

    ``process`` names the process in each record ("backend", "worker", "embedded"); ``level``
    comes from the process's settings. Uvicorn's loggers are routed through the same
    handler, so run uvicorn with ``log_config=None`` to keep its access log structured too.
    """
    handler = _StderrHandler()
    handler.addFilter(_ContextFilter(process))
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    quiet_known_noise()
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        if not any(isinstance(f, _ScrubQueryStrings) for f in uvicorn_logger.filters):
            uvicorn_logger.addFilter(_ScrubQueryStrings())
