"""Emotion in every turn and the crisis path, through the real WebSocket and worker."""

from __future__ import annotations

import pytest

from tests.support.chat_client import ChatSocket, history, new_session, sign_up, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_the_users_emotion_arrives_before_the_reply_and_is_stored(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    await wait_ready(api_url)
    account = await sign_up(api_url)
    session_id = await new_session(account)
    chat = await ChatSocket.open(account, session_id)
    await chat.say("I am so scared about my exam results")
    turn = await chat.until({"done", "error"}, timeout_s=240)
    await chat.close()

    kinds = [f["type"] for f in turn.frames]
    assert "emotion" in kinds and kinds.index("emotion") < kinds.index("token")
    emotion = turn.of("emotion")[0]["emotion"]
    assert emotion["label"] in emotion["scores"] and len(emotion["scores"]) == 28  # GoEmotions' labels
    done = turn.done
    assert -1.0 <= done["alignment"] <= 1.0
    assert done["message"]["emotion"]["label"] in emotion["scores"]  # the reply's emotion
    stored = await history(account, session_id)
    assert stored[0]["emotion"]["label"] == emotion["label"]
    assert stored[1]["alignment"] == pytest.approx(done["alignment"])


@pytest.mark.parametrize("message", ["I want to kill myself", "honestly i dont want to be alive anymore", "thinking of ending it all tonight"])
async def test_a_crisis_gets_the_fixed_resource_reply(api_url: str, start_worker, message: str) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    await wait_ready(api_url)
    account = await sign_up(api_url)
    session_id = await new_session(account)
    chat = await ChatSocket.open(account, session_id)
    await chat.say(message)
    turn = await chat.until({"done", "error"}, timeout_s=240)
    await chat.close()

    done = turn.done
    assert done["safety"]["crisis"] is True
    assert done["safety"]["resources"], "the reply must give crisis lines"
    assert done["message"]["status"] == "complete" and done["cached"] is False
    stored = await history(account, session_id)
    assert stored[1]["safety"]["crisis"] is True
    assert stored[1]["content"] == done["message"]["content"]


async def test_a_negated_mention_is_not_a_crisis(api_url: str, start_worker) -> None:  # type: ignore[no-untyped-def]
    start_worker()
    await wait_ready(api_url)
    account = await sign_up(api_url)
    chat = await ChatSocket.open(account, await new_session(account))
    await chat.say("I would never hurt myself, I just had a frustrating day")
    turn = await chat.until({"done", "error"}, timeout_s=240)
    await chat.close()
    assert turn.done["safety"]["crisis"] is False
