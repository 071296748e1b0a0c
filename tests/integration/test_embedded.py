"""The embedded default (`attune serve`): SQLite file, in-process broker, cache and worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.harness import ManagedProcess, free_port, wait_for_port
from tests.integration.conftest import OUTPUT, attune
from tests.support.chat_client import ChatSocket, history, new_session, sign_up

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _serve(home: Path, models_file: Path, port: int) -> ManagedProcess:
    env = {
        "ATTUNE_HOME": str(home),
        "ATTUNE_MODELS_FILE": str(models_file),
        "HF_HUB_OFFLINE": "1",
    }
    # Nothing from the production stack may leak in: the embedded mode must need no servers.
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "ATTUNE_ENV"}}
    process = ManagedProcess(
        "serve", attune("serve", "--skip-prepare", "--port", str(port)), OUTPUT / "serve.log", env=env
    )
    process.env = {**clean, **env}
    process.start()
    wait_for_port(port, 90, process.alive)
    return process


async def test_a_turn_on_the_embedded_default_survives_a_restart(tmp_path: Path, models_file: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, models_file, port)
    try:
        account = await sign_up(base)
        session_id = await new_session(account)
        chat = await ChatSocket.open(account, session_id)
        await chat.say("Hello from the embedded mode")
        turn = await chat.until({"done", "error"}, timeout_s=180)
        await chat.send(
            {
                "type": "compare",
                "client_id": "embedded-compare",
                "content": "Two views, please",
                "model_b": "tiny-sampled",
            }
        )
        compared = await chat.until({"compare_done", "error"}, timeout_s=180)
        await chat.close()
        stored_comparison = compared.frames[-1]["comparison"]
        assert [r["status"] for r in stored_comparison["replies"]] == ["complete", "complete"]
        assert turn.of("error") == []
        assert len(turn.of("token")) >= 2
        reply = turn.done["message"]["content"]
        assert reply == turn.streamed_text
    finally:
        server.stop()
    assert (tmp_path / "attune.db").exists()

    server = _serve(tmp_path, models_file, port)
    try:
        stored = await history(account, session_id)  # the same token works: the secret is kept in ATTUNE_HOME
        assert [m["content"] for m in stored] == ["Hello from the embedded mode", reply]
        async with account.api() as client:
            comparisons = (await client.get("/api/compare")).json()["items"]
        assert [c["id"] for c in comparisons] == [stored_comparison["id"]]
    finally:
        server.stop()
