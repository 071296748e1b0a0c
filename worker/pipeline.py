"""What the worker computes for a job: ``generate(ctx, job) -> DoneEvent`` and ``classify(ctx, job)``.

The job bodies of arq's split: they read, check and generate, and return their result. Claiming,
timing, heartbeats, acks and publishing are the runner's (``worker/runner.py``); the only way out
of here while a job runs is ``ctx.emit``, which the runner hands in for the events a listening
client sees as they happen (the user's emotion, the released text). Failures are raised, typed
(``ModelUnavailable``, ``ModelBusy``, ``GenerationFailed``), and reported once, by the runner.

A generation job, in order: read the user's emotion (emitted at once) → crisis check (a crisis
gets the fixed resource reply, never generated text) → stream the model's reply, releasing text
only after the toxicity check has seen it → classify the reply and score the alignment → return
``done``. A job re-delivered after its worker died continues after the text already streamed
(``ctx.replay``), so a listening client sees one uninterrupted reply.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from attune.contract import (
    ClassifiedItem,
    ClassifyJob,
    ClassifyResult,
    DoneEvent,
    EmotionEvent,
    EmotionReading,
    GenerateJob,
    SafetyVerdict,
    TokenEvent,
)
from attune.observability import GENERATED_TOKENS
from worker.config import WorkerSettings
from worker.emotion import EmotionReader, FaceReader, alignment
from worker.fusion import text_reading
from worker.models.base import ChatModel, Classifier, GenerationFailed, GenerationRequest, ModelUnavailable
from worker.registry import ModelManager, generation_request
from worker.reply_text import cut_at_sentence
from worker.safety import FIXED_LEVELS, SafetyFilter

CANCEL_POLL_S = 0.1
# Text is released word by word once the reply check has read it: everything but the last
# LOOKAHEAD_WORDS words, which are held so that a phrase of up to LOOKAHEAD_WORDS + 1 words ("kill
# yourself", "you should do it") is checked whole before any of it shows. A sentence end, or the
# end of the reply, releases all of it.
# Within this many tokens of max_new_tokens (a quarter of the limit when that is less), text is held
# until a sentence ends again: a reply cut by the limit then ends at its last complete sentence,
# since released text is never taken back.
LOOKAHEAD_WORDS = 3
SENTENCE_TAIL_TOKENS = 32
SENTENCE_ENDS = (".", "!", "?", "\n")


@dataclass
class Replay:
    """What a previous worker already streamed for this job."""

    text: str = ""
    tokens: int = 0
    had_emotion: bool = False
    done: DoneEvent | None = None


async def _no_emit(event: EmotionEvent | TokenEvent) -> None:
    return None


async def _never_cancelled() -> bool:
    return False


@dataclass
class Context:
    """arq's ``ctx``: the shared pieces built once at start-up, plus what the runner hands one job."""

    settings: WorkerSettings
    models: ModelManager
    safety: SafetyFilter
    emotions: EmotionReader
    faces: FaceReader
    emit: Callable[[EmotionEvent | TokenEvent], Awaitable[None]] = _no_emit
    is_cancelled: Callable[[], Awaitable[bool]] = _never_cancelled
    replay: Replay = field(default_factory=Replay)

    @classmethod
    def build(cls, settings: WorkerSettings, models: ModelManager) -> Context:
        safety = SafetyFilter()
        models.check_drafts_with(safety)
        return cls(
            settings,
            models,
            safety,
            EmotionReader(models, settings.emotion_classifier, settings.emotion_fallback),
            FaceReader(models, settings.face_classifier),
        )


async def classify(ctx: Context, job: ClassifyJob) -> ClassifyResult:
    model = await ctx.models.get(job.model)
    if not isinstance(model, Classifier):
        raise ModelUnavailable(f"{job.model} is not a classifier")
    readings = await asyncio.to_thread(model.classify, [text for _, text in job.items])
    return ClassifyResult(
        job_id=job.job_id,
        model=job.model,
        model_version=ctx.models.version(job.model),
        items=[ClassifiedItem(item_id=item_id, reading=r) for (item_id, _), r in zip(job.items, readings, strict=True)],
    )


