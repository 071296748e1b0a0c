"""Kind ``qwen_heads``: a causal LM + LoRA adapter whose EmotionHead and StrategyHead plan each reply.

Decoding takes two steps and a check:

1. plan: the heads read the conversation (pooled last hidden states of the prompt) and pick the
   emotion to answer and the support strategy; the user's classified emotion
   (``request.user_emotion``) is blended into the emotion pick;
2. generate: the reply is decoded by the continuous-batching engine after the plan's style
   tokens (``<emo:sad><strat:reflection>``), which the adapter was trained to follow;
3. reflect: the heads read the draft alone; if the planned strategy or emotion is not among
   their ``reflection_top_k`` guesses for it (or the worker's safety filter, handed in as
   ``LoadContext.reply_check``, flags the draft), the reply is generated once more with a
   stricter system prompt, and that second draft is final.

The artifact (from ``training/recipes/qwen_empathetic.py``) is the registry entry's ``adapter``
directory: the PEFT adapter, the tokenizer with the style tokens, ``heads.pt`` and
``head_labels.json``; ``weights`` is the base (hub id, directory, or GGUF via ``options.gguf_file``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.models.base import GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk
from worker.models.causal_lm import CausalLM, artifact_tokenizer, load_pretrained
from worker.models.emotion_map import affinity
from worker.models.heads import conversation_start, end_of_turn_ids

STRATEGY_GUIDANCE = {
    "Question": "ask one gentle, open question",
    "Restatement or Paraphrasing": "restate what they said in your own words",
    "Reflection of feelings": "name and reflect the feeling they describe",
    "Self-disclosure": "share a brief, relevant experience of your own",
    "Affirmation and Reassurance": "affirm their strengths and reassure them",
    "Providing Suggestions": "offer one concrete, kind suggestion",
    "Information": "give one piece of useful, accurate information",
    "Others": "respond warmly and naturally",
}


@dataclass(frozen=True)
class Plan:
    emotion: str
    strategy: str


@dataclass
class Draft:
    deltas: list[str]
    token_ids: list[int]
    finish_reason: str
    prompt_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.deltas)


class QwenHeadsModel(CausalLM):
    """A ChatModel for kind ``qwen_heads``; loading, prompts and batching are the CausalLM's."""

    def __init__(self, spec: ModelSpec, context: LoadContext) -> None:
        super().__init__(spec, context)
        self._heads: Any = None
        self._style_token_ids: tuple[int, ...] = ()
        self._end_of_turn_ids: frozenset[int] = frozenset()
        self._forward_lock = threading.Lock()

    def _load_weights(self) -> tuple[Any, Any]:
        model, tokenizer, heads = load_with_heads(self.spec, self.context)
        self._heads = heads
        self._style_token_ids = tuple(tokenizer.convert_tokens_to_ids(heads.labels.style_tokens))
        self._end_of_turn_ids = end_of_turn_ids(tokenizer)
        return model, tokenizer

    def unload(self) -> None:
        self._heads = None
        super().unload()

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        if self._engine is None:
            await asyncio.to_thread(self.load)
        # The style tokens condition the reply; the model must never write them into it.
        sampling = dataclasses.replace(self.sampling_params(request), suppressed_ids=self._style_token_ids)
        prompt = self.prompt_ids(request, sampling.max_new_tokens)
        plan = await asyncio.to_thread(self.plan, prompt, request)
        draft = await self._generate(f"{request.request_id}", prompt, plan, sampling)
        reflection = "accepted"
        if draft.finish_reason != "cancelled" and await asyncio.to_thread(self.needs_rewrite, prompt, draft, plan):
            stricter = dataclasses.replace(request, system_prompt=self._stricter_system_prompt(request, plan))
            retry_prompt = self.prompt_ids(stricter, sampling.max_new_tokens)
            draft = await self._generate(f"{request.request_id}:retry", retry_prompt, plan, sampling)
            reflection = "regenerated"
        # The reply is only streamed once reflection has accepted it, so a rejected draft never reaches
        # the user; the deltas are still the engine's own, one per decoded token.
        extras = {"emotion": plan.emotion, "strategy": plan.strategy, "reflection": reflection}
        for delta in draft.deltas:
            if delta:
                yield StreamChunk(text=delta)
        yield StreamChunk(
            finish_reason=draft.finish_reason,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=len(draft.token_ids),
            extras=extras,
        )

    def cancel(self, request_id: str) -> None:
        super().cancel(request_id)
        super().cancel(f"{request_id}:retry")

    def plan(self, prompt: list[int], request: GenerationRequest) -> Plan:
        """Step 1: the heads' emotion (blended with the user's classified emotion) and strategy."""
        emotion_probs, strategy_probs = self.planning_probabilities(prompt)
        labels = self._heads.labels
        if request.user_emotion is not None:
            fit = affinity(request.user_emotion.scores)
            total = sum(fit.get(label, 0.0) for label in labels.emotions)
            if total > 0:
                weight = float(self.spec.options.get("user_emotion_weight", 0.5))
                emotion_probs = [
                    (1 - weight) * p + weight * fit.get(label, 0.0) / total
                    for p, label in zip(emotion_probs, labels.emotions)
                ]
        return Plan(
            emotion=labels.emotions[_argmax(emotion_probs)], strategy=labels.strategies[_argmax(strategy_probs)]
        )

    def needs_rewrite(self, prompt: list[int], draft: Draft, plan: Plan) -> bool:
        """Reflection: does the draft contradict the plan, or does the safety filter flag it?"""
        if self.context.reply_check is not None:
            verdict = self.context.reply_check.check_reply(draft.text)
            if verdict.crisis or verdict.toxic:
                return True
        reply_ids = [t for t in draft.token_ids if t not in self._engine.stop_token_ids]
        if not reply_ids:
            return True
        emotion_probs, strategy_probs = self.head_probabilities(
            prompt + reply_ids, reply_start=len(prompt), heads=self._heads.reflection
        )
        labels, top_k = self._heads.labels, int(self.spec.options.get("reflection_top_k", 3))
        emotion_ok = labels.emotions.index(plan.emotion) in _top_k(emotion_probs, top_k)
        strategy_ok = labels.strategies.index(plan.strategy) in _top_k(strategy_probs, top_k)
        return not (emotion_ok and strategy_ok)

    def planning_probabilities(self, prompt: list[int]) -> tuple[list[float], list[float]]:
        """The heads on the conversation before the reply (its system turn left out, as in training)."""
        start = conversation_start(prompt, self._end_of_turn_ids)
        return self.head_probabilities(prompt, start, self._heads.planning)

    def head_probabilities(
        self, token_ids: list[int], reply_start: int, heads: tuple[Any, Any]
    ) -> tuple[list[float], list[float]]:
        """The (emotion, strategy) heads' distributions over the pooled hidden states of ``token_ids[reply_start:]``."""
        import torch

        device = self.context.device
        ids = torch.tensor([token_ids], device=device)
        mask = torch.zeros_like(ids, dtype=torch.bool)
        mask[:, reply_start:] = True
        emotion_head, strategy_head = heads
        with self._forward_lock, torch.no_grad():
            hidden_states = self._model(input_ids=ids, output_hidden_states=True, logits_to_keep=1).hidden_states
            emotion = torch.softmax(emotion_head(hidden_states, mask), dim=-1)[0]
            strategy = torch.softmax(strategy_head(hidden_states, mask), dim=-1)[0]
        return emotion.tolist(), strategy.tolist()

    async def _generate(self, request_id: str, prompt: list[int], plan: Plan, sampling: Any) -> Draft:
        """Step 2: decode after the plan's style tokens; collect the deltas without streaming them yet."""
        prefix = self._heads.labels.style_prefix(plan.emotion, plan.strategy)
        prefix_ids = self._tokenizer(prefix, add_special_tokens=False).input_ids
        outputs = self._engine.submit(request_id, prompt + prefix_ids, sampling)
        deltas: list[str] = []
        try:
            async for output in outputs:
                deltas.append(output.text)
                if output.finish_reason is not None:
                    return Draft(deltas, list(output.token_ids), output.finish_reason, len(prompt))
        finally:
            if not outputs.finished:
                self._engine.cancel(request_id)
        return Draft(deltas, [], "cancelled", len(prompt))

    def _stricter_system_prompt(self, request: GenerationRequest, plan: Plan) -> str:
        base = request.system_prompt or self.spec.generation.get("system_prompt") or ""
        guidance = STRATEGY_GUIDANCE.get(plan.strategy, "respond warmly")
        rule = (
            f"The person feels {plan.emotion}. In your reply, {guidance}. Stay kind, brief and on topic; "
            "never be dismissive, judgmental or harmful."
        )
        return f"{base} {rule}".strip()

    def memory_bytes(self) -> int:
        heads = self._heads
        extra = sum(p.numel() * p.element_size() for m in heads.modules() for p in m.parameters()) if heads else 0
        return super().memory_bytes() + extra


