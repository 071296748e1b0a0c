"""Typed dependencies shared by the REST and WebSocket routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from attune.broker.base import Broker
from backend import crud
from backend.cache import ResponseCache
from backend.config import Settings
from backend.hygiene import PositiveId
from backend.models import ChatSession, JournalEntry, User
from backend.rate_limit import FrameLimiter
from backend.security import decode_access_token


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


async def get_current_user(
    state: StateDep, db: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    user_id = decode_access_token(credentials.credentials, state.secret_key) if credentials else None
    user = await db.get(User, user_id) if user_id is not None else None
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail={"code": "unauthenticated", "message": "Log in again: the token is missing, invalid or expired."},
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


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
