"""A remote OpenAI-compatible chat-completions endpoint (ChatGPT, vLLM, TGI, llama.cpp server).

Streams through the same worker path as local models, so emotion, safety and persistence
apply unchanged. Options in models.toml: ``base_url``, ``model``, ``api_key_env``,
``requires_key`` (false for a local vLLM without auth), ``timeout_s``.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

import httpx

from worker.models.base import GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk


class OpenAICompatModel:
    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        self.spec = spec
        self._client: httpx.AsyncClient | None = None
        self._cancelled: set[str] = set()

    @property
    def version(self) -> str:
        return f"{self.spec.options.get('base_url')}:{self.spec.options.get('model')}"

    def load(self) -> None:
        base_url = self.spec.options.get("base_url")
        if not base_url:
            raise ModelUnavailable("set options.base_url for this remote model")
        headers = {}
        key = os.environ.get(self.spec.options.get("api_key_env", "OPENAI_API_KEY"), "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(float(self.spec.options.get("timeout_s", 120)), connect=10)
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    def unload(self) -> None:
        self._client = None  # its connections close when collected; nothing is held on the device

    def memory_bytes(self) -> int:
        return 0

    def cancel(self, request_id: str) -> None:
        self._cancelled.add(request_id)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        if self._client is None:
            raise ModelUnavailable("the remote model is not loaded")
        messages = [{"role": t.role, "content": t.content} for t in request.history]
        system = request.system_prompt
        if request.user_emotion is not None:
            feeling = f"The person seems to feel {request.user_emotion.label}; answer with warmth that fits that feeling."
            system = f"{system}\n{feeling}" if system else feeling
        if system:
            messages.insert(0, {"role": "system", "content": system})
        body = {
            "model": self.spec.options.get("model"),
            "messages": messages,
            "stream": True,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "max_tokens": request.max_new_tokens,
            "stream_options": {"include_usage": True},
        }
        finish, usage = "stop", {}
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    detail = (await response.aread()).decode(errors="replace")[:300]
                    raise ModelUnavailable(f"the endpoint answered {response.status_code}: {detail}")
                async for line in response.aiter_lines():
                    if request.request_id in self._cancelled:
                        finish = "cancelled"
                        break
                    if not line.startswith("data:") or line.strip() == "data: [DONE]":
                        continue
                    event = json.loads(line[5:])
                    usage = event.get("usage") or usage
                    for choice in event.get("choices", []):
                        text = (choice.get("delta") or {}).get("content")
                        if text:
                            yield StreamChunk(text=text)
                        if choice.get("finish_reason"):
                            finish = "length" if choice["finish_reason"] == "length" else "stop"
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"cannot reach {self.spec.options.get('base_url')}: {exc}") from exc
        finally:
            self._cancelled.discard(request.request_id)
        yield StreamChunk(
            finish_reason=finish,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )
