"""A job's events as the socket sees them, shared by the chat turn's relay and a comparison's.

The events come through a broker subscription: waiting for them holds no Redis connection
(one reader per process serves every socket, ``attune/broker/redis_events.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from attune.contract import DoneEvent, EmotionEvent, ErrorEvent, TokenEvent
from attune.observability import ERRORS
from backend.deps import AppState
from backend.frames import EmotionFrame, ErrorFrame, ServerFrameT, TokenFrame

Send = Callable[[ServerFrameT], Awaitable[None]]  # sends one frame (backend/frames.py) to the client
Event = EmotionEvent | TokenEvent | DoneEvent | ErrorEvent
EVENT_POLL_MS = 2000  # how often a relay with nothing to send checks the first-token timeout


async def job_events(state: AppState, job_id: str, after: str = "0") -> AsyncIterator[tuple[str | None, Event]]:
    """The job's events after ``after``, up to and including its ``done`` or ``error``.

    When no event comes for ``first_token_timeout_s`` it ends with an error of its own (event id None).
    Iterate it inside ``contextlib.aclosing`` so a relay that stops early frees its subscription.
    """
    async with state.broker.subscribe_events(job_id, after) as subscription:
        waited_since = time.monotonic()
        while True:
            events = await subscription.next(EVENT_POLL_MS)
            if not events:
                if time.monotonic() - waited_since > state.settings.first_token_timeout_s:
                    message = "No worker answered in time; your message is saved, try again later."
                    yield None, ErrorEvent(job_id=job_id, code="generation_failed", message=message)
                    return
                continue
            waited_since = time.monotonic()
            for event_id, event in events:
                if isinstance(event, ErrorEvent):
                    ERRORS.labels(process="backend", code=event.code).inc()
                yield event_id, event
                if isinstance(event, DoneEvent | ErrorEvent):
                    return


def event_frame(
    job_id: str, message_id: int, event_id: str | None, event: EmotionEvent | TokenEvent | ErrorEvent
) -> EmotionFrame | TokenFrame | ErrorFrame:
    """The socket frame of a chat turn's streamed event (a ``done`` frame is built from the stored reply instead)."""
    if isinstance(event, EmotionEvent):
        return EmotionFrame(job_id=job_id, message_id=message_id, emotion=event.emotion, event_id=event_id)
    if isinstance(event, TokenEvent):
        return TokenFrame(job_id=job_id, index=event.index, text=event.text, event_id=event_id)
    return ErrorFrame(code=event.code, message=event.message, job_id=job_id, event_id=event_id)
