"""A WebSocket handler that raises closes its socket with 1011, not a dropped connection (1006)."""

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.ws_errors import CloseWebSocketOnError


async def _fails_after_accept(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    raise RuntimeError("the database went away")


async def _closes_itself(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close(4404, "no such session")
    raise RuntimeError("after the close")


def _client() -> TestClient:
    app = Starlette(routes=[WebSocketRoute("/fails", _fails_after_accept), WebSocketRoute("/closes", _closes_itself)])
    app.add_middleware(CloseWebSocketOnError)
    return TestClient(app)


def test_an_error_after_accept_closes_with_1011() -> None:
    with _client().websocket_connect("/fails") as ws:
        assert ws.receive_text() == "hello"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    assert closed.value.code == 1011


def test_a_socket_the_handler_closed_keeps_its_own_code() -> None:
    with _client().websocket_connect("/closes") as ws, pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == 4404
