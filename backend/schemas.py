"""Request and response bodies, named for their role (see docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, field_validator

from attune.contract import SENT_WHOLE, DecodingParams, EmotionReading, ImageMediaType, ModelState, SafetyVerdict
from backend.hygiene import CleanModel

# The version of the client protocol: the REST bodies and WebSocket frames of this module, as
# docs/protocol.md describes them (its title, and `ready.protocol` on every chat socket). Additive
# changes keep it, anything else raises it. frontend/src/lib/protocol.ts speaks the version in the
# document's title; tests/unit/backend/test_protocol_version.py checks that all three agree. The
# backend <-> worker messages have their own version, attune.contract.CONTRACT_VERSION.
PROTOCOL_VERSION = 1

MOODS = ("joy", "sadness", "fear", "anger", "love", "surprise")
JOURNAL_MAX_CHARS = 10_000  # a chat message's limit is a setting: Settings.max_message_chars


class PublicModel(BaseModel):
    """A body the server sends: whole, defaults included, so its OpenAPI schema (the front end's
    REST types, scripts/gen_openapi.py) lists every field as required."""

    model_config = SENT_WHOLE


class HealthPublic(PublicModel):
    status: Literal["ok"] = "ok"


class ErrorBody(BaseModel):
    code: str
    message: str


# --- auth ---------------------------------------------------------------------------
class UserCreate(CleanModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    display_name: str | None = Field(default=None, max_length=100)


class UserLogin(CleanModel):
    email: EmailStr
    password: str = Field(max_length=256)


class UserPublic(PublicModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str | None
    role: Literal["user", "admin"]
    created_at: datetime


class TokenPublic(PublicModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserPublic


# --- sessions and messages -------------------------------------------------------------
class SessionCreate(CleanModel):
    title: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=100)


class SessionUpdate(CleanModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=100)


class SessionPublic(PublicModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    model: str | None
    created_at: datetime
    updated_at: datetime


class SessionList(PublicModel):
    items: list[SessionPublic]
    total: int


class MessagePublic(PublicModel):
    id: int
    session_id: str
    role: Literal["user", "assistant"]
    content: str
    model: str | None
    cached: bool
    status: str
    created_at: datetime
    client_id: str | None
    reply_to_id: int | None
    emotion: EmotionReading | None
    alignment: float | None
    safety: SafetyVerdict | None
    extras: dict[str, Any]
    latency_ms: float | None
    ttft_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None

    @field_validator("extras", mode="before")
    @classmethod
    def _no_extras(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        return dict(value or {})


class MessagePage(PublicModel):
    items: list[MessagePublic]
    next_before: int | None


class BuildPublic(PublicModel):
    """A model, chat or classifier, that a first run is still building (``GET /api/builds``)."""

    name: str
    kind: str
    progress: float
    eta_s: float | None
    reason: str | None


class LimitsPublic(PublicModel):
    """The lengths the server enforces, in characters (code points), so a client shows the same ones."""

    message_chars: int
    journal_chars: int
    image_bytes: int  # the largest photo a chat message may carry, decoded (0: photos are off)
    image_types: list[ImageMediaType]  # the photo formats accepted


class ModelPublic(PublicModel):
    name: str
    kind: str
    state: ModelState
    reason: str | None = None
    default: bool = False
    description: str | None = None
    progress: float | None = None  # while building: the share done, 0..1
    eta_s: float | None = None  # while building: seconds left, estimated


# --- WebSocket frames, client -> server -------------------------------------------------
class ImageUpload(CleanModel):
    """A message's photo; its size and bytes are checked in ``backend.chat.turn`` against the settings."""

    media_type: ImageMediaType
    data: str = Field(min_length=1, description="the photo's bytes, base64 (standard alphabet, padded)")


class MessageFrame(CleanModel):
    type: Literal["message"]
    client_id: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1)
    model: str | None = Field(default=None, max_length=100)
    params: DecodingParams | None = None
    # The browser's locale ("es-MX"): which country's crisis lines a crisis reply lists.
    locale: str | None = Field(default=None, max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
    # A photo of the person for this turn's emotion: read by the worker in memory, never stored.
    image: ImageUpload | None = None


class CancelFrame(CleanModel):
    type: Literal["cancel"]
    job_id: str | None = Field(default=None, max_length=64)


class ResumeFrame(CleanModel):
    type: Literal["resume"]
    job_id: str = Field(max_length=64)
    after: str = Field(default="0", max_length=64, description='an event id ("0": from the start)')


class CompareFrame(CleanModel):
    """One message answered by two models side by side (stored as a comparison, not in the chat)."""

    type: Literal["compare"]
    client_id: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1)
    model_a: str | None = Field(default=None, max_length=100, description="default: the session's model")
    model_b: str | None = Field(default=None, max_length=100, description="default: the comparison model")
    params: DecodingParams | None = None


