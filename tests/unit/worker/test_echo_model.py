"""The zero-cost echo model the fault and load tests serve: deterministic, streamed, cancellable."""

from pathlib import Path

from attune.contract import ChatTurn
from worker.models.base import GenerationRequest, LoadContext, ModelSpec
from worker.models.echo import EchoModel


def _model(words: int = 6) -> EchoModel:
    return EchoModel(
        ModelSpec(name="echo", kind="echo", options={"token_delay_s": 0, "words": words}), LoadContext(home=Path("."))
    )


def _request(text: str, **extra) -> GenerationRequest:  # type: ignore[no-untyped-def]
    return GenerationRequest(request_id="r1", history=[ChatTurn(role="user", content=text)], **extra)


async def _reply(model: EchoModel, request: GenerationRequest) -> tuple[str, str | None]:
    text, finish = "", None
    async for chunk in model.stream(request):
        text += chunk.text
        finish = chunk.finish_reason or finish
    return text, finish


async def test_the_same_message_gets_the_same_streamed_words() -> None:
    first, finish = await _reply(_model(), _request("hello there"))
    assert first == (await _reply(_model(), _request("hello there")))[0]
    assert len(first.split()) == 6 and finish == "stop"


async def test_a_continued_reply_picks_up_after_its_prefix_and_cancel_stops_it() -> None:
    model = _model()
    whole, _ = await _reply(model, _request("hi"))
    head = " ".join(whole.split()[:2])
    rest, _ = await _reply(model, _request("hi", prefix=head))
    assert head + rest == whole
    model.cancel("r1")
    cut, finish = await _reply(model, _request("hi"))
    assert cut == "" and finish == "cancelled"
