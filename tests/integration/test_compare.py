"""Comparing two models on one message, over the WebSocket and REST (NDJSON), through real
workers, PostgreSQL and Redis; preferences, adoption into the chat, export and ownership."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from backend.frames import server_frame_adapter
from tests.support.chat_client import Account, history, new_session, open_new_chat, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def worker(start_worker):  # type: ignore[no-untyped-def]
    return start_worker("worker-compare")


async def compare_over_rest(account: Account, **body: Any) -> list[dict[str, Any]]:
    async with account.api() as client, client.stream("POST", "/api/compare", json=body, timeout=180) as reply:
        assert reply.status_code == 200, await reply.aread()
        assert reply.headers["content-type"].startswith("application/x-ndjson")
        frames = [json.loads(line) async for line in reply.aiter_lines() if line.strip()]
    for frame in frames:  # each line is a frame of backend/frames.py, no field more or less
        assert server_frame_adapter.validate_python(frame).model_dump(mode="json") == frame
    return frames


async def test_compare_over_websocket_streams_both_sides_and_stores_them(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    account, session_id, chat = await open_new_chat(api_url)
    await chat.send({"type": "compare", "client_id": "cmp-1", "content": "I finally told my sister how I feel."})
    turn = await chat.until({"compare_done"}, timeout_s=180)
    await chat.close()

    ack = turn.of("compare_ack")[0]
    assert ack["duplicate"] is False
    assert {s["slot"]: s["model"] for s in ack["sides"]} == {"a": "tiny", "b": "tiny-sampled"}
    for slot in ("a", "b"):
        tokens = [f for f in turn.of("compare_token") if f["slot"] == slot]
        done = next(f for f in turn.of("compare_reply") if f["slot"] == slot)
        assert tokens and all(f["comparison_id"] == ack["comparison_id"] for f in tokens)
        assert done["reply"]["content"] == "".join(f["text"] for f in sorted(tokens, key=lambda f: f["index"]))
        assert done["reply"]["status"] == "complete" and done["reply"]["user_emotion"] is not None
        assert done["reply"]["safety"] is not None and done["reply"]["duration_ms"] > 0
    assert {f["slot"] for f in turn.of("compare_emotion")} == {"a", "b"}, "each side reports the user's emotion"
    assert turn.of("token") == [] and turn.of("done") == [], "no frame a chat client would take for its own reply"
    for frame in turn.frames:  # each is a frame of backend/frames.py, no field more or less
        assert server_frame_adapter.validate_python(frame).model_dump(mode="json") == frame

    stored = turn.of("compare_done")[0]["comparison"]
    assert [r["status"] for r in stored["replies"]] == ["complete", "complete"]
    assert await history(account, session_id) == [], "a comparison stays beside the chat until one reply is chosen"


async def test_preferring_a_reply_adopts_it_into_the_chat_once(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    await wait_ready(api_url)
    account = await sign_up(api_url)
    session_id = await new_session(account)
    frames = await compare_over_rest(account, session_id=session_id, content="Work has been overwhelming lately.")
    comparison = frames[-1]["comparison"]
    assert frames[0]["type"] == "compare_ack" and frames[-1]["type"] == "compare_done"
    reply_b = next(r for r in comparison["replies"] if r["slot"] == "b")

    async with account.api() as client:
        chosen = await client.put(f"/api/compare/{comparison['id']}/preference", json={"choice": "b"})
        assert chosen.status_code == 200 and chosen.json()["preferred"] == "b"
        again = await client.put(f"/api/compare/{comparison['id']}/preference", json={"choice": "a"})
        assert again.json()["preferred"] == "a"
        assert again.json()["adopted_message_id"] == chosen.json()["adopted_message_id"]

    stored = await history(account, session_id)
    assert [(m["role"], m["content"]) for m in stored] == [
        ("user", "Work has been overwhelming lately."),
        ("assistant", reply_b["content"]),
    ], "the chosen reply joins the chat once; changing one's mind later does not add another"
    assert stored[1]["model"] == "tiny-sampled"
    async with account.api() as client:
        session = (await client.get(f"/api/sessions/{session_id}")).json()
    assert session["title"] == "Work has been overwhelming lately", "an adopted first message names the conversation"


async def test_a_resent_comparison_is_replayed_not_generated_again(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    await wait_ready(api_url)
    account = await sign_up(api_url)
    session_id = await new_session(account)
    body = {
        "session_id": session_id,
        "content": "Can you help me calm down?",
        "client_id": "same-id",
        "model_b": "tiny",
    }
    first = await compare_over_rest(account, **body)
    second = await compare_over_rest(account, **body)
    assert second[0]["duplicate"] is True
    assert second[0]["comparison_id"] == first[0]["comparison_id"]
    assert [f["type"] for f in second] == ["compare_ack", "compare_reply", "compare_reply", "compare_done"], (
        "replayed from storage"
    )
    assert second[-1]["comparison"]["replies"] == first[-1]["comparison"]["replies"]
    async with account.api() as client:
        listed = (await client.get("/api/compare", params={"session_id": session_id})).json()["items"]
    assert len(listed) == 1


async def test_comparisons_are_private_and_export_as_jsonl(api_url: str, worker) -> None:  # type: ignore[no-untyped-def]
    await wait_ready(api_url)
    owner, stranger = await sign_up(api_url), await sign_up(api_url)
    session_id = await new_session(owner)
    frames = await compare_over_rest(owner, session_id=session_id, content=f"Private thought {uuid.uuid4().hex}")
    comparison_id = frames[0]["comparison_id"]

    async with stranger.api() as client:
        assert (await client.get(f"/api/compare/{comparison_id}")).status_code == 404
        preference = await client.put(f"/api/compare/{comparison_id}/preference", json={"choice": "a"})
        assert preference.status_code == 404
        foreign = await client.post("/api/compare", json={"session_id": session_id, "content": "hi"})
        assert foreign.status_code == 404
        assert (await client.get("/api/compare/export")).text == ""
        assert (await client.get("/api/compare/export", params={"scope": "all"})).status_code == 403
        assert (await client.get("/api/compare")).json()["items"] == []

    async with owner.api() as client:
        export = await client.get("/api/compare/export")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        rows = [json.loads(line) for line in export.text.splitlines()]
        bad_model = await client.post(
            "/api/compare", json={"session_id": session_id, "content": "x", "model_b": "nope"}
        )
        empty = await client.post("/api/compare", json={"session_id": session_id, "content": "   "})
    assert [row["id"] for row in rows] == [comparison_id]
    assert rows[0]["history"][-1] == {"role": "user", "content": rows[0]["prompt"]}
    assert rows[0]["a"]["content"] and rows[0]["b"]["content"] and rows[0]["preferred"] is None
    assert bad_model.status_code == 503 and bad_model.json()["detail"]["code"] == "model_unavailable"
    assert empty.status_code == 422


async def test_unauthenticated_compare_is_refused(api_url: str) -> None:
    async with httpx.AsyncClient(base_url=api_url) as client:
        assert (await client.post("/api/compare", json={"session_id": "x", "content": "hi"})).status_code == 401
        assert (await client.get("/api/compare/export")).status_code == 401
