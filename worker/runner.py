"""The worker process's mechanics: claims jobs from the broker, runs each, publishes and acks.

arq's split: the runner claims (and re-claims a dead worker's jobs), keeps its jobs fresh and
its heartbeat alive, follows the admin's load/unload commands, hands each job to its body in
``worker/pipeline.py`` and publishes what comes back: ``done`` on the job's event log and on the
results stream, a classification on the results stream. It is the worker's one error boundary:
a failed job is logged once and reported as one typed ``error`` event, then acked.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field, replace

from attune.broker.base import Broker, Delivery
from attune.contract import ClassifyJob, DoneEvent, EmotionEvent, ErrorEvent, GenerateJob, TokenEvent, WorkerInfo
from attune.observability import ERRORS, QUEUE_DEPTH, bind_log_context
from attune.settings import default_to_offline
from worker import pipeline
from worker.config import WorkerSettings
from worker.models.base import GenerationFailed, ModelBusy, ModelUnavailable
from worker.registry import ModelManager, Registry

log = logging.getLogger(__name__)


@dataclass
class _Active:
    delivery: Delivery
    task: asyncio.Task[None]
    started: float = field(default_factory=time.monotonic)


class Runner:
    def __init__(self, settings: WorkerSettings, broker: Broker, manager: ModelManager) -> None:
        self.settings = settings
        self.broker = broker
        self.models = manager
        self.ctx = pipeline.Context.build(settings, manager)
        self.serves = settings.models or list(manager.registry.specs)
        self.active: dict[str, _Active] = {}
        self.started_at = time.time()

    @classmethod
    def from_settings(cls, broker: Broker | None = None, settings: WorkerSettings | None = None) -> Runner:
        settings = settings or WorkerSettings()
        default_to_offline()
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
        await asyncio.to_thread(lambda: self.ctx.safety.matcher)
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
                    deliveries = await self.broker.reclaim_stale(
                        self.settings.worker_id, self.serves, self.settings.reclaim_idle_ms
                    )
                if not deliveries:
                    deliveries = await self.broker.claim(
                        self.settings.worker_id, self.serves, block_ms=1000, count=free
                    )
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
                await self.models.unload_idle(busy | {name for name in self.ctx.emotions.candidates})
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
            if commands:
                cursor = commands[-1][0]  # the stream id to read after next time
            for _id, command in commands:
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
        try:
            await self.process(job, resumed=delivery.attempts > 1)
        finally:
            self.active.pop(job.job_id, None)
        await self.broker.ack(delivery)

    async def process(self, job: GenerateJob | ClassifyJob, resumed: bool = False) -> None:
        """Run one job's body and publish its result, or its one typed error."""
        with bind_log_context(
            job_id=job.job_id, request_id=job.request_id, session_id=getattr(job, "session_id", None)
        ):
            try:
                if isinstance(job, ClassifyJob):
                    await self.broker.post_result(await pipeline.classify(self.ctx, job))
                else:
                    await self._generate(job, resumed)
            except asyncio.CancelledError:
                raise  # shutting down: leave the job pending for another worker
            except ModelUnavailable as exc:
                await self._fail(job, "model_unavailable", f"Model {job.model!r} is unavailable: {exc}")
            except ModelBusy:
                await self._fail(job, "busy", f"Model {job.model!r} is at capacity; try again in a moment.")
            except GenerationFailed as exc:
                await self._fail(job, exc.code, exc.message)
            except Exception as exc:
                log.exception("job %s failed", job.job_id)
                await self._fail(
                    job, "internal", f"The worker failed on this request ({type(exc).__name__}).", logged=True
                )

    async def _generate(self, job: GenerateJob, resumed: bool) -> None:
        replayed = await self._replay(job) if resumed else pipeline.Replay()
        if replayed.done is not None:  # the previous worker finished but died before acking
            await self.broker.post_result(replayed.done)
            return

        async def emit(event: EmotionEvent | TokenEvent) -> None:
            await self.broker.publish(job.job_id, event)

        async def is_cancelled() -> bool:
            return await self.broker.is_cancelled(job.job_id)

        ctx = replace(self.ctx, emit=emit, is_cancelled=is_cancelled, replay=replayed)
        done = await pipeline.generate(ctx, job)
        await self.broker.publish(job.job_id, done)
        await self.broker.post_result(done)
        log.info("finished: %s, %d tokens in %.0f ms", done.finish_reason, done.completion_tokens, done.duration_ms)

    async def _fail(self, job: GenerateJob | ClassifyJob, code: str, message: str, logged: bool = False) -> None:
        if not logged:
            log.warning("job %s: %s: %s", job.job_id, code, message)
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

    async def _replay(self, job: GenerateJob) -> pipeline.Replay:
        """What a previous worker already streamed for this job."""
        replay = pipeline.Replay()
        after = "0"
        while True:
            events = await self.broker.read_events(job.job_id, after, block_ms=0)
            if not events:
                return replay
            after = events[-1][0]  # the stream id to read after next time
            for _id, event in events:
                if isinstance(event, EmotionEvent):
                    replay.had_emotion = True
                elif isinstance(event, TokenEvent):
                    replay.text += event.text
                    replay.tokens = event.index + 1
                elif isinstance(event, DoneEvent):
                    replay.done = event


def _device(setting: str) -> str:
    if setting != "auto":
        return setting
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
