"""How a WebSocket ends: the close codes of docs/protocol.md, and what happens when a route raises.

``CloseWebSocketOnError``: without it uvicorn answers an exception escaping a WebSocket handler
by cutting the TCP connection, which a client sees as 1006 (abnormal closure) and cannot tell
from a network fault. Here the error is logged and the socket gets a proper close frame: 1011
("internal error") after the handshake, a refused handshake before it. A route (or a dependency:
``backend.deps.WsUser``) closes with a code of its own by raising ``WebSocketException``, and
``client_left`` ends it quietly when the client went away first.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_UNAUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_AUTH_TIMEOUT = 4408


async def client_left(websocket: WebSocket, exc: WebSocketDisconnect) -> None:
    """The app's handler for ``WebSocketDisconnect``: the client is gone, nothing to close or report."""


class CloseWebSocketOnError:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        closed = False

        async def tracking_send(message: Message) -> None:
            nonlocal closed
            if message["type"] == "websocket.close":
                closed = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("the WebSocket handler for %s failed; closing with 1011", scope.get("path"))
            if not closed:
                try:
                    await send({"type": "websocket.close", "code": CLOSE_INTERNAL, "reason": "internal error"})
                except Exception:  # noqa: BLE001 - the client is already gone
                    log.debug("could not send the 1011 close frame")
