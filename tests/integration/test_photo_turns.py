"""A message with a photo, through the real WebSocket, API and worker: the turn's emotion fuses the
face (a tiny ViT that reads every photo as "happy") with the text, is stored with the message,
and the photo itself is stored nowhere."""

from __future__ import annotations

import asyncio
import base64

import psycopg
import pytest
import redis.asyncio as aioredis
import websockets

from tests.fixtures.tiny_vit import FER_LABELS, photo_bytes
from tests.support.chat_client import ChatSocket, history, new_session, open_new_chat, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _photo(image_format: str = "JPEG", media_type: str = "image/jpeg", **kwargs: object) -> dict[str, str]:
    return {
        "media_type": media_type,
        "data": base64.b64encode(photo_bytes(image_format=image_format, **kwargs)).decode(),
    }


async def test_a_photo_turn_stores_the_fused_emotion_and_not_the_photo(
    api_url: str,
    start_worker,
    database_url: str,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    start_worker()
    await wait_ready(api_url)
    account = await sign_up(api_url)
    session_id = await new_session(account)
    async with account.api() as client:
        limits = (await client.get("/api/limits")).json()
    assert limits["image_bytes"] == 1024 * 1024 and limits["image_types"] == ["image/jpeg", "image/png", "image/webp"]

    chat = await ChatSocket.open(account, session_id)
    # Big enough that the frame is over the 16 KiB of a plain frame: allowed for a message with a photo.
    photo = _photo(size=(160, 120), image_format="PNG", media_type="image/png", noisy=True)
    assert len(photo["data"]) > 16 * 1024
    await chat.say("I passed my driving test today", image=photo)
    turn = await chat.until({"done", "error"}, timeout_s=240)
    assert turn.done["type"] == "done", turn.frames
    emotion = turn.of("emotion")[0]["emotion"]
    fusion = emotion["fusion"]
    assert fusion["source"] in {"fused_aligned", "fused_conflict"}
    assert fusion["face"]["label"] == "happy" and fusion["face"]["model"] == "face-emotion"
    assert set(fusion["face"]["scores"]) == set(FER_LABELS)
    assert fusion["text"]["model"] in {"text-emotion", "journal-mood"} and len(fusion["text"]["scores"]) == 28
    assert set(emotion["scores"]) == set(FER_LABELS) and emotion["label"] in FER_LABELS
    if fusion["source"] == "fused_aligned":
        assert emotion["label"] == "happy" and fusion["confidence"] >= fusion["face"]["scores"]["happy"]
    assert 0 < fusion["confidence"] <= 1

    # Without a photo the same socket reads the text alone, as before.
    await chat.say("and now I am going home")
    plain = await chat.until({"done", "error"}, timeout_s=240)
    await chat.close()
    assert plain.of("emotion")[0]["emotion"]["fusion"] is None

    stored = await history(account, session_id)
    assert stored[0]["emotion"] == {key: emotion[key] for key in ("label", "scores", "fusion")} | {"model": None}
    assert stored[2]["emotion"]["fusion"] is None
    assert "image" not in stored[0]

    # The photo is nowhere: not in any column of the database, not in Redis once the job is acked.
    needle = photo["data"][100:160]
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for table in ("messages", "chat_sessions", "comparisons", "comparison_replies", "audit_log"):
            found = await conn.execute(f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s", (f"%{needle}%",))
            assert (await found.fetchone())[0] == 0, table
        row = await (
            await conn.execute("SELECT emotion_fusion FROM messages WHERE id = %s", (stored[0]["id"],))
        ).fetchone()
        assert row[0]["source"] == fusion["source"]
    assert not await _in_redis(redis_url, needle)


async def _in_redis(redis_url: str, needle: str, patience_s: float = 10.0) -> list[str]:
    """The keys whose value holds ``needle``, once the worker had time to ack (it acks after ``done``)."""
    client = aioredis.Redis.from_url(redis_url)
    deadline = asyncio.get_running_loop().time() + patience_s
    try:
        while True:
            holding = []
            async for key in client.scan_iter(count=1000):
                kind = (await client.type(key)).decode()
                if kind == "stream":
                    values = [str(entry) for entry in await client.xrange(key)]
                else:
                    values = [str(await client.get(key))] if kind == "string" else []
                if any(needle in value for value in values):
                    holding.append(key.decode())
            if not holding or asyncio.get_running_loop().time() > deadline:
                return holding
            await asyncio.sleep(0.5)
    finally:
        await client.aclose()


async def test_photos_outside_the_limits_are_refused_with_clear_errors(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    account, session_id, chat = await open_new_chat(api_url)

    gif = _photo(image_format="GIF", media_type="image/jpeg")
    client_id = await chat.say("look at me", image=gif)
    error = await chat.recv()
    assert (error["type"], error["code"], error["client_id"]) == ("error", "bad_image", client_id)
    assert "not a JPEG" in error["message"]
    await chat.say("look at me", image={"media_type": "image/gif", "data": gif["data"]})
    assert (await chat.recv())["code"] == "bad_request"  # not a media type we take
    too_big = {"media_type": "image/jpeg", "data": base64.b64encode(b"\xff\xd8\xff" + b"\0" * (1024 * 1024)).decode()}
    await chat.say("a big one", image=too_big)
    error = await chat.recv()
    assert error["code"] == "image_too_large" and "1.0 MiB" in error["message"]
    assert await history(account, session_id) == []  # nothing refused was stored

    # A frame over the plain limit that is not a message with a photo is closed 1009, like one too big for any.
    await chat.send({"type": "ping", "padding": "x" * 20_000})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await chat.recv()
    assert closed.value.rcvd.code == 1009
    assert "for a message with a photo" in closed.value.rcvd.reason