def load_with_heads(spec: ModelSpec, context: LoadContext) -> tuple[Any, Any, Any]:
    """Base (through ``load_pretrained``, NF4 per spec), the artifact's tokenizer, the adapter and the heads.

    The artifact's tokenizer carries the style tokens; when the base has no spare embedding rows
    for them, the embeddings are grown before the adapter (which holds the trained rows) is applied.
    """
    from peft import PeftModel

    from worker.models.heads import Heads, has_heads

    if not spec.adapter:
        raise ModelUnavailable(f"{spec.name}: a qwen_heads model needs `adapter` (the qwen-empathetic artifact)")
    artifact = Path(spec.adapter).expanduser()
    if not (artifact / "adapter_config.json").is_file():
        raise ModelUnavailable(f"{spec.name}: no adapter at {artifact}; train one with `attune train qwen-empathetic`")
    if not has_heads(artifact):
        raise ModelUnavailable(f"{spec.name}: {artifact} has no heads.pt/head_labels.json")
    weights = spec.weights or _adapter_base(artifact)
    base, base_tokenizer = load_pretrained(
        dataclasses.replace(spec, kind="causal_lm", weights=weights, adapter=None), context
    )
    heads = Heads.load(artifact, device=context.device)
    tokenizer = artifact_tokenizer(artifact, spec.name)
    if tokenizer is None:  # the style tokens are added to the base's, in training's order
        tokenizer = base_tokenizer
        tokenizer.add_tokens(heads.labels.style_tokens, special_tokens=False)
    if len(tokenizer) > base.get_input_embeddings().weight.shape[0]:
        base.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    model = PeftModel.from_pretrained(base, str(artifact), is_trainable=False)
    model.eval()
    return model, tokenizer, heads


def _adapter_base(artifact: Path) -> str:
    from peft import PeftConfig

    base = PeftConfig.from_pretrained(str(artifact)).base_model_name_or_path
    if not base:
        raise ModelUnavailable(f"the adapter at {artifact} names no base model and the registry gives no weights")
    return base


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


def _top_k(values: list[float], k: int) -> set[int]:
    return set(sorted(range(len(values)), key=values.__getitem__, reverse=True)[:k])
