"""Checks every continuous batching engine must pass, whatever runs its forward pass."""

from __future__ import annotations

import pytest

from worker.engine import EngineOutput, SamplingParams
from worker.models.base import ModelBusy

# Prompts of very different lengths, so requests join and leave the batch at different steps.
QUESTIONS = [
    "hi",
    "I could not sleep at all last night and I keep worrying about work.",
    "Why?",
    "My sister moved abroad and the house feels empty; I miss our evening walks a lot.",
    "Thanks for listening to me today, it helped more than I expected.",
]


async def check_model_busy_when_full(model, request) -> None:
    """``model`` (loaded, one slot, no queue) refuses a second reply while the first runs, then cancels it.

    ``request(request_id, **fields)`` builds a chat request."""
    first = model.stream(request("one", max_new_tokens=300))
    await first.__anext__()
    with pytest.raises(ModelBusy):
        await model.stream(request("two")).__anext__()
    model.cancel("one")
    assert [chunk async for chunk in first][-1].finish_reason == "cancelled"


async def collect(stream) -> tuple[str, EngineOutput]:
    text = ""
    async for output in stream:
        text += output.text
        if output.finish_reason:
            return text, output
    raise AssertionError("the stream ended without a finish reason")


async def check_busy_beyond_batch_and_queue(engine, ids: list[int]) -> None:
    """``engine`` has one slot and a queue of one: a third request is refused until a slot frees."""
    try:
        forever = SamplingParams(temperature=0.0, max_new_tokens=200)
        first, second = engine.submit("a", ids, forever), engine.submit("b", ids, forever)
        with pytest.raises(ModelBusy):
            engine.submit("c", ids, forever)
        engine.cancel("a")
        assert (await collect(first))[1].finish_reason == "cancelled"
        third = engine.submit("c", ids, SamplingParams(temperature=0.0, max_new_tokens=4))  # a slot is free again
        engine.cancel("b")
        assert (await collect(second))[1].finish_reason == "cancelled"
        assert (await collect(third))[1].finish_reason in {"stop", "length"}
    finally:
        engine.shutdown()


async def check_cancel_mid_reply(model, request, after_chunks: int) -> None:
    """``model`` streams ``request`` (asking for a long reply) and is cancelled after ``after_chunks``
    chunks: the stream ends ``cancelled`` within a few tokens."""
    chunks = []
    async for chunk in model.stream(request):
        chunks.append(chunk)
        if len(chunks) == after_chunks:
            model.cancel(request.request_id)
    assert chunks[-1].finish_reason == "cancelled"
    assert chunks[-1].completion_tokens < 20