class PingFrame(CleanModel):
    type: Literal["ping"]


class AuthFrame(CleanModel):
    type: Literal["auth"]
    token: str = Field(max_length=4096)


ClientFrame = Annotated[
    MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame, Field(discriminator="type")
]
client_frame_adapter: TypeAdapter[MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame] = (
    TypeAdapter(ClientFrame)
)


# --- comparisons -----------------------------------------------------------------------
class CompareRequest(CleanModel):
    session_id: str = Field(max_length=36)
    content: str = Field(min_length=1)
    client_id: str | None = Field(default=None, min_length=1, max_length=64, description="resend-safe id")
    model_a: str | None = Field(default=None, max_length=100, description="default: the session's model")
    model_b: str | None = Field(default=None, max_length=100, description="default: the comparison model")
    params: DecodingParams | None = None


class ComparisonReplyPublic(PublicModel):
    slot: Literal["a", "b"]
    model: str
    job_id: str
    status: Literal["pending", "complete", "cancelled", "error"]
    content: str | None
    model_version: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    ttft_ms: float | None
    duration_ms: float | None
    user_emotion: EmotionReading | None
    reply_emotion: EmotionReading | None
    alignment: float | None
    safety: SafetyVerdict | None
    error_code: str | None
    error_message: str | None


class ComparisonPublic(PublicModel):
    id: str
    session_id: str
    content: str
    created_at: datetime
    preferred: Literal["a", "b", "tie"] | None
    adopted_message_id: int | None
    replies: list[ComparisonReplyPublic]


class ComparisonList(PublicModel):
    items: list[ComparisonPublic]


class PreferenceUpdate(CleanModel):
    choice: Literal["a", "b", "tie"]
    adopt: bool = Field(
        default=True, description="append the message and the chosen reply to the chat (once; ignored for a tie)"
    )


# --- journal ---------------------------------------------------------------------------
class JournalEntryCreate(CleanModel):
    text: str = Field(min_length=1, max_length=JOURNAL_MAX_CHARS)


class JournalEntryUpdate(CleanModel):
    text: str = Field(min_length=1, max_length=JOURNAL_MAX_CHARS)


class JournalEntryPublic(PublicModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    text: str
    mood: str
    mood_scores: dict[str, float] | None
    classifier_version: str | None
    created_at: datetime
    updated_at: datetime


class JournalEntryList(PublicModel):
    items: list[JournalEntryPublic]
    total: int


# --- admin -------------------------------------------------------------------------------
class AdminModelPublic(PublicModel):
    name: str
    kind: str
    state: ModelState
    reason: str | None
    memory_bytes: int | None
    default: bool
    chat: bool
    description: str | None
    workers: list[str]
    progress: float | None = None
    eta_s: float | None = None


class DefaultModelUpdate(CleanModel):
    model: str = Field(min_length=1, max_length=100)


class DefaultModelPublic(PublicModel):
    """The chat model new sessions get (``PUT /api/admin/default-model``'s answer)."""

    model: str


class ControlRequested(PublicModel):
    """A load or unload was sent to the workers that serve the model; they act on it shortly."""

    status: Literal["requested"] = "requested"


class CacheFlushed(PublicModel):
    flushed: int  # the replies removed from the response cache


class WorkerPublic(PublicModel):
    worker_id: str
    host: str
    pid: int
    models: list[str]
    loaded: list[str]
    heartbeat_age_s: float
    active_jobs: int
    queue_depth: dict[str, int]


class RetagProgress(PublicModel):
    state: Literal["idle", "running", "done"]
    total: int = 0
    done: int = 0
    classifier_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class AuditEntryPublic(PublicModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    actor_email: str
    action: str
    target: str | None
    details: dict[str, Any] | None
    created_at: datetime


class AuditPage(PublicModel):
    items: list[AuditEntryPublic]
    total: int
