"""A chat turn through the real API, WebSocket, PostgreSQL, Redis Streams and worker processes."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import websockets

from backend.frames import server_frame_adapter
from tests.support.chat_client import ChatSocket, history, new_session, open_new_chat, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def worker(start_worker):  # type: ignore[no-untyped-def]
    return start_worker()


async def test_turn_streams_tokens_and_persists_the_reply(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url)
    client_id = await chat.say("Hello, I had a long day.")
    turn = await chat.until({"done", "error"})
    await chat.close()

    assert turn.of("error") == []
    ack = turn.of("ack")[0]
    assert ack["client_id"] == client_id and ack["duplicate"] is False
    tokens = turn.of("token")
    assert len(tokens) >= 2, "the reply should arrive in several pieces"
    assert [t["index"] for t in tokens] == list(range(len(tokens)))
    reply = turn.done["message"]
    finish = turn.done["finish_reason"]
    assert finish in ("stop", "length") and reply["extras"]["finish_reason"] == finish
    assert reply["content"] == turn.streamed_text and reply["content"]  # what was streamed is what is stored
    assert reply["cached"] is False and reply["model"] == "tiny"
    for frame in turn.frames:  # each is a frame of backend/frames.py, no field more or less
        assert server_frame_adapter.validate_python(frame).model_dump(mode="json") == frame
    # Relayed from the job's stream: every event names its position, and the emotion its message.
    assert all(f["event_id"] for f in [*turn.of("emotion"), *tokens, turn.done])
    assert all(f["message_id"] == ack["message_id"] for f in turn.of("emotion"))

    stored = await history(account, session_id)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[0]["content"] == "Hello, I had a long day."
    assert stored[1]["content"] == reply["content"] and stored[1]["reply_to_id"] == stored[0]["id"]


async def test_a_model_picked_while_the_socket_is_open_answers_the_next_message(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url)
    async with account.api() as client:
        (await client.patch(f"/api/sessions/{session_id}", json={"model": "tiny-sampled"})).raise_for_status()
    await chat.say("Which model answers me now?")
    turn = await chat.until({"done", "error"})
    await chat.close()
    assert turn.done["message"]["model"] == "tiny-sampled"


async def test_identical_request_is_a_cache_hit(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    await wait_ready(api_url)
    account = await sign_up(api_url)
    text = f"Is this answer cached? {uuid.uuid4().hex}"
    turns = []
    for _ in range(2):
        chat = await ChatSocket.open(account, await new_session(account))
        await chat.say(text)
        turns.append(await chat.until({"done"}))
        await chat.close()
    first, second = (turn.done for turn in turns)
    assert first["cached"] is False
    assert second["cached"] is True and second["message"]["cached"] is True
    assert second["message"]["content"] == first["message"]["content"]
    # A cached reply has no stream to resume: its frames say so with a null event id.
    cached = [*turns[1].of("emotion"), *turns[1].of("token"), second]
    assert len(cached) >= 2 and all(f["event_id"] is None for f in cached)
    ack = turns[1].of("ack")[0]
    assert all(f["message_id"] == ack["message_id"] for f in turns[1].of("emotion"))


async def test_resent_client_id_is_stored_once(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url)
    client_id = await chat.say("Say it once")
    first = await chat.until({"done"})
    await chat.say("Say it once", client_id=client_id)
    again = await chat.until({"done"})
    await chat.close()

    assert again.of("ack")[0]["duplicate"] is True
    assert again.of("ack")[0]["message_id"] == first.of("ack")[0]["message_id"]
    assert again.done["message"]["id"] == first.done["message"]["id"]
    assert again.done["event_id"] is None, "answered from storage, not from the job's stream"
    roles = [m["role"] for m in await history(account, session_id)]
    assert roles == ["user", "assistant"]


async def test_cancel_stops_generation_and_keeps_the_partial_reply(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url, model="slow")
    await chat.say("Tell me a very long story.")
    turn = await chat.until({"token"})
    job_id = turn.of("ack")[0]["job_id"]
    cancelled_at = time.monotonic()
    await chat.send({"type": "cancel", "job_id": job_id})
    turn = await chat.until({"done", "error"}, turn)
    await chat.close()

    assert turn.done["message"]["status"] == "cancelled"
    assert time.monotonic() - cancelled_at < 15
    assert turn.done["message"]["completion_tokens"] < 1500
    stored = await history(account, session_id)
    assert stored[-1]["status"] == "cancelled" and stored[-1]["content"] == turn.done["message"]["content"]


async def test_killed_worker_is_replaced_and_the_reply_is_stored_once(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    first = start_worker("worker-a")
    account, session_id, chat = await open_new_chat(api_url, model="slow")
    await chat.say("Please keep talking for a while.", params={"max_new_tokens": 120})
    turn = await chat.until({"token"})
    for _ in range(3):
        turn = await chat.until({"token"}, turn)
    first.kill()  # SIGKILL mid-reply: no chance to clean up
    start_worker("worker-b")
    turn = await chat.until({"done", "error"}, turn, timeout_s=180)
    await chat.close()

    assert turn.of("error") == []
    reply = turn.done["message"]
    indices = [t["index"] for t in turn.of("token")]
    assert indices == list(range(len(indices))), "no piece of the reply is sent twice or skipped"
    assert reply["content"] == turn.streamed_text, "the second worker continues the text, it does not restart it"
    before_kill = "".join(t["text"] for t in turn.of("token")[:4])
    assert reply["content"].count(before_kill) == 1
    stored = await history(account, session_id)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["content"] == reply["content"]


async def test_another_user_cannot_read_or_write_the_session(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    owner = await sign_up(api_url)
    intruder = await sign_up(api_url)
    session_id = await new_session(owner)
    async with intruder.api() as client:
        assert (await client.get(f"/api/sessions/{session_id}")).status_code == 404
        assert (await client.get(f"/api/sessions/{session_id}/messages")).status_code == 404
        assert (await client.patch(f"/api/sessions/{session_id}", json={"title": "mine"})).status_code == 404
        assert (await client.delete(f"/api/sessions/{session_id}")).status_code == 404
    with pytest.raises(websockets.ConnectionClosed) as closed:
        chat = await ChatSocket.open(intruder, session_id)
        await chat.recv()
    assert closed.value.rcvd.code == 4404


async def test_a_conversation_is_named_after_its_first_message_and_a_given_title_stays(api_url: str) -> None:
    account = await sign_up(api_url)
    untitled = await new_session(account)
    named = await new_session(account, title="Work worries")
    for session_id in (untitled, named):
        chat = await ChatSocket.open(account, session_id)
        for content in ("I keep\nthinking about the argument with my sister last night.", "And I can't sleep."):
            await chat.say(content)
            assert (await chat.until({"ack", "error"})).frames[-1]["type"] == "ack"
        await chat.close()
    async with account.api() as client:
        titles = {s["id"]: s["title"] for s in (await client.get("/api/sessions")).json()["items"]}
        assert titles[untitled] == "I keep thinking about the argument with…"
        assert titles[named] == "Work worries"
        renamed = await client.patch(f"/api/sessions/{untitled}", json={"title": "Sister"})
        assert renamed.json()["title"] == "Sister"
    chat = await ChatSocket.open(account, untitled)
    await chat.say("Still thinking about it.")
    await chat.until({"ack", "error"})
    await chat.close()
    async with account.api() as client:
        assert (await client.get(f"/api/sessions/{untitled}")).json()["title"] == "Sister"


async def test_bad_input_gets_errors_and_close_codes(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account = await sign_up(api_url)
    session_id = await new_session(account)
    chat = await ChatSocket.open(account, session_id)
    await chat.ws.send("{not json")
    assert (await chat.recv())["code"] == "bad_request"
    await chat.send({"type": "shout"})
    assert (await chat.recv())["code"] == "bad_request"
    await chat.say("x" * 5000)
    assert (await chat.recv())["code"] == "bad_request"
    await chat.send({"type": "ping"})
    assert (await chat.recv())["type"] == "pong"
    await chat.ws.send("y" * 20_000)
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await chat.recv()
    assert closed.value.rcvd.code == 1009

    url = api_url.replace("http", "ws", 1) + f"/ws/chat/{session_id}"
    async with websockets.connect(url) as ws:
        await ws.send('{"type": "auth", "token": "forged"}')
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4401
    assert len(await history(account, session_id)) == 0


async def test_reconnecting_client_finds_the_reply_in_history(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url)
    await chat.say("I'll be right back")
    await chat.until({"ack"})
    await chat.close()  # gone before the reply is finished

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        stored = await history(account, session_id)
        if len(stored) == 2:
            break
        await asyncio.sleep(0.5)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["content"]
