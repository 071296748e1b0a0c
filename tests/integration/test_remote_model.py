"""The ``openai`` model kind against a real OpenAI-compatible server on loopback (llama.cpp's),
through the real API, WebSocket, worker, PostgreSQL and Redis."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.e2e.harness import ManagedProcess
from tests.integration.conftest import OUTPUT
from tests.integration.llama_server import RemoteEndpoint, start_server
from tests.support.chat_client import history, open_new_chat

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LONG_REQUEST = "Please tell me a long, gentle story about the sea, in many paragraphs."


@pytest.fixture
def llama_server(remote_endpoint: RemoteEndpoint) -> Iterator[ManagedProcess]:
    server = start_server(remote_endpoint, OUTPUT / "llama-server.log")
    yield server
    server.stop()


@pytest.fixture
def worker(start_worker):  # type: ignore[no-untyped-def]
    return start_worker("worker-remote")


async def test_remote_reply_streams_with_emotion_and_is_stored_once(api_url: str, worker, llama_server) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url, model="remote")
    await chat.say("I feel a bit lonely tonight.")
    turn = await chat.until({"done", "error"})
    await chat.close()

    assert turn.of("error") == [], turn.of("error")
    assert turn.of("emotion"), "the user's emotion is read before the remote model answers"
    reply = turn.done["message"]
    assert reply["model"] == "remote" and reply["content"] == turn.streamed_text and reply["content"].strip()
    assert reply["completion_tokens"] > 0, "the server's usage report reaches the stored reply"
    stored = await history(account, session_id)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["content"] == reply["content"]


async def test_cancel_stops_a_remote_reply(api_url: str, worker, llama_server) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url, model="remote")
    await chat.say(LONG_REQUEST, params={"max_new_tokens": 600})
    turn = await chat.until({"token"})
    await chat.send({"type": "cancel", "job_id": turn.of("ack")[0]["job_id"]})
    turn = await chat.until({"done", "error"}, turn)
    await chat.close()

    assert turn.done["message"]["status"] == "cancelled"
    assert turn.done["message"]["completion_tokens"] < 600
    stored = await history(account, session_id)
    assert [m["status"] for m in stored] == ["complete", "cancelled"]


async def test_a_wrong_key_is_a_clear_error_that_never_shows_the_key(
    api_url: str, worker, llama_server, remote_endpoint: RemoteEndpoint
) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url, model="remote-wrong-key")
    await chat.say("Hello?")
    turn = await chat.until({"done", "error"})
    await chat.close()

    error = turn.of("error")[-1]
    assert error["code"] == "remote_auth" and "API key" in error["message"]
    stored = await history(account, session_id)
    assert [m["role"] for m in stored] == ["user"], "the message is kept; no reply is invented"
    for secret in (RemoteEndpoint.WRONG_KEY, remote_endpoint.api_key):
        assert secret not in str(turn.frames)
        assert secret not in (OUTPUT / "worker-remote.log").read_text(errors="replace")
        assert secret not in (OUTPUT / "api.log").read_text(errors="replace")


async def test_a_server_killed_mid_reply_is_a_stream_cut_error(api_url: str, worker, llama_server) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url, model="remote")
    await chat.say(LONG_REQUEST, params={"max_new_tokens": 600})
    turn = await chat.until({"token"})
    llama_server.kill(signal.SIGKILL)
    turn = await chat.until({"done", "error"}, turn)
    await chat.close()

    error = turn.of("error")[-1]
    assert error["code"] == "remote_stream_cut", error
    stored = await history(account, session_id)
    assert [m["role"] for m in stored] == ["user"], "a broken-off reply is not stored as if it were finished"
