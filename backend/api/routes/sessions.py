"""Chat sessions and their message history."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from backend import crud
from backend.deps import CurrentUser, OwnedSession, PageLimit, PageOffset, SessionDep
from backend.hygiene import PositiveId
from backend.models import ChatSession, utcnow
from backend.schemas import MessagePage, SessionCreate, SessionList, SessionPublic, SessionUpdate
from backend.titles import DEFAULT_TITLE

router = APIRouter(prefix="/api/sessions", tags=["sessions"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SessionPublic)
async def create_session(body: SessionCreate, user: CurrentUser, db: SessionDep) -> ChatSession:
    chat = ChatSession(user_id=user.id, title=body.title or DEFAULT_TITLE, model=body.model)
    db.add(chat)
    await db.commit()
    return chat


@router.get("", response_model=SessionList)
async def list_sessions(
    user: CurrentUser,
    db: SessionDep,
    limit: PageLimit = 50,
    offset: PageOffset = 0,
) -> SessionList:
    items, total = await crud.list_sessions(db, user.id, limit, offset)
    return SessionList(items=[SessionPublic.model_validate(c) for c in items], total=total)


@router.get("/{session_id}", response_model=SessionPublic)
async def read_session(chat: OwnedSession) -> ChatSession:
    return chat


@router.patch("/{session_id}", response_model=SessionPublic)
async def update_session(body: SessionUpdate, chat: OwnedSession, db: SessionDep) -> ChatSession:
    changes = body.model_dump(exclude_unset=True)
    if "title" in changes and changes["title"] is not None:
        chat.title = changes["title"]
    if "model" in changes:
        chat.model = changes["model"]
    chat.updated_at = utcnow()
    await db.commit()
    return chat


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(chat: OwnedSession, db: SessionDep) -> Response:
    await crud.delete_session(db, chat)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{session_id}/messages", response_model=MessagePage)
async def read_history(
    chat: OwnedSession,
    db: SessionDep,
    limit: PageLimit = 50,
    before: Annotated[PositiveId | None, Query()] = None,
) -> MessagePage:
    page, next_before = await crud.message_page(db, chat.id, before, limit)
    return MessagePage(items=[crud.message_public(m) for m in page], next_before=next_before)
