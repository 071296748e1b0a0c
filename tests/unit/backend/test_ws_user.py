"""``WsUser`` authenticates a WebSocket as docs/protocol.md says: a Bearer header or a first ``auth``
frame in time, else the socket closes with 4401 (bad or missing token) or 4408 (too late)."""

from __future__ import annotations

import contextlib
import json
import logging
from types import SimpleNamespace

import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from starlette.testclient import TestClient

from backend.deps import WsUser
from backend.security import create_access_token
from backend.ws_errors import CloseWebSocketOnError, client_left

SECRET = "s" * 48
ALICE = SimpleNamespace(id=7, email="alice@example.com")


class _Users:
    async def get(self, model: object, user_id: int) -> object | None:
        return ALICE if user_id == ALICE.id else None


def _client(auth_timeout_s: float = 5.0) -> TestClient:
    app = FastAPI()
    app.add_middleware(CloseWebSocketOnError)
    app.add_exception_handler(WebSocketDisconnect, client_left)  # type: ignore[arg-type]

    @contextlib.asynccontextmanager
    async def sessions():  # type: ignore[no-untyped-def]
        yield _Users()

    app.state.attune = SimpleNamespace(
        settings=SimpleNamespace(auth_timeout_s=auth_timeout_s), secret_key=SECRET, sessions=sessions
    )

    @app.websocket("/ws")
    async def whoami(websocket: WebSocket, user: WsUser) -> None:
        await websocket.send_text(str(user.id))
        await websocket.close()

    return TestClient(app)


def _token(user_id: int = ALICE.id) -> str:
    return create_access_token(user_id, SECRET, minutes=5)


def test_a_bearer_header_or_a_first_auth_frame_authenticates() -> None:
    with _client().websocket_connect("/ws", headers={"Authorization": f"Bearer {_token()}"}) as ws:
        assert ws.receive_text() == "7"
    with _client().websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "auth", "token": _token()}))
        assert ws.receive_text() == "7"


@pytest.mark.parametrize(
    "first_frame",
    [
        {"type": "auth", "token": "forged"},
        {"type": "ping"},
        "not json",
        b"\x00binary",
    ],
)
def test_anything_but_a_valid_auth_frame_closes_with_4401(first_frame: object) -> None:
    with _client().websocket_connect("/ws") as ws:
        if isinstance(first_frame, bytes):
            ws.send_bytes(first_frame)
        else:
            ws.send_text(first_frame if isinstance(first_frame, str) else json.dumps(first_frame))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 4401


def test_an_unknown_user_or_a_bad_header_closes_with_4401() -> None:
    for headers in ({"Authorization": f"Bearer {_token(99)}"}, {"Authorization": "Bearer forged"}):
        with _client().websocket_connect("/ws", headers=headers) as ws, pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 4401


def test_no_auth_frame_in_time_closes_with_4408() -> None:
    with _client(auth_timeout_s=0.2).websocket_connect("/ws") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 4408


def test_a_client_that_leaves_before_authenticating_is_no_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR), _client().websocket_connect("/ws") as ws:
        ws.close()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
