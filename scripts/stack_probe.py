"""``attune api|worker ...`` with timestamps at each step of a chat turn, for scripts/bench_stack.py --profile.

    python scripts/stack_probe.py api --port 8001      # as ``attune api --port 8001``

Wraps the functions a turn passes through (nothing else changes) and appends one JSON line,
``[time.time(), mark]``, per step to ``$ATTUNE_PROBE_FILE``. Marks are named after the process
(``api.*``, ``worker.*``); the benchmark lines them up with the client's send times (one turn
at a time, N=1). Each mark costs one small ``write``: a few microseconds. Never use in production.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

_FD = os.open(os.environ["ATTUNE_PROBE_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def mark(name: str) -> None:
    os.write(_FD, (json.dumps([time.time(), name]) + "\n").encode())


def _after(owner: Any, name: str, label: str, when=None) -> None:
    """``label`` once ``owner.name`` (a coroutine function) returned (and ``when(result, args)`` holds)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        if when is None or when(result, args):
            mark(label)
        return result

    setattr(owner, name, wrapper)


def _before(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        mark(label)
        return await original(*args, **kwargs)

    setattr(owner, name, wrapper)


def probe_api() -> None:
    from attune.broker import redis_events
    from attune.broker.redis_streams import RedisBroker
    from backend import crud
    from backend.api.routes import chat_ws
    from backend.chat import turn
    from backend.rate_limit import FrameLimiter

    _before(FrameLimiter, "allow", "api.frame")
    _after(FrameLimiter, "allow", "api.limited")
    _before(chat_ws.ChatConnection, "turn", "api.turn")
    _after(turn, "_chat_model", "api.model")
    _after(crud, "store_user_message", "api.stored")
    _after(crud, "turn_context", "api.history")
    _after(turn, "_cached", "api.cache")
    _after(RedisBroker, "lease_turn", "api.leased")
    _after(crud, "set_job_id", "api.job_id")
    _after(RedisBroker, "enqueue", "api.enqueued")

    send = chat_ws.ChatConnection.send

    async def sent(self: Any, frame: Any) -> None:
        await send(self, frame)
        kind = getattr(frame, "type", "")
        if kind == "ack":
            mark("api.ack")
        elif kind == "token":
            mark("api.token_sent")

    chat_ws.ChatConnection.send = sent  # type: ignore[method-assign]

    dispatch = redis_events.EventHub._dispatch

    def dispatched(self: Any, reply: list) -> None:  # type: ignore[type-arg]
        if any(stream != self._wake_stream for stream, _entries in reply):
            mark("api.dispatched")
        dispatch(self, reply)

    redis_events.EventHub._dispatch = dispatched  # type: ignore[method-assign]


def probe_worker() -> None:
    from attune.broker.redis_streams import RedisBroker
    from attune.contract import TokenEvent
    from worker import pipeline, runner
    from worker.emotion import EmotionReader
    from worker.safety import SafetyFilter

    _after(RedisBroker, "claim", "worker.claimed", when=lambda result, _args: bool(result))
    _before(runner.Runner, "_run_job", "worker.job")
    _after(EmotionReader, "read", "worker.emotion")
    _before(pipeline, "_emit_text", "worker.first_text")
    _after(RedisBroker, "publish", "worker.published", when=lambda _result, args: isinstance(args[2], TokenEvent))

    check_user = SafetyFilter.check_user

    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = check_user(self, *args, **kwargs)
        mark("worker.checked")
        return result

    SafetyFilter.check_user = checked  # type: ignore[method-assign]


def main() -> int:
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role == "api":
        probe_api()
    elif role == "worker":
        probe_worker()
    from attune.cli import main as attune_main

    return attune_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
