"""The worker process: claims jobs from the broker and turns each into a streamed, checked reply.

A generation job, in order: read the user's emotion (sent at once as an ``emotion`` event) →
crisis check (a crisis gets the fixed resource reply, never generated text) → stream the
model's reply, releasing text only after the toxicity check has seen it → classify the
reply and score the alignment → publish ``done`` on the job's event log and on the results
stream → ack. A job re-delivered after its worker died continues after the text already
streamed, so a listening client sees one uninterrupted reply.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

from attune.broker.base import Broker, Delivery
from attune.contract import (
    ClassifiedItem,
    ClassifyJob,
    ClassifyResult,
    DoneEvent,
    EmotionEvent,
    EmotionReading,
    ErrorEvent,
    GenerateJob,
    SafetyVerdict,
    TokenEvent,
    WorkerInfo,
)
from attune.observability import ERRORS, GENERATED_TOKENS, QUEUE_DEPTH, bind_log_context
from worker.config import WorkerSettings
from worker.emotion import EmotionReader, FaceReader, alignment
from worker.fusion import text_reading
from worker.models.base import ChatModel, Classifier, GenerationFailed, GenerationRequest, ModelBusy, ModelUnavailable
from worker.registry import ModelManager, Registry, generation_request
from worker.reply_text import cut_at_sentence
from worker.safety import FIXED_LEVELS, SafetyFilter

log = logging.getLogger(__name__)

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
class _Active:
    delivery: Delivery
    task: asyncio.Task[None]
    started: float = field(default_factory=time.monotonic)


class WorkerService:
    def __init__(self, settings: WorkerSettings, broker: Broker, manager: ModelManager) -> None:
        self.settings = settings
        self.broker = broker
        self.models = manager
        self.safety = SafetyFilter()
        self.emotions = EmotionReader(manager, settings.emotion_classifier, settings.emotion_fallback)
        self.faces = FaceReader(manager, settings.face_classifier)
        self.serves = settings.models or list(manager.registry.specs)
        self.active: dict[str, _Active] = {}
        self.started_at = time.time()

    @classmethod
    def from_settings(cls, broker: Broker | None = None, settings: WorkerSettings | None = None) -> WorkerService:
        settings = settings or WorkerSettings()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if broker is None:
            from attune.broker.redis_streams import RedisBroker

            if not settings.redis_url:
                raise SystemExit("a standalone worker needs REDIS_URL (the embedded worker runs inside `attune serve`)")
            broker = RedisBroker(settings.redis_url)
        registry = Registry.from_file(settings.models_file, settings.home, _device(settings.device))
        return cls(settings, broker, ModelManager(registry, settings.keep_alive_s, settings.memory_budget_gb))

    # --- the main loops ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker %s serving %s", self.settings.worker_id, ", ".join(self.serves))
        with bind_log_context(worker_id=self.settings.worker_id):
            loops = [self._heartbeats(stop), self._control(stop), self._prepare_then_claim(stop)]
            await asyncio.gather(*(asyncio.create_task(loop) for loop in loops))

    async def shutdown(self) -> None:
        # A heartbeat that expires at once: readiness stops counting this worker right away.
        try:
            await self.broker.heartbeat(self.info(), ttl_s=1)
        except Exception:
            log.warning("could not retract the heartbeat; it expires on its own")
        for active in list(self.active.values()):
            active.task.cancel()
        await asyncio.gather(*(a.task for a in self.active.values()), return_exceptions=True)
        for name in self.models.loaded():
            await self.models.unload(name)

    async def _prepare_then_claim(self, stop: asyncio.Event) -> None:
        # Fit the crisis detector before the first job, not on the first message somebody in
        # distress sends; heartbeats already announce the models meanwhile.
        await asyncio.to_thread(lambda: self.safety.matcher)
        await self._claim(stop)

    async def _claim(self, stop: asyncio.Event) -> None:
        last_reclaim = 0.0
        while not stop.is_set():
            free = self.settings.max_concurrent_jobs - len(self.active)
            if free <= 0:
                await asyncio.sleep(0.05)
                continue
            try:
                deliveries: list[Delivery] = []
                if time.monotonic() - last_reclaim > self.settings.reclaim_idle_ms / 3000:
                    last_reclaim = time.monotonic()
                    deliveries = await self.broker.reclaim_stale(self.settings.worker_id, self.serves, self.settings.reclaim_idle_ms)
                if not deliveries:
                    deliveries = await self.broker.claim(self.settings.worker_id, self.serves, block_ms=1000, count=free)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not claim jobs; retrying")
                await asyncio.sleep(1)
                continue
            for delivery in deliveries:
                job_id = delivery.job.job_id
                if job_id not in self.active:
                    self.active[job_id] = _Active(delivery, asyncio.create_task(self._run_job(delivery)))

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.broker.keep_alive(self.settings.worker_id, [a.delivery for a in self.active.values()])
                await self.broker.heartbeat(self.info(await self._queue_depths()), self.settings.heartbeat_ttl_s)
                busy = {a.delivery.job.model for a in self.active.values()}
                await self.models.unload_idle(busy | {name for name in self.emotions.candidates})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("heartbeat failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.heartbeat_s)
            except TimeoutError:
                pass

    async def _queue_depths(self) -> dict[str, int]:
        depths = {name: await self.broker.queue_depth(name) for name in self.serves}
        for name, depth in depths.items():
            QUEUE_DEPTH.labels(model=name).set(depth)
        return depths

    def info(self, queue_depth: dict[str, int] | None = None) -> WorkerInfo:
        return WorkerInfo(
            worker_id=self.settings.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            models=self.serves,
            statuses=[s for s in self.models.statuses() if s.name in self.serves],
            started_at=self.started_at,
            active_jobs=len(self.active),
            queue_depth=queue_depth or {},
        )

    async def _control(self, stop: asyncio.Event) -> None:
        cursor = await self.broker.control_cursor()
        while not stop.is_set():
            try:
                commands = await self.broker.read_control(cursor, block_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not read control commands")
                await asyncio.sleep(1)
                continue
            for cursor, command in commands:
                if command.model not in self.serves:
                    continue
                try:
                    if command.action == "load":
                        await self.models.get(command.model)
                    else:
                        await self.models.unload(command.model)
                except ModelUnavailable as exc:
                    log.warning("cannot %s %s: %s", command.action, command.model, exc)

    # --- one job ------------------------------------------------------------------------------
    async def _run_job(self, delivery: Delivery) -> None:
        job = delivery.job
        with bind_log_context(job_id=job.job_id, request_id=job.request_id, session_id=getattr(job, "session_id", None)):
            await self._run_job_in_context(delivery)

    async def _run_job_in_context(self, delivery: Delivery) -> None:
        job = delivery.job
        try:
            if isinstance(job, GenerateJob):
                await self._generate(job, resumed=delivery.attempts > 1)
            else:
                await self._classify(job)
        except asyncio.CancelledError:
            raise  # shutting down: leave the job pending for another worker
        except ModelUnavailable as exc:
            log.warning("job %s: model %s unavailable: %s", job.job_id, job.model, exc)
            await self._fail(job, "model_unavailable", f"Model {job.model!r} is unavailable: {exc}")
        except GenerationFailed as exc:
            log.warning("job %s: %s: %s", job.job_id, exc.code, exc.message)
            await self._fail(job, exc.code, exc.message)
        except Exception as exc:
            log.exception("job %s failed", job.job_id)
            await self._fail(job, "internal", f"The worker failed on this request ({type(exc).__name__}).")
        finally:
            self.active.pop(job.job_id, None)
        await self.broker.ack(delivery)

    async def _fail(self, job: GenerateJob | ClassifyJob, code: str, message: str) -> None:
        ERRORS.labels(process="worker", code=code).inc()
        error = ErrorEvent(
            job_id=job.job_id,
            session_id=getattr(job, "session_id", None),
            user_message_id=getattr(job, "user_message_id", None),
            comparison_id=getattr(job, "comparison_id", None),
            slot=getattr(job, "slot", None),
            model=job.model,
            code=code,
            message=message,
        )
        await self.broker.publish(job.job_id, error)
        await self.broker.post_result(error)

    async def _classify(self, job: ClassifyJob) -> None:
        model = await self.models.get(job.model)
        if not isinstance(model, Classifier):
            raise ModelUnavailable(f"{job.model} is not a classifier")
        readings = await asyncio.to_thread(model.classify, [text for _, text in job.items])
        version = self.models.version(job.model)
        await self.broker.post_result(
            ClassifyResult(
                job_id=job.job_id,
                model=job.model,
                model_version=version,
                items=[ClassifiedItem(item_id=item_id, reading=r) for (item_id, _), r in zip(job.items, readings, strict=True)],
            )
        )

    async def _generate(self, job: GenerateJob, resumed: bool) -> None:
        replayed = await self._replay(job) if resumed else _Replay()
        if replayed.done is not None:  # the previous worker finished but died before acking
            await self.broker.post_result(replayed.done)
            return
        user_text = job.history[-1].content if job.history else ""
        (text_emotion,) = await self.emotions.read([user_text])
        # With a photo, the turn's emotion fuses the face with the text; the crisis check reads the text.
        user_emotion = await self.faces.fuse(text_emotion, job.image)
        if user_emotion is not None and not replayed.had_emotion:
            await self.broker.publish(job.job_id, EmotionEvent(emotion=user_emotion))

        locale = job.locale or self.settings.safety_locale
        verdict = await asyncio.to_thread(
            self.safety.check_user, user_text, text_emotion, locale=locale, session_risk=job.session_risk
        )
        if verdict.level in FIXED_LEVELS:  # crisis or worry for someone else: a fixed text, never generated
            text, _ = self.safety.fixed_reply(verdict, locale)  # the verdict already carries its lines
            verdict = verdict.model_copy(update={"fixed_reply": True})
            stream = _Streamed(index=replayed.tokens)
            await self._emit(job, stream, text)
            await self._finish(job, text, "safety", verdict, user_emotion, stream, (0, 0), {})
            return

        try:
            model = await self.models.get(job.model)
        except ModelUnavailable as exc:
            await self._fail(job, "model_unavailable", f"Model {job.model!r} is unavailable: {exc}")
            return
        if not isinstance(model, ChatModel) or not self.models.spec(job.model).chat:
            await self._fail(job, "model_unavailable", f"Model {job.model!r} does not chat.")
            return
        request = self._request(job, user_emotion, replayed.text)
        if job.session_risk:  # after a crisis in this session: the safety prompt, and the lines stay visible
            persona = f"{request.system_prompt}\n\n" if request.system_prompt else ""
            request = replace(request, system_prompt=persona + self.safety.safety_prompt(verdict.language))
        try:
            outcome = await self._stream_checked(job, model, request, _Streamed(index=replayed.tokens, ttft_ms=None))
        except ModelBusy:
            await self._fail(job, "busy", f"Model {job.model!r} is at capacity; try again in a moment.")
            return
        content = replayed.text + outcome.released
        reply_verdict = outcome.blocked or SafetyVerdict(
            session_risk=verdict.session_risk, language=verdict.language, resources=verdict.resources
        )
        finish = outcome.finish_reason
        if outcome.blocked is not None:
            # The unsafe text was never released; the client replaces what it showed with this.
            finish = "safety"
            if outcome.blocked.crisis:
                content, resources = self.safety.crisis_reply(locale, verdict.language)
                reply_verdict = outcome.blocked.model_copy(
                    update={"resources": resources, "fixed_reply": True, "level": "ideation", "language": verdict.language}
                )
            else:
                content = self.safety.fallback_reply(locale, verdict.language)
                reply_verdict = outcome.blocked.model_copy(update={"fixed_reply": True, "language": verdict.language})
        tokens = (outcome.prompt_tokens, outcome.completion_tokens)
        await self._finish(job, content, finish, reply_verdict, user_emotion, outcome.stream, tokens, outcome.extras)

    def _request(self, job: GenerateJob, user_emotion: EmotionReading | None, prefix: str) -> GenerationRequest:
        spec = self.models.spec(job.model)
        return generation_request(spec, job.job_id, job.history, job.params, user_emotion, prefix)

    async def _stream_checked(self, job: GenerateJob, model: ChatModel, request: GenerationRequest, stream: _Streamed) -> _Outcome:
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
                verdict = self.safety.check_reply(outcome.released + held)
                if verdict.toxic or verdict.crisis:
                    model.cancel(request.request_id)
                    outcome.blocked = verdict
                    return outcome
                await self._emit(job, stream, held[:cut])
                outcome.released += held[:cut]
                held = held[cut:]
            if time.monotonic() - last_cancel_check > CANCEL_POLL_S:
                last_cancel_check = time.monotonic()
                if await self.broker.is_cancelled(job.job_id):
                    model.cancel(request.request_id)
        if held:
            verdict = self.safety.check_reply(outcome.released + held)
            if verdict.toxic or verdict.crisis:
                outcome.blocked = verdict
                return outcome
            await self._emit(job, stream, held)
            outcome.released += held
        return outcome

    async def _emit(self, job: GenerateJob, stream: _Streamed, text: str) -> None:
        if stream.ttft_ms is None:
            stream.ttft_ms = _since(job.enqueued_at)
        await self.broker.publish(job.job_id, TokenEvent(index=stream.index, text=text))
        stream.index += 1

    async def _finish(
        self, job: GenerateJob, content: str, finish_reason: str, verdict: SafetyVerdict,
        user_emotion: EmotionReading | None, stream: _Streamed, tokens: tuple[int, int], extras: dict[str, Any],
    ) -> None:
        version = self.models.version(job.model)
        GENERATED_TOKENS.labels(model=job.model).inc(tokens[1])
        # A fixed text of the safety layer is not the model's words: no reply emotion, no alignment.
        fixed = verdict.fixed_reply
        (reply_emotion,) = await self.emotions.read([content]) if content and not fixed else (None,)
        score = extras.get("emo_alignment_score")
        done = DoneEvent(
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
            duration_ms=_since(job.enqueued_at),
            user_emotion=user_emotion,
            reply_emotion=reply_emotion,
            alignment=None if fixed else float(score) if isinstance(score, int | float)
            else alignment(text_reading(user_emotion), reply_emotion),  # the same classifier on both sides
            safety=verdict,
            extras={k: v for k, v in extras.items() if isinstance(v, str | int | float) or v is None},
            cache_key=job.cache_key if job.expected_version == version else None,
            worker_id=self.settings.worker_id,
        )
        await self.broker.publish(job.job_id, done)
        await self.broker.post_result(done)
        log.info("finished: %s, %d tokens in %.0f ms", finish_reason, tokens[1], done.duration_ms)

    async def _replay(self, job: GenerateJob) -> _Replay:
        """What a previous worker already streamed for this job."""
        replay = _Replay()
        after = "0"
        while True:
            events = await self.broker.read_events(job.job_id, after, block_ms=0)
            if not events:
                return replay
            for after, event in events:
                if isinstance(event, EmotionEvent):
                    replay.had_emotion = True
                elif isinstance(event, TokenEvent):
                    replay.text += event.text
                    replay.tokens = event.index + 1
                elif isinstance(event, DoneEvent):
                    replay.done = event


@dataclass
class _Replay:
    text: str = ""
    tokens: int = 0
    had_emotion: bool = False
    done: DoneEvent | None = None


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
    return cut[len(released):] if len(cut) > len(released) and cut.startswith(released) else ""


def _since(enqueued_at: float) -> float:
    """Milliseconds since the backend enqueued the job: what the person waited, queue included."""
    return max(0.0, (time.time() - enqueued_at) * 1000)


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
