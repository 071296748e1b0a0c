"""The database tables. The schema itself is created only by the Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from attune.contract import EmotionReading, FusedEmotion
from backend.titles import DEFAULT_TITLE

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="user")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatSession(Base):
    __tablename__ = "chat_sessions"
    __table_args__ = (Index("ix_chat_sessions_user_updated", "user_id", "updated_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default=DEFAULT_TITLE)
    model: Mapped[str | None] = mapped_column(String(100))  # None: follow the default model
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # A resent client id finds its message instead of creating a second one.
        UniqueConstraint("session_id", "client_id"),
        Index("ix_messages_session_id_id", "session_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="complete")  # complete | cancelled | error
    client_id: Mapped[str | None] = mapped_column(String(64))
    # user message: the job generating its reply; assistant message: the job that produced it
    job_id: Mapped[str | None] = mapped_column(String(64))
    # One reply per user message, however often its job is delivered.
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    model: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(64))
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    emotion_label: Mapped[str | None] = mapped_column(String(32))
    emotion_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A user message sent with a photo: attune.contract.FusedEmotion (the photo itself is never stored).
    emotion_fusion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    alignment: Mapped[float | None] = mapped_column(Float)
    crisis: Mapped[bool] = mapped_column(Boolean, default=False)
    toxic: Mapped[bool] = mapped_column(Boolean, default=False)
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def emotion(self) -> EmotionReading | None:
        """The stored reading of this message (``MessagePublic.emotion``), from its three columns."""
        if not self.emotion_label:
            return None
        fusion = FusedEmotion.model_validate(self.emotion_fusion) if self.emotion_fusion else None
        return EmotionReading(label=self.emotion_label, scores=self.emotion_scores or {}, fusion=fusion)


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    mood: Mapped[str] = mapped_column(String(16), default="pending")
    mood_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    classifier_version: Mapped[str | None] = mapped_column(String(64))
    # The tagging job whose result this entry waits for; older results (for text since edited) are ignored.
    tag_job_id: Mapped[str | None] = mapped_column(String(64))
    tag_requested_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """Settings an administrator changes at run time (the default chat model, re-tag progress)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Comparison(Base):
    """One user message answered by two models side by side (``POST /api/compare``)."""

    __tablename__ = "comparisons"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id"),
        Index("ix_comparisons_user_created", "user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(ForeignKey("chat_sessions.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)  # the user message both models answered
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the turns sent to both, oldest first
    preferred: Mapped[str | None] = mapped_column(String(8))  # a | b | tie
    preferred_at: Mapped[datetime | None] = mapped_column()
    adopted_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ComparisonReply(Base):
    """One side of a comparison; ``status`` goes pending → complete | cancelled | error exactly once."""

    __tablename__ = "comparison_replies"
    __table_args__ = (UniqueConstraint("comparison_id", "slot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    comparison_id: Mapped[str] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(1))  # a | b
    model: Mapped[str] = mapped_column(String(100))
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    content: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str | None] = mapped_column(String(64))
    finish_reason: Mapped[str | None] = mapped_column(String(16))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    duration_ms: Mapped[float | None] = mapped_column(Float)
    user_emotion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reply_emotion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    alignment: Mapped[float | None] = mapped_column(Float)
    safety: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column()
