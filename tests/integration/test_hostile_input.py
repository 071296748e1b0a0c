"""Hostile and malformed input through the real API, WebSocket, PostgreSQL and Redis: another
user's job ids, bad cursors, NUL and lone surrogates, integers beyond int64, frame floods,
and tokens in query strings (docs/protocol.md, "Error codes")."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets

from tests.integration.conftest import OUTPUT
from tests.support.chat_client import ChatSocket, new_session, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _pong(chat: ChatSocket) -> None:
    """The socket is still open and answering."""
    await chat.send({"type": "ping"})
    while (await chat.recv(10))["type"] != "pong":
        pass


async def test_another_users_job_is_not_found_for_resume_and_cancel(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    await wait_ready(api_url)
    alice, bob = await sign_up(api_url), await sign_up(api_url)
    alice_chat = await ChatSocket.open(alice, await new_session(alice))
    await alice_chat.say("Hello there, how are you?")
    turn = await alice_chat.until({"token"})
    job_id = turn.of("ack")[0]["job_id"]

    bob_chat = await ChatSocket.open(bob, await new_session(bob))
    await bob_chat.send({"type": "resume", "job_id": job_id})
    refused = await bob_chat.recv(10)
    assert refused["type"] == "error" and refused["code"] == "not_found", refused
    assert "session_id" not in refused and "message" in refused
    await bob_chat.send({"type": "cancel", "job_id": job_id})
    refused = await bob_chat.recv(10)
    assert refused["type"] == "error" and refused["code"] == "not_found", refused
    await _pong(bob_chat)
    await bob_chat.close()

    turn = await alice_chat.until({"done", "error"}, turn)
    assert turn.done["message"]["status"] == "complete"  # Bob's cancel did not stop it

    # Alice's own finished job: cancel says it is not running, resume answers the stored reply.
    await alice_chat.send({"type": "cancel", "job_id": job_id})
    assert await alice_chat.recv(10) == {"type": "cancel_ack", "job_id": job_id, "running": False}
    await alice_chat.send({"type": "resume", "job_id": job_id, "after": "0"})
    resumed = await alice_chat.recv(10)
    assert resumed["type"] == "done" and resumed["message"]["id"] == turn.done["message"]["id"]
    await alice_chat.close()


async def test_unknown_jobs_and_bad_cursors_are_answered_at_once(api_url: str) -> None:
    account = await sign_up(api_url)
    chat = await ChatSocket.open(account, await new_session(account))
    started = time.monotonic()
    await chat.send({"type": "resume", "job_id": uuid.uuid4().hex})
    frame = await chat.recv(10)
    assert frame["code"] == "not_found" and time.monotonic() - started < 5
    await chat.send({"type": "cancel", "job_id": uuid.uuid4().hex})
    assert (await chat.recv(10))["code"] == "not_found"
    await chat.send({"type": "cancel"})
    assert (await chat.recv(10))["code"] == "not_found"
    for cursor in ("garbage", "1-2-3", "-1", "99999999999999999999999-0", "1-\u0000"):
        await chat.send({"type": "resume", "job_id": uuid.uuid4().hex, "after": cursor})
        frame = await chat.recv(10)
        assert frame["type"] == "error" and frame["code"] == "bad_request", (cursor, frame)
        assert "Traceback" not in frame["message"]
    await _pong(chat)
    await chat.close()


async def test_nul_and_lone_surrogates_are_bad_requests_and_the_socket_stays_open(api_url: str) -> None:
    account = await sign_up(api_url)
    session_id = await new_session(account)
    chat = await ChatSocket.open(account, session_id)
    bad_frames = [
        '{"type": "message", "client_id": "c1", "content": "hello\\u0000world"}',
        '{"type": "message", "client_id": "c\\u0000", "content": "hello"}',
        '{"type": "message", "client_id": "c2", "content": "half a pair \\ud83d"}',
        '{"type": "compare", "client_id": "c3", "content": "x\\u0000"}',
        '{"type": "resume", "job_id": "\\u0000"}',
        '{"type": "cancel", "job_id": "\\udc00"}',
    ]
    for raw in bad_frames:
        await chat.ws.send(raw)
        frame = await chat.recv(10)
        assert frame["type"] == "error" and frame["code"] == "bad_request", (raw, frame)
    await _pong(chat)
    await chat.close()
    async with account.api() as client:
        assert (await client.get(f"/api/sessions/{session_id}/messages")).json()["items"] == []


async def test_rest_refuses_bad_text_and_out_of_range_integers_with_422(api_url: str) -> None:
    account = await sign_up(api_url)
    session_id = await new_session(account)
    async with account.api() as client:
        refused = [
            await client.post("/api/journal", json={"text": "dear diary\u0000"}),
            await client.post(
                "/api/journal",
                content='{"text": "lone \\udc00 surrogate"}',
                headers={"content-type": "application/json"},
            ),
            await client.get("/api/journal", params={"q": "a\u0000b"}),
            await client.patch(f"/api/sessions/{session_id}", json={"title": "t\u0000"}),
            await client.post("/api/sessions", json={"title": "t\u0000"}),
            await client.get(f"/api/sessions/{session_id}%00"),
            await client.get("/api/sessions", params={"offset": 2**63}),
            await client.get("/api/journal", params={"offset": 10**30}),
            await client.get(f"/api/sessions/{session_id}/messages", params={"before": 2**64}),
            await client.get(f"/api/journal/{2**63}"),
            await client.get("/api/journal/99999999999999999999999999"),
        ]
        statuses = [r.status_code for r in refused]
        assert statuses == [422] * len(refused), [(r.request.url, r.status_code, r.text[:200]) for r in refused]
        # The largest int64 is in range: an ordinary "no such entry".
        assert (await client.get(f"/api/journal/{2**63 - 1}")).status_code == 404
        assert (await client.get("/api/sessions", params={"offset": 2**63 - 1})).status_code == 200
    async with httpx.AsyncClient(base_url=api_url) as anonymous:
        for password, display_name in [("pass\u0000word!!", "x"), ("password!!", "x\u0000")]:
            signup = await anonymous.post(
                "/api/auth/signup",
                json={
                    "email": f"n-{uuid.uuid4().hex[:8]}@example.com",
                    "password": password,
                    "display_name": display_name,
                },
            )
            assert signup.status_code == 422, (password, display_name)


async def test_a_burst_of_frames_meets_the_limit_as_it_arrives(api_url: str) -> None:
    account = await sign_up(api_url)
    chat = await ChatSocket.open(account, await new_session(account))
    await asyncio.gather(*(chat.send({"type": "ping"}) for _ in range(60)))
    answers = [await chat.recv(10) for _ in range(60)]
    pongs = sum(a["type"] == "pong" for a in answers)
    limited = sum(a.get("code") == "rate_limited" for a in answers)
    assert pongs <= 40 and limited >= 20 and pongs + limited == 60, (pongs, limited)
    await chat.close()


async def test_a_token_in_the_query_string_never_reaches_the_log(api_url: str) -> None:
    account = await sign_up(api_url)
    session_id = await new_session(account)
    secret = account.token
    url = api_url.replace("http", "ws", 1) + f"/ws/chat/{session_id}?token={secret}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "not-a-token"}))
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    async with httpx.AsyncClient(base_url=api_url) as client:
        await client.get("/api/sessions", params={"token": secret})
    await asyncio.sleep(0.5)
    log = (OUTPUT / "api.log").read_text(errors="replace")
    assert "token=[scrubbed]" in log
    assert secret not in log and secret.split(".")[-1] not in log
