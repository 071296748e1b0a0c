"""Reads and writes of the database, one function per operation; handlers stay thin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from attune.contract import ChatTurn, DoneEvent
from backend.models import AppSetting, AuditLog, ChatSession, Comparison, ComparisonReply, Message, User, utcnow
from backend.schemas import MessagePublic
from backend.titles import DEFAULT_TITLE, title_from_message

DEFAULT_MODEL_KEY = "default_model"
# The fields of the Reply record (attune.contract) that an assistant message stores under the same name.
MESSAGE_COLUMNS = {
    "content",
    "model",
    "model_version",
    "ttft_ms",
    "prompt_tokens",
    "completion_tokens",
    "alignment",
    "safety",
}


# --- users ------------------------------------------------------------------------------
async def get_user_by_email(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def create_user(
    db: AsyncSession, email: str, password_hash: str, display_name: str | None, role: str = "user"
) -> User | None:
    """None when the email is taken (checked by the unique index, so two racing sign-ups can't both win)."""
    user = User(email=email.lower(), password_hash=password_hash, display_name=display_name, role=role)
    db.add(user)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return None
    return user


# --- sessions ---------------------------------------------------------------------------
async def get_owned_session(db: AsyncSession, user_id: int, session_id: str) -> ChatSession | None:
    chat = await db.get(ChatSession, session_id)
    return chat if chat is not None and chat.user_id == user_id else None


async def list_sessions(db: AsyncSession, user_id: int, limit: int, offset: int) -> tuple[list[ChatSession], int]:
    rows = await db.scalars(
        select(ChatSession)
        .where(ChatSession.user_id == user_id)
        .order_by(ChatSession.updated_at.desc(), ChatSession.id)
        .limit(limit)
        .offset(offset)
    )
    total = await db.scalar(select(func.count()).select_from(ChatSession).where(ChatSession.user_id == user_id))
    return list(rows), int(total or 0)


async def touch_session(db: AsyncSession, session_id: str) -> None:
    chat = await db.get(ChatSession, session_id)
    if chat is not None:
        chat.updated_at = utcnow()


# --- messages ---------------------------------------------------------------------------
async def store_user_message(
    db: AsyncSession, session_id: str, client_id: str, content: str, model: str
) -> tuple[Message, bool]:
    """The stored message for this client id, and whether this call created it."""
    existing = await _message_by_client_id(db, session_id, client_id)
    if existing is not None:
        return existing, False
    await _title_from_first_message(db, session_id, content)
    message = Message(session_id=session_id, role="user", content=content, client_id=client_id, model=model)
    db.add(message)
    try:
        await touch_session(db, session_id)
        await db.commit()
    except IntegrityError:  # the same client id arrived twice at once, maybe on two replicas
        await db.rollback()
        existing = await _message_by_client_id(db, session_id, client_id)
        assert existing is not None
        return existing, False
    return message, True


async def _title_from_first_message(db: AsyncSession, session_id: str, content: str) -> None:
    """A session still called "New chat" is named after its first message; a title the user gave stays."""
    chat = await db.get(ChatSession, session_id)
    if chat is None or chat.title != DEFAULT_TITLE:
        return
    if await db.scalar(select(Message.id).where(Message.session_id == session_id, Message.role == "user").limit(1)):
        return
    chat.title = title_from_message(content) or DEFAULT_TITLE


async def _message_by_client_id(db: AsyncSession, session_id: str, client_id: str) -> Message | None:
    return await db.scalar(select(Message).where(Message.session_id == session_id, Message.client_id == client_id))


async def reply_to(db: AsyncSession, user_message_id: int) -> Message | None:
    return await db.scalar(select(Message).where(Message.reply_to_id == user_message_id))


async def store_reply(db: AsyncSession, done: DoneEvent, cached: bool = False) -> Message | None:
    """Store a finished reply exactly once, however many times it is delivered.

    None when the user message is gone (its session was deleted while the reply ran).
    """
    existing = await reply_to(db, done.user_message_id)
    if existing is not None:
        return existing
    user_message = await db.get(Message, done.user_message_id)
    if user_message is None:
        return None
    if done.user_emotion is not None:
        user_message.emotion_label = done.user_emotion.label
        user_message.emotion_scores = done.user_emotion.scores
        fusion = done.user_emotion.fusion
        user_message.emotion_fusion = fusion.model_dump() if fusion is not None else None
    user_message.crisis = done.safety.crisis
    reply = Message(
        session_id=user_message.session_id,
        role="assistant",
        status="cancelled" if done.finish_reason == "cancelled" else "complete",
        job_id=done.job_id,
        reply_to_id=user_message.id,
        cached=cached,
        **done.model_dump(include=MESSAGE_COLUMNS),
        # The columns named otherwise than the Reply record's fields (the schema predates it).
        latency_ms=done.duration_ms,
        emotion_label=done.reply_emotion.label if done.reply_emotion else None,
        emotion_scores=done.reply_emotion.scores if done.reply_emotion else None,
        crisis=done.safety.crisis,
        toxic=done.safety.toxic,
        extras={**done.extras, "finish_reason": done.finish_reason},
    )
    db.add(reply)
    try:
        await touch_session(db, user_message.session_id)
        await db.commit()
    except IntegrityError:  # another replica stored it first
        await db.rollback()
        return await reply_to(db, done.user_message_id)
    return reply


async def set_job_id(db: AsyncSession, message: Message, job_id: str) -> None:
    """Record the job the message's turn was enqueued under (one UPDATE: no read of the row)."""
    await db.execute(update(Message).where(Message.id == message.id).values(job_id=job_id))
    await db.commit()
    message.job_id = job_id


async def owned_job(db: AsyncSession, user_id: int, session_id: str, job_id: str) -> Message | Comparison | None:
    """What a job id addresses in this user's session: the user message it answers, or the
    comparison one of whose sides it is; None for anyone else's job or an unknown one."""
    message = await db.scalar(
        select(Message)
        .where(Message.session_id == session_id, Message.role == "user", Message.job_id == job_id)
        .limit(1)
    )
    if message is not None:
        return message
    return await db.scalar(
        select(Comparison)
        .join(ComparisonReply, ComparisonReply.comparison_id == Comparison.id)
        .where(ComparisonReply.job_id == job_id, Comparison.session_id == session_id, Comparison.user_id == user_id)
        .limit(1)
    )


async def unanswered(db: AsyncSession, older_than: datetime, newer_than: datetime, limit: int) -> list[Message]:
    """User messages created in (newer_than, older_than] that have no stored reply, oldest first."""
    replies = aliased(Message)
    rows = await db.scalars(
        select(Message)
        .outerjoin(replies, replies.reply_to_id == Message.id)
        .where(
            Message.role == "user",
            Message.status != "error",
            Message.created_at <= older_than,
            Message.created_at > newer_than,
            replies.id.is_(None),
        )
        .order_by(Message.id)
        .limit(limit)
    )
    return list(rows)


def _window(session_id: str, up_to_id: int | None, size: int, *extra: Any) -> Select[Any]:
    """The last ``size`` complete messages up to and including ``up_to_id`` (None: the latest), newest first."""
    query = select(Message.role, Message.content, *extra).where(
        Message.session_id == session_id, Message.status != "error"
    )
    if up_to_id is not None:
        query = query.where(Message.id <= up_to_id)
    return query.order_by(Message.id.desc()).limit(size)


async def history_window(db: AsyncSession, session_id: str, up_to_id: int | None, size: int) -> list[ChatTurn]:
    """The last ``size`` complete messages up to and including ``up_to_id`` (None: the latest), oldest first."""
    rows = (await db.execute(_window(session_id, up_to_id, size))).all()
    return [ChatTurn(role=row.role, content=row.content) for row in reversed(rows)]


async def turn_context(db: AsyncSession, session_id: str, up_to_id: int, size: int) -> tuple[list[ChatTurn], bool]:
    """What a turn's job carries, in one query: ``history_window`` up to the user message
    ``up_to_id``, and whether a user message of the session before it was answered as a crisis."""
    earlier = aliased(Message)
    had_crisis = (
        select(earlier.id)
        .where(
            earlier.session_id == session_id,
            earlier.role == "user",
            earlier.crisis.is_(True),
            earlier.id < up_to_id,
        )
        .exists()
    )
    rows = (await db.execute(_window(session_id, up_to_id, size, had_crisis.label("had_crisis")))).all()
    history = [ChatTurn(role=row.role, content=row.content) for row in reversed(rows)]
    return history, bool(rows and rows[0].had_crisis)


async def message_page(
    db: AsyncSession, session_id: str, before: int | None, limit: int
) -> tuple[list[Message], int | None]:
    query = select(Message).where(Message.session_id == session_id)
    if before is not None:
        query = query.where(Message.id < before)
    rows = list(await db.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    page = list(reversed(rows[:limit]))
    return page, (page[0].id if has_more and page else None)


async def in_flight(db: AsyncSession, session_id: str, limit: int = 5) -> list[Message]:
    """Recent user messages whose reply has not been stored yet."""
    replied = select(Message.reply_to_id).where(Message.session_id == session_id, Message.reply_to_id.is_not(None))
    rows = await db.scalars(
        select(Message)
        .where(
            Message.session_id == session_id,
            Message.role == "user",
            Message.job_id.is_not(None),
            Message.id.not_in(replied),
        )
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(rows)


def message_public(message: Message) -> MessagePublic:
    return MessagePublic.model_validate(message, from_attributes=True)


# --- app settings and audit ---------------------------------------------------------------
async def get_app_setting(db: AsyncSession, key: str) -> dict[str, Any] | None:
    row = await db.get(AppSetting, key)
    return dict(row.value) if row else None


async def put_app_setting(db: AsyncSession, key: str, value: dict[str, Any]) -> None:
    row = await db.get(AppSetting, key)
    if row is None:
        db.add(AppSetting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value, row.updated_at = value, utcnow()
    await db.commit()


async def audit(
    db: AsyncSession, actor: User, action: str, target: str | None = None, details: dict[str, Any] | None = None
) -> None:
    db.add(AuditLog(actor_id=actor.id, actor_email=actor.email, action=action, target=target, details=details))
    await db.commit()


async def delete_session(db: AsyncSession, chat: ChatSession) -> None:
    # Comparisons may point at adopted messages, and replies at user messages: children go first,
    # so no database needs deferred checks or ON DELETE support turned on.
    comparisons = select(Comparison.id).where(Comparison.session_id == chat.id)
    await db.execute(delete(ComparisonReply).where(ComparisonReply.comparison_id.in_(comparisons)))
    await db.execute(delete(Comparison).where(Comparison.session_id == chat.id))
    await db.execute(delete(Message).where(Message.session_id == chat.id, Message.role == "assistant"))
    await db.execute(delete(Message).where(Message.session_id == chat.id))
    await db.delete(chat)
    await db.commit()
