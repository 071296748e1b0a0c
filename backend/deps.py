"""Typed dependencies shared by the REST and WebSocket routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, WebSocket, WebSocketException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from attune.broker.base import Broker
from backend import crud
from backend.cache import ResponseCache
from backend.config import Settings
from backend.hygiene import Offset, PositiveId
from backend.models import ChatSession, JournalEntry, User
from backend.rate_limit import FrameLimiter
from backend.schemas import AuthFrame, client_frame_adapter
from backend.security import decode_access_token
from backend.ws_errors import CLOSE_AUTH_TIMEOUT, CLOSE_UNAUTHENTICATED


@dataclass
class AppState:
    """Clients built once at start-up and shared by every request."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    broker: Broker
    cache: ResponseCache
    secret_key: str
    frame_limiter: FrameLimiter


def get_state(connection: HTTPConnection) -> AppState:
    return connection.app.state.attune


StateDep = Annotated[AppState, Depends(get_state)]


async def get_db(state: StateDep) -> AsyncIterator[AsyncSession]:
    async with state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_db)]

_bearer = HTTPBearer(auto_error=False)


def api_error(status_code: int, code: str, message: str) -> HTTPException:
    return HTTPException(status_code=status_code, detail={"code": code, "message": message})


async def _user_of_token(db: AsyncSession, token: str | None, secret_key: str) -> User | None:
    user_id = decode_access_token(token, secret_key) if token else None
    return await db.get(User, user_id) if user_id is not None else None


async def get_current_user(
    state: StateDep, db: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    user = await _user_of_token(db, credentials.credentials if credentials else None, state.secret_key)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"code": "unauthenticated", "message": "Log in again: the token is missing, invalid or expired."},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_ws_user(websocket: WebSocket, state: StateDep) -> User:
    """Accept the socket and authenticate it (docs/protocol.md, "Opening"): an ``Authorization:
    Bearer`` header, else an ``auth`` frame first, within ``auth_timeout_s``.

    A socket that fails is closed with its close code (4408 too late, 4401 anything else) by
    raising ``WebSocketException``; a client that leaves meanwhile ends the route quietly
    (``WebSocketDisconnect``, see ``backend.ws_errors``). The accept comes first because the
    auth frame and the close codes both need an open socket.
    """
    await websocket.accept()
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:]
    else:
        token = await _auth_frame_token(websocket, state.settings.auth_timeout_s)
    async with state.sessions() as db:  # only for the lookup: a socket may stay open for hours
        user = await _user_of_token(db, token, state.secret_key)
    if user is None:
        raise WebSocketException(CLOSE_UNAUTHENTICATED, "invalid or expired token")
    return user


async def _auth_frame_token(websocket: WebSocket, timeout_s: float) -> str:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), timeout_s)
    except TimeoutError:
        raise WebSocketException(CLOSE_AUTH_TIMEOUT, "authenticate within 10 s") from None
    except KeyError:  # a binary frame where the auth frame belongs
        raise WebSocketException(CLOSE_UNAUTHENTICATED, "the first frame must be a JSON auth frame") from None
    try:
        frame = client_frame_adapter.validate_json(raw)
    except ValidationError:
        frame = None
    if not isinstance(frame, AuthFrame):
        raise WebSocketException(CLOSE_UNAUTHENTICATED, "the first frame must be auth")
    return frame.token


WsUser = Annotated[User, Depends(get_ws_user)]


async def get_admin(user: CurrentUser) -> User:
    if user.role != "admin":
        raise api_error(status.HTTP_403_FORBIDDEN, "forbidden", "This needs an administrator.")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


async def get_owned_session(session_id: str, user: CurrentUser, db: SessionDep) -> ChatSession:
    chat = await crud.get_owned_session(db, user.id, session_id)
    if chat is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "not_found", "No such chat session.")
    return chat


OwnedSession = Annotated[ChatSession, Depends(get_owned_session)]


async def get_owned_entry(entry_id: Annotated[PositiveId, Path()], user: CurrentUser, db: SessionDep) -> JournalEntry:
    entry = await db.get(JournalEntry, entry_id)
    if entry is None or entry.user_id != user.id:
        raise api_error(status.HTTP_404_NOT_FOUND, "not_found", "No such journal entry.")
    return entry


OwnedEntry = Annotated[JournalEntry, Depends(get_owned_entry)]

# The query parameters of a listing's page: how many rows (at most 200) and how many to skip.
PageLimit = Annotated[int, Query(ge=1, le=200)]
PageOffset = Annotated[Offset, Query()]
