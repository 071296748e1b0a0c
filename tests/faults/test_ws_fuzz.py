"""Frames of every shape and byte content at the chat WebSocket (hypothesis): each is answered
with a documented ``error`` code or handled, the socket stays open unless the frame earns a
documented close code (1008, 1009), and never 1006 or 1011 (docs/protocol.md)."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.faults.stack import FaultStack

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(240)]

ERROR_CODES = {
    "bad_request",
    "bad_image",
    "image_too_large",
    "rate_limited",
    "model_unavailable",
    "busy",
    "not_found",
    "generation_failed",
    "internal",
}
ALLOWED_CLOSES = {1008, 1009}
FRAME_TYPES = ["message", "compare", "cancel", "resume", "ping", "auth", "typing", "", "MESSAGE"]

text = st.text(
    st.characters(codec="utf-8") | st.sampled_from(["\x00", "\ud800", "\udfff", "\ufffe", "\u202e"]), max_size=40
)
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | text
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "client_id": values | text,
        "content": values | text,
        "job_id": values | text,
        "after": values | text,
        "model": values,
        "model_a": values,
        "model_b": values,
        "params": values,
        "image": values,
        "locale": values,
        "token": values,
        "extra": values,
    },
)
json_frames = st.builds(
    lambda kind, rest: json.dumps({"type": kind, **rest}), st.sampled_from(FRAME_TYPES) | text, fields
)
raw_frames = (
    json_frames | st.binary(max_size=64) | text.map(str) | values.map(lambda v: json.dumps(v)) | st.just("x" * 20_000)
)


@pytest.fixture(scope="module")
def chat(fault_stack: FaultStack) -> dict[str, Any]:
    base = fault_stack.url()
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post(
            "/api/auth/signup", json={"email": "fuzz-ws@example.com", "password": "correct horse battery"}
        ).json()["access_token"]
        session = client.post(
            "/api/sessions", json={"title": "fuzz"}, headers={"Authorization": f"Bearer {token}"}
        ).json()["id"]
    return {"url": base.replace("http", "ws", 1) + f"/ws/chat/{session}", "token": token, "socket": None}


def _socket(chat: dict[str, Any]) -> ClientConnection:
    if chat["socket"] is None:
        ws = connect(chat["url"], open_timeout=20, max_size=2**22)
        ws.send(json.dumps({"type": "auth", "token": chat["token"]}))
        assert json.loads(ws.recv(20))["type"] == "ready"
        chat["socket"] = ws
    return chat["socket"]


def _check_frame(frame: dict[str, Any], sent: str | bytes) -> None:
    assert isinstance(frame, dict) and "type" in frame, frame
    if frame["type"] == "error":
        assert frame.get("code") in ERROR_CODES and frame["code"] != "internal", (sent, frame)
        assert isinstance(frame.get("message"), str) and "Traceback" not in frame["message"], frame


@settings(
    max_examples=int(os.environ.get("ATTUNE_WS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(raw=raw_frames)
def test_any_frame_gets_a_documented_answer_and_never_crashes_the_socket(
    chat: dict[str, Any], raw: str | bytes
) -> None:
    ws = _socket(chat)
    try:
        ws.send(raw)
        ws.send(json.dumps({"type": "ping"}))
        while True:  # everything the fuzzed frame caused, up to the pong that follows it
            frame = json.loads(ws.recv(15))
            _check_frame(frame, raw)
            if frame["type"] == "pong":
                break
    except ConnectionClosed as closed:
        chat["socket"] = None
        code = closed.rcvd.code if closed.rcvd is not None else 1006
        assert code in ALLOWED_CLOSES, f"{raw!r:.200} closed the socket with {code}"
