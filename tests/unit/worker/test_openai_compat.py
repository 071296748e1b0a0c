"""The remote kind's retry and error rules, on scripted HTTP answers (the real server is in
tests/integration/test_remote_model.py): 429 honours Retry-After, nothing is retried once text
has streamed, and the key never appears in an error."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from attune.contract import ChatTurn
from worker.models.base import GenerationFailed, GenerationRequest, LoadContext, ModelSpec, ModelUnavailable
from worker.models.openai_compat import OpenAICompatModel

KEY = "sk-unit-test-secret-key-123456"


def sse(*texts: str, finish: bool = True) -> bytes:
    events = [{"choices": [{"delta": {"content": t}, "finish_reason": None}]} for t in texts]
    if finish:
        events.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    lines = [f"data: {json.dumps(e)}\n\n" for e in events] + (["data: [DONE]\n\n"] if finish else [])
    return "".join(lines).encode()


def remote(
    monkeypatch: pytest.MonkeyPatch, tmp_path, handler: Callable[[httpx.Request], httpx.Response], **options
) -> OpenAICompatModel:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("UNIT_REMOTE_KEY", KEY)
    spec = ModelSpec(
        name="remote",
        kind="openai",
        options={
            "base_url": "http://remote.test/v1",
            "model": "m",
            "api_key_env": "UNIT_REMOTE_KEY",
            "max_retry_wait_s": 1,
            **options,
        },
    )
    model = OpenAICompatModel(spec, LoadContext(home=tmp_path))
    model.load()
    assert model._client is not None
    model._client = httpx.AsyncClient(
        base_url="http://remote.test/v1", transport=httpx.MockTransport(handler), headers=model._client.headers
    )
    return model


async def reply(model: OpenAICompatModel) -> tuple[str, list]:  # type: ignore[type-arg]
    chunks = [c async for c in model.stream(GenerationRequest("r1", history=[ChatTurn(role="user", content="hi")]))]
    return "".join(c.text for c in chunks), chunks


async def test_a_429_with_retry_after_is_retried_then_streams(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "slow down"})
        return httpx.Response(200, content=sse("Hello", " there"))

    text, chunks = await reply(remote(monkeypatch, tmp_path, handler))
    assert text == "Hello there" and chunks[-1].finish_reason == "stop" and len(calls) == 2
    assert calls[0].headers["authorization"] == f"Bearer {KEY}"
    assert chunks[-1].completion_tokens == 2, "one token per delta when the server reports no usage"


async def test_a_long_retry_after_fails_at_once_with_its_code(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = remote(monkeypatch, tmp_path, lambda r: httpx.Response(429, headers={"Retry-After": "120"}, text="quota"))
    with pytest.raises(GenerationFailed) as failure:
        await reply(model)
    assert failure.value.code == "remote_rate_limited" and "120" in failure.value.message


async def test_5xx_is_retried_up_to_the_limit(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, text="overloaded")

    with pytest.raises(GenerationFailed) as failure:
        await reply(remote(monkeypatch, tmp_path, handler, max_retries=2))
    assert failure.value.code == "remote_unavailable" and len(calls) == 3


async def test_a_stream_cut_after_text_is_not_retried(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, content=sse("Partial", finish=False))

    model = remote(monkeypatch, tmp_path, handler)
    seen = []
    with pytest.raises(GenerationFailed) as failure:
        async for chunk in model.stream(GenerationRequest("r2", history=[ChatTurn(role="user", content="hi")])):
            seen.append(chunk.text)
    assert failure.value.code == "remote_stream_cut" and seen == ["Partial"] and len(calls) == 1


async def test_errors_never_carry_the_key(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = {"error": {"message": f"Incorrect API key provided: {KEY}. Also Bearer abcdefghijkl."}}
    for status, code in ((401, "remote_auth"), (400, "remote_rejected"), (500, "remote_unavailable")):
        model = remote(monkeypatch, tmp_path, lambda r, s=status: httpx.Response(s, json=body), max_retries=0)
        with pytest.raises(GenerationFailed) as failure:
            await reply(model)
        assert failure.value.code == code
        assert KEY not in failure.value.message and "abcdefghijkl" not in failure.value.message


def test_a_missing_key_makes_the_model_unavailable_naming_the_variable(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("UNIT_MISSING_KEY", raising=False)
    spec = ModelSpec(
        name="chatgpt", kind="openai", options={"base_url": "http://x/v1", "api_key_env": "UNIT_MISSING_KEY"}
    )
    with pytest.raises(ModelUnavailable, match="set UNIT_MISSING_KEY"):
        OpenAICompatModel(spec, LoadContext(home=tmp_path)).load()