async def generate(ctx: Context, job: GenerateJob) -> DoneEvent:
    replayed = ctx.replay
    user_text = job.history[-1].content if job.history else ""
    (text_emotion,) = await ctx.emotions.read([user_text])
    # With a photo, the turn's emotion fuses the face with the text; the crisis check reads the text.
    user_emotion = await ctx.faces.fuse(text_emotion, job.image)
    if user_emotion is not None and not replayed.had_emotion:
        await ctx.emit(EmotionEvent(emotion=user_emotion))

    locale = job.locale or ctx.settings.safety_locale
    verdict = await asyncio.to_thread(
        ctx.safety.check_user, user_text, text_emotion, locale=locale, session_risk=job.session_risk
    )
    if verdict.level in FIXED_LEVELS:  # crisis or worry for someone else: a fixed text, never generated
        text, _ = ctx.safety.fixed_reply(verdict, locale)  # the verdict already carries its lines
        verdict = verdict.model_copy(update={"fixed_reply": True})
        stream = _Streamed(index=replayed.tokens)
        await _emit_text(ctx, job, stream, text)
        return await _done(ctx, job, text, "safety", verdict, user_emotion, stream, (0, 0), {})

    model = await ctx.models.get(job.model)
    if not isinstance(model, ChatModel) or not ctx.models.spec(job.model).chat:
        raise GenerationFailed("model_unavailable", f"Model {job.model!r} does not chat.")
    request = build_request(ctx, job, user_emotion, replayed.text)
    if job.session_risk:  # after a crisis in this session: the safety prompt, and the lines stay visible
        persona = f"{request.system_prompt}\n\n" if request.system_prompt else ""
        request = replace(request, system_prompt=persona + ctx.safety.safety_prompt(verdict.language))
    outcome = await _stream_checked(ctx, job, model, request, _Streamed(index=replayed.tokens))
    content = replayed.text + outcome.released
    reply_verdict = outcome.blocked or SafetyVerdict(
        session_risk=verdict.session_risk, language=verdict.language, resources=verdict.resources
    )
    finish = outcome.finish_reason
    if outcome.blocked is not None:
        # The unsafe text was never released; the client replaces what it showed with this.
        finish = "safety"
        if outcome.blocked.crisis:
            content, resources = ctx.safety.crisis_reply(locale, verdict.language)
            reply_verdict = outcome.blocked.model_copy(
                update={"resources": resources, "fixed_reply": True, "level": "ideation", "language": verdict.language}
            )
        else:
            content = ctx.safety.fallback_reply(locale, verdict.language)
            reply_verdict = outcome.blocked.model_copy(update={"fixed_reply": True, "language": verdict.language})
    elif not content.strip() and finish != "cancelled":
        # A model that ends its turn at once (a small adapter on a long instruction does) would
        # leave an empty bubble stored as the answer: say so instead, and the person can resend.
        raise GenerationFailed(
            "generation_failed",
            f"Model {job.model!r} ended its reply without writing anything. Send the message again, or pick another model.",
        )
    tokens = (outcome.prompt_tokens, outcome.completion_tokens)
    return await _done(ctx, job, content, finish, reply_verdict, user_emotion, outcome.stream, tokens, outcome.extras)


def build_request(
    ctx: Context, job: GenerateJob, user_emotion: EmotionReading | None, prefix: str
) -> GenerationRequest:
    return generation_request(ctx.models.spec(job.model), job.job_id, job.history, job.params, user_emotion, prefix)


@dataclass
class _Streamed:
    index: int = 0
    ttft_ms: float | None = None


@dataclass
class _Outcome:
    stream: _Streamed
    released: str = ""
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    blocked: SafetyVerdict | None = None  # the reply's verdict when it failed the check
    extras: dict[str, Any] = field(default_factory=dict)


