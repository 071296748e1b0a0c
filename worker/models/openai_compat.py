"""A remote OpenAI-compatible chat-completions endpoint (ChatGPT, vLLM, TGI, llama.cpp server).

It streams through the same worker path as local models, so emotion, safety, cancel, cache
and persistence apply unchanged. Options in models.toml:

    base_url         e.g. https://api.openai.com/v1 or http://vllm.internal:8000/v1
    model            the endpoint's model name
    api_key_env      the environment variable holding the key (default OPENAI_API_KEY)
    requires_key     false for an endpoint without auth (a local vLLM or llama.cpp server)
    timeout_s        longest wait for the next byte of the stream (default 60)
    connect_timeout_s  (default 10)
    max_concurrency  requests in flight to this endpoint from one worker (default 8)
    max_retries      retries of a request that failed before anything streamed (default 2)
    max_retry_wait_s longest Retry-After honoured; a longer one fails at once (default 20)

Failures become ``GenerationFailed`` with a code the client sees: ``remote_auth`` (401/403),
``remote_rate_limited`` (429), ``remote_rejected`` (other 4xx), ``remote_unavailable`` (5xx or
unreachable), ``remote_timeout`` and ``remote_stream_cut`` (the stream broke mid-reply). Only a
request that has streamed nothing is retried, so a reply is never duplicated. The key is sent
in the Authorization header only: it is scrubbed from every message this module produces.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from worker.models.base import (
    GenerationFailed,
    GenerationRequest,
    LoadContext,
    ModelSpec,
    ModelUnavailable,
    StreamChunk,
)

log = logging.getLogger(__name__)

RETRY_BASE_S = 0.5
_BEARER_LIKE = re.compile(r"(sk-|Bearer\s+)[A-Za-z0-9._\-]{4,}")


def error_for_status(status: int, detail: str, retry_after_s: float | None) -> GenerationFailed:
    """The client-facing error for an HTTP status from the endpoint."""
    if status in (401, 403):
        return GenerationFailed(
            "remote_auth", f"The remote model refused the credentials ({status}); check its API key."
        )
    if status == 429:
        wait = f" Retry after {retry_after_s:g} s." if retry_after_s is not None else ""
        return GenerationFailed("remote_rate_limited", f"The remote model is rate-limited (429).{wait}", retry_after_s)
    if status >= 500 or status in (408, 409):  # a timeout or conflict on its side: worth a retry
        return GenerationFailed("remote_unavailable", f"The remote model failed ({status}): {detail}")
    return GenerationFailed("remote_rejected", f"The remote model rejected the request ({status}): {detail}")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds; None for a date or nothing."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class OpenAICompatModel:
    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        options = spec.options
        self._base_url = str(options.get("base_url") or "")
        self._model_name = options.get("model")
        self._key_env = str(options.get("api_key_env", "OPENAI_API_KEY"))
        self._read_timeout = float(options.get("timeout_s", 60))
        self._connect_timeout = float(options.get("connect_timeout_s", 10))
        self._max_retries = int(options.get("max_retries", 2))
        self._max_retry_wait = float(options.get("max_retry_wait_s", 20))
        self._slots = asyncio.Semaphore(int(options.get("max_concurrency", 8)))
        self._client: httpx.AsyncClient | None = None
        self._key = ""
        self._cancelled: set[str] = set()

    @property
    def version(self) -> str:
        return f"{self._base_url}:{self._model_name}"

    def load(self) -> None:
        if not self._base_url:
            raise ModelUnavailable("set options.base_url for this remote model")
        self._key = os.environ.get(self._key_env, "")
        if self.spec.options.get("requires_key", True) and not self._key:
            raise ModelUnavailable(f"set {self._key_env} to use this remote model")
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = httpx.Timeout(self._read_timeout, connect=self._connect_timeout)
        self._client = httpx.AsyncClient(base_url=self._base_url, headers=headers, timeout=timeout)

    def unload(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                asyncio.get_running_loop().create_task(client.aclose())
            except RuntimeError:  # no loop (unloaded from a thread): the pool closes when collected
                pass

    def memory_bytes(self) -> int:
        return 0

    def cancel(self, request_id: str) -> None:
        self._cancelled.add(request_id)

    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "[redacted]")
        return _BEARER_LIKE.sub(r"\1[redacted]", text)

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        messages = [{"role": t.role, "content": t.content} for t in request.history]
        system = request.system_prompt
        if request.user_emotion is not None:
            feeling = (
                f"The person seems to feel {request.user_emotion.label}; answer with warmth that fits that feeling."
            )
            system = f"{system}\n{feeling}" if system else feeling
        if system:
            messages.insert(0, {"role": "system", "content": system})
        if request.prefix:  # a worker died mid-reply: ask for the rest of it
            messages.append({"role": "assistant", "content": request.prefix})
        body: dict[str, Any] = {
            "model": self._model_name,
            "messages": messages,
            "stream": True,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_new_tokens,
            "stream_options": {"include_usage": True},
        }
        if request.seed is not None:
            body["seed"] = request.seed
        return body

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        if self._client is None:
            raise ModelUnavailable("the remote model is not loaded")
        async with self._slots:
            try:
                attempt = 0
                while True:
                    streamed = False
                    try:
                        async for chunk in self._stream_once(request):
                            streamed = True
                            yield chunk
                        return
                    except GenerationFailed as failure:
                        if streamed or not self._should_retry(failure, attempt):
                            raise
                        wait = failure.retry_after_s
                        if wait is None:
                            wait = RETRY_BASE_S * 2**attempt * (1 + random.random() / 2)
                        attempt += 1
                        log.warning("%s: %s; retry %d in %.1f s", self.spec.name, failure.code, attempt, wait)
                        await asyncio.sleep(wait)
            finally:
                self._cancelled.discard(request.request_id)

    def _should_retry(self, failure: GenerationFailed, attempt: int) -> bool:
        if attempt >= self._max_retries or failure.code not in (
            "remote_unavailable",
            "remote_rate_limited",
            "remote_timeout",
        ):
            return False
        return failure.retry_after_s is None or failure.retry_after_s <= self._max_retry_wait

    async def _stream_once(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        """One HTTP request; raises GenerationFailed, having yielded nothing when it is retryable."""
        assert self._client is not None
        finish, usage, yielded, ended = "stop", {}, False, False
        deltas = 0
        try:
            async with self._client.stream("POST", "chat/completions", json=self._body(request)) as response:
                if response.status_code >= 400:
                    detail = self._scrub((await response.aread()).decode(errors="replace")[:300])
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    raise error_for_status(response.status_code, detail, retry_after)
                async for line in response.aiter_lines():
                    if request.request_id in self._cancelled:
                        finish = "cancelled"
                        break  # leaving the block closes the connection, which stops the server's generation
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        ended = True
                        break
                    event = json.loads(data)
                    if "error" in event:
                        raise GenerationFailed(
                            "remote_stream_cut" if yielded else "remote_unavailable",
                            self._scrub(f"The remote model reported an error: {event['error']}"),
                        )
                    usage = event.get("usage") or usage
                    for choice in event.get("choices", []):
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yielded = True
                            deltas += 1
                            yield StreamChunk(text=text)
                        if choice.get("finish_reason"):
                            ended = True
                            finish = "length" if choice["finish_reason"] == "length" else "stop"
                if not ended and finish != "cancelled":
                    raise GenerationFailed(
                        "remote_stream_cut" if yielded else "remote_unavailable",
                        "The remote model's stream ended before the reply did; send the message again to retry.",
                    )
        except httpx.TimeoutException as exc:
            code = "remote_stream_cut" if yielded else "remote_timeout"
            raise GenerationFailed(
                code, f"The remote model did not answer within {self._read_timeout:g} s ({type(exc).__name__})."
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if yielded:
                raise GenerationFailed(
                    "remote_stream_cut",
                    "The remote model's stream broke off mid-reply; send the message again to retry.",
                ) from None
            raise GenerationFailed(
                "remote_unavailable", self._scrub(f"Cannot reach the remote model: {type(exc).__name__}.")
            ) from None
        except httpx.HTTPError as exc:
            raise GenerationFailed(
                "remote_unavailable", self._scrub(f"Cannot reach the remote model: {type(exc).__name__}: {exc}")
            ) from None
        except json.JSONDecodeError:
            raise GenerationFailed(
                "remote_stream_cut" if yielded else "remote_unavailable",
                "The remote model sent a malformed stream event.",
            ) from None
        yield StreamChunk(
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            # Servers that ignore stream_options.include_usage (llama.cpp's) send one token per delta.
            completion_tokens=int(usage.get("completion_tokens", deltas)),
        )
