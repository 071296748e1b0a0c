"""Redis restarts without persistence (``SHUTDOWN NOSAVE``) under a running API and worker:
the service answers new turns within seconds with no process restarted, and the turns whose
jobs Redis lost are answered anyway (a resend re-enqueues at once, the repairer the rest).

The Redis here is private to the test (its own port), so the shared one is never touched."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.harness import ManagedProcess, free_port, wait_for_port
from tests.integration.conftest import OUTPUT, attune
from tests.support.chat_client import Account, ChatSocket, history, new_session, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

REPAIR_GRACE_S = 25  # longer than a worker takes to start, so the resend below is what repairs its turn


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.port, self.directory = free_port(), directory
        self.process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        self.process = ManagedProcess("redis", args, OUTPUT / "private-redis.log").start()
        wait_for_port(self.port, 20, self.process.alive)

    def shutdown_nosave(self) -> None:
        try:
            redis.Redis(port=self.port).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # it went away mid-answer, as it should
        assert self.process is not None
        self.process.process.wait(timeout=10)  # type: ignore[union-attr]

    def kill_clients(self) -> int:
        """``CLIENT KILL`` every connection but this one, as a network blip would cut them; how many."""
        with redis.Redis(port=self.port, decode_responses=True) as admin:
            me = admin.client_id()
            others = [c for c in admin.client_list() if int(c["id"]) != me]
            for client in others:
                admin.client_kill_filter(_id=client["id"])
        return len(others)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def answered_turn(account, session_id: str, timeout_s: float) -> dict:  # type: ignore[no-untyped-def]
    chat = await ChatSocket.open(account, session_id)
    try:
        await chat.say(f"Are you still there? {uuid.uuid4().hex[:6]}")
        turn = await chat.until({"done", "error"}, timeout_s=timeout_s)
    finally:
        await chat.close()
    assert turn.of("error") == [], turn.of("error")
    return turn.done


def start_stack(env: dict[str, str], tag: str) -> tuple[str, ManagedProcess, ManagedProcess]:
    """An ``attune api`` and an ``attune worker`` on ``env``, logging to ``api-<tag>.log`` and ``worker-<tag>.log``."""
    port = free_port()
    api = ManagedProcess(f"api-{tag}", attune("api", "--port", str(port)), OUTPUT / f"api-{tag}.log", env=env).start()
    worker = ManagedProcess(f"worker-{tag}", attune("worker"), OUTPUT / f"worker-{tag}.log", env=env).start()
    return f"http://127.0.0.1:{port}", api, worker


async def first_turn(base_url: str, api: ManagedProcess) -> tuple[Account, str]:
    """Once the stack is up: a new account and session, whose first turn was answered."""
    wait_for_port(int(base_url.rsplit(":", 1)[1]), 60, api.alive)
    await wait_ready(base_url)
    account = await sign_up(base_url)
    session_id = await new_session(account)
    await answered_turn(account, session_id, 120)
    return account, session_id


async def _ready(base_url: str, timeout_s: float) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url) as client:
        while True:
            reply = await client.get("/readyz")
            if reply.status_code == 200 or time.monotonic() > deadline:
                return reply.json()
            await asyncio.sleep(0.3)


async def test_a_redis_restart_heals_without_restarting_anything(
    stack_env: dict[str, str], private_redis: PrivateRedis
) -> None:
    env = {
        **stack_env,
        "REDIS_URL": private_redis.url,
        "ATTUNE_REPAIR_INTERVAL_S": "2",
        "ATTUNE_REPAIR_GRACE_S": str(REPAIR_GRACE_S),
    }
    base_url, api, worker = start_stack(env, "redis-restart")
    try:
        account, session_id = await first_turn(base_url, api)

        # 1. Redis loses everything; the same API and worker answer a new turn within 10 s.
        private_redis.shutdown_nosave()
        await asyncio.sleep(1)
        private_redis.start()
        back_at = time.monotonic()
        await answered_turn(account, session_id, 30)
        assert time.monotonic() - back_at < 10, f"answered {time.monotonic() - back_at:.1f} s after Redis came back"
        readiness = await _ready(base_url, 10)
        assert readiness["status"] == "ready" and readiness["groups"] and all(readiness["groups"].values()), readiness
        assert api.alive() and worker.alive()

        # 2. Turns acknowledged while no worker runs, then lost with Redis, are answered.
        worker.stop()
        chat = await ChatSocket.open(account, session_id)
        resent_id = await chat.say("First lost message")
        first = await chat.until({"ack"})
        repaired_id = await chat.say("Second lost message")
        second = await chat.until({"ack"})
        await chat.close()
        assert first.of("ack")[0]["job_id"] and second.of("ack")[0]["job_id"]
        private_redis.shutdown_nosave()
        private_redis.start()

        # The resend re-enqueues its message at once (not `job_id: null` and then nothing) ...
        chat = await ChatSocket.open(account, session_id)
        await chat.say("First lost message", client_id=resent_id)
        again = await chat.until({"ack"})
        ack = again.of("ack")[0]
        assert ack["duplicate"] is True and ack["job_id"], ack
        worker = ManagedProcess(
            "worker-redis-restart", attune("worker"), OUTPUT / "worker-redis-restart.log", env=env
        ).start()
        turn = await chat.until({"done", "error"}, again, timeout_s=180)
        await chat.close()
        assert turn.of("error") == [] and turn.done["message"]["reply_to_id"] == ack["message_id"]

        # ... and the repairer answers the one nobody resent.
        deadline = time.monotonic() + REPAIR_GRACE_S + 90
        while time.monotonic() < deadline:
            stored = await history(account, session_id)
            answered = {m["reply_to_id"] for m in stored if m["role"] == "assistant"}
            if second.of("ack")[0]["message_id"] in answered:
                break
            await asyncio.sleep(1)
        users = [m for m in stored if m["role"] == "user"]
        replies = [m["reply_to_id"] for m in stored if m["role"] == "assistant"]
        assert {m["client_id"] for m in users} >= {resent_id, repaired_id}
        assert sorted(replies) == sorted(m["id"] for m in users), "every message answered exactly once"
    finally:
        worker.stop()
        api.stop()