async def _stream_checked(
    ctx: Context, job: GenerateJob, model: ChatModel, request: GenerationRequest, stream: _Streamed
) -> _Outcome:
    """Stream the model's reply, releasing text only after the toxicity check passed it."""
    outcome = _Outcome(stream=stream)
    held = ""
    last_cancel_check = 0.0
    pieces = 0
    async for chunk in model.stream(request):
        held += chunk.text
        pieces += bool(chunk.text)
        outcome.prompt_tokens = chunk.prompt_tokens or outcome.prompt_tokens
        outcome.completion_tokens = chunk.completion_tokens or outcome.completion_tokens
        outcome.extras.update(chunk.extras)
        if chunk.finish_reason:
            outcome.finish_reason = chunk.finish_reason
        if chunk.finish_reason == "length":  # end the reply at its last complete sentence
            held = _cut_held(request.prefix + outcome.released, held)
        whole = bool(held) and (held.rstrip(" ").endswith(SENTENCE_ENDS) or bool(chunk.finish_reason))
        tail = min(SENTENCE_TAIL_TOKENS, request.max_new_tokens // 4)
        near_limit = max(pieces, outcome.completion_tokens) >= request.max_new_tokens - tail
        cut = len(held) if whole else (0 if near_limit else releasable(held))
        if cut > 0:
            if not await _release_checked(ctx, job, outcome, held[:cut], held):
                model.cancel(request.request_id)
                return outcome
            held = held[cut:]
        if time.monotonic() - last_cancel_check > CANCEL_POLL_S:
            last_cancel_check = time.monotonic()
            if await ctx.is_cancelled():
                model.cancel(request.request_id)
    if held:
        await _release_checked(ctx, job, outcome, held, held)
    return outcome


async def _release_checked(ctx: Context, job: GenerateJob, outcome: _Outcome, text: str, held: str) -> bool:
    """Release ``text`` (the start of ``held``) if the reply so far, with all it holds, passes the check."""
    verdict = ctx.safety.check_reply(outcome.released + held)
    if verdict.toxic or verdict.crisis:
        outcome.blocked = verdict
        return False
    await _emit_text(ctx, job, outcome.stream, text)
    outcome.released += text
    return True


async def _emit_text(ctx: Context, job: GenerateJob, stream: _Streamed, text: str) -> None:
    if stream.ttft_ms is None:
        stream.ttft_ms = since(job.enqueued_at)
    await ctx.emit(TokenEvent(index=stream.index, text=text))
    stream.index += 1


async def _done(
    ctx: Context,
    job: GenerateJob,
    content: str,
    finish_reason: str,
    verdict: SafetyVerdict,
    user_emotion: EmotionReading | None,
    stream: _Streamed,
    tokens: tuple[int, int],
    extras: dict[str, Any],
) -> DoneEvent:
    version = ctx.models.version(job.model)
    GENERATED_TOKENS.labels(model=job.model).inc(tokens[1])
    # A fixed text of the safety layer is not the model's words: no reply emotion, no alignment.
    fixed = verdict.fixed_reply
    (reply_emotion,) = await ctx.emotions.read([content]) if content and not fixed else (None,)
    score = extras.get("emo_alignment_score")
    if fixed:
        aligned = None
    elif isinstance(score, int | float):  # the model scored its own alignment (EmoDecoder)
        aligned = float(score)
    else:  # the same classifier on both sides
        aligned = alignment(text_reading(user_emotion), reply_emotion)
    return DoneEvent(
        job_id=job.job_id,
        session_id=job.session_id,
        user_message_id=job.user_message_id,
        comparison_id=job.comparison_id,
        slot=job.slot,
        content=content,
        model=job.model,
        model_version=version,
        finish_reason=finish_reason,  # type: ignore[arg-type]
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        ttft_ms=stream.ttft_ms,
        duration_ms=since(job.enqueued_at),
        user_emotion=user_emotion,
        reply_emotion=reply_emotion,
        alignment=aligned,
        safety=verdict,
        extras={k: v for k, v in extras.items() if isinstance(v, str | int | float) or v is None},
        cache_key=job.cache_key if job.expected_version == version else None,
        worker_id=ctx.settings.worker_id,
    )


def releasable(held: str) -> int:
    """How much of ``held`` may be shown now: up to the start of its last ``LOOKAHEAD_WORDS`` words."""
    starts = [match.start() for match in _WORD_START.finditer(held)]
    return starts[-LOOKAHEAD_WORDS] if len(starts) > LOOKAHEAD_WORDS else 0


_WORD_START = re.compile(r"(?<!\S)\S")


def _cut_held(released: str, held: str) -> str:
    """The part of ``held`` to release when the reply hit the token limit: up to its last sentence end.

    Released text is never taken back (what was streamed is what is stored): when the last sentence
    end lies in it, the unfinished tail still held is dropped.
    """
    cut = cut_at_sentence(released + held)
    return cut[len(released) :] if len(cut) > len(released) and cut.startswith(released) else ""


def since(enqueued_at: float) -> float:
    """Milliseconds since the backend enqueued the job: what the person waited, queue included."""
    return max(0.0, (time.time() - enqueued_at) * 1000)
