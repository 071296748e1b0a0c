"""Metrics render as Prometheus text; logs are JSON lines that carry the bound ids."""

from __future__ import annotations

import asyncio
import logging
import socket
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from attune import observability
from attune.observability import (
    CHAT_TURNS,
    bind_log_context,
    log_context,
    render_metrics,
    serve_metrics,
)


def _sample(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"{name}{labels} not in the exposition")


def test_turn_counter_and_histograms_appear_in_the_exposition() -> None:
    before = REGISTRY.get_sample_value("attune_chat_turns_total", {"model": "obs-test", "outcome": "complete"}) or 0.0
    CHAT_TURNS.labels(model="obs-test", outcome="complete").inc()
    observability.TIME_TO_FIRST_TOKEN.labels(model="obs-test").observe(0.3)
    observability.QUEUE_DEPTH.labels(model="obs-test").set(4)

    body, content_type = render_metrics()
    text = body.decode()

    assert content_type.startswith("text/plain")
    assert _sample(text, "attune_chat_turns_total", model="obs-test", outcome="complete") == before + 1
    assert _sample(text, "attune_time_to_first_token_seconds_bucket", model="obs-test", le="0.5") >= 1
    assert _sample(text, "attune_queue_depth", model="obs-test") == 4
    for family in (
        "attune_websockets_active",
        "attune_reply_duration_seconds",
        "attune_generated_tokens_total",
        "attune_cache_requests_total",
        "attune_model_load_seconds",
        "attune_model_memory_bytes",
        "attune_errors_total",
    ):
        assert f"# TYPE {family}" in text


def test_serve_metrics_answers_over_http() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    observability.GENERATED_TOKENS.labels(model="obs-http").inc(7)

    serve_metrics(port)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()

    assert _sample(text, "attune_generated_tokens_total", model="obs-http") == 7


def test_every_record_carries_the_bound_ids_as_json(json_logs) -> None:
    log = logging.getLogger("attune.worker.test")
    with bind_log_context(worker_id="w-1"):
        with bind_log_context(job_id="job-42", request_id="req-7", session_id=None):
            log.info("generating", extra={"model": "tiny"})
        log.warning("idle")
    log.info("outside")

    inside, after_job, outside = json_logs()

    assert inside["message"] == "generating"
    assert inside["process"] == "worker"
    assert inside["level"] == "info"
    assert (inside["job_id"], inside["request_id"], inside["worker_id"]) == ("job-42", "req-7", "w-1")
    assert "session_id" not in inside
    assert inside["model"] == "tiny"
    assert after_job["worker_id"] == "w-1" and "job_id" not in after_job
    assert not {"job_id", "request_id", "worker_id"} & set(outside)


def test_exceptions_are_logged_once_with_their_traceback(json_logs) -> None:
    with bind_log_context(job_id="job-err"):
        try:
            raise ValueError("weights missing")
        except ValueError:
            logging.getLogger("attune").exception("load failed")

    (record,) = json_logs()
    assert record["job_id"] == "job-err"
    assert record["exc_type"] == "ValueError"
    assert "weights missing" in record["traceback"]


async def test_ids_follow_into_tasks_and_do_not_leak_between_them() -> None:
    async def turn(job_id: str) -> dict[str, str]:
        with bind_log_context(job_id=job_id):
            await asyncio.sleep(0.01)
            return log_context()

    with bind_log_context(worker_id="w-2"):
        first, second = await asyncio.gather(turn("a"), turn("b"))

    assert first == {"worker_id": "w-2", "job_id": "a"}
    assert second == {"worker_id": "w-2", "job_id": "b"}
    assert log_context() == {}


def test_an_unknown_id_name_is_refused() -> None:
    with pytest.raises(TypeError, match="user_id"), bind_log_context(user_id="x"):
        pass
