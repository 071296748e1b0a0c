"""The backend <-> worker contract: jobs, the events a job emits, and where they travel.

Both processes import this module and nothing heavier: it must never import FastAPI,
SQLAlchemy or torch. Every payload carries ``version``; a reader that sees a version it
does not know rejects the payload instead of guessing.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# The version of this module's payloads (the ``version`` field of each), between the backend and
# the workers only; the client protocol has its own, backend.schemas.PROTOCOL_VERSION.
CONTRACT_VERSION = 1

# Redis key layout. Every name is built here so the two sides can never drift apart.
KEY_PREFIX = "attune"
WORKER_GROUP = "workers"
PERSISTER_GROUP = "persisters"
RESULTS_STREAM = f"{KEY_PREFIX}:results"
CONTROL_STREAM = f"{KEY_PREFIX}:control"


def jobs_stream(model: str) -> str:
    """One stream per model, so a worker only claims jobs for models it can serve."""
    return f"{KEY_PREFIX}:jobs:{model}"


def events_stream(job_id: str) -> str:
    return f"{KEY_PREFIX}:events:{job_id}"


def cancel_key(job_id: str) -> str:
    return f"{KEY_PREFIX}:cancel:{job_id}"


def worker_key(worker_id: str) -> str:
    return f"{KEY_PREFIX}:worker:{worker_id}"


def new_job_id() -> str:
    return uuid.uuid4().hex


class ChatTurn(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class DecodingParams(BaseModel):
    """Sampling settings; ``None`` means "the model's own default from the registry" and any value,
    0 included, is the client's choice (``top_k`` 0: no top-k cut; ``no_repeat_ngram_size`` 0: off)."""

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0, le=1_000_000)
    max_new_tokens: int | None = Field(default=None, ge=1, le=2048)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)  # what torch and llama.cpp take
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=3.0)
    no_repeat_ngram_size: int | None = Field(default=None, ge=0, le=16)


class _Versioned(BaseModel):
    version: int = CONTRACT_VERSION


Slot = Literal["a", "b"]


# What a chat message's photo may be. The bytes travel in the job only (base64), are read in
# memory by the worker and never stored: the job's stream entry is deleted when it is acked.
ImageMediaType = Literal["image/jpeg", "image/png", "image/webp"]
IMAGE_MEDIA_TYPES: tuple[ImageMediaType, ...] = ("image/jpeg", "image/png", "image/webp")


class ImageAttachment(BaseModel):
    media_type: ImageMediaType
    data: str  # base64 (standard alphabet, padded)


class GenerateJob(_Versioned):
    """Produce the assistant reply to the last user turn of ``history``.

    A chat turn answers the stored user message ``user_message_id``; one side of a comparison
    sets ``comparison_id`` and ``slot`` instead, and its reply is stored with the comparison.
    """

    kind: Literal["generate"] = "generate"
    job_id: str = Field(default_factory=new_job_id)
    session_id: str
    user_message_id: int | None = None
    comparison_id: str | None = None
    slot: Slot | None = None
    model: str
    history: list[ChatTurn]
    params: DecodingParams = Field(default_factory=DecodingParams)
    # An earlier user message of this session was a crisis (read from storage by the backend).
    session_risk: bool = False
    # The person's locale as their browser reports it ("es-MX"): picks the crisis lines' country.
    locale: str | None = Field(default=None, max_length=35)
    # The backend's response-cache key, computed for ``expected_version`` of the model; the
    # worker echoes it in DoneEvent only when it really served that version.
    cache_key: str | None = None
    expected_version: str | None = None
    # A photo sent with the user's message: the turn's emotion fuses its face reading with the text's.
    image: ImageAttachment | None = None
    request_id: str | None = None
    enqueued_at: float = Field(default_factory=time.time)


class ClassifyJob(_Versioned):
    """Tag stored texts (journal entries) with a classifier; results go to RESULTS_STREAM."""

    kind: Literal["classify"] = "classify"
    job_id: str = Field(default_factory=new_job_id)
    model: str
    items: list[tuple[int, str]]  # (entry id, text)
    request_id: str | None = None
    enqueued_at: float = Field(default_factory=time.time)


Job = Annotated[GenerateJob | ClassifyJob, Field(discriminator="kind")]
job_adapter: TypeAdapter[GenerateJob | ClassifyJob] = TypeAdapter(Job)

# The config of a record a server sends whole, defaults included: its JSON Schema in serialization
# mode (the REST API's OpenAPI document, the front end's REST types) marks every field required,
# as the WebSocket frames' schema does (backend/frames.py). The JSON itself is unchanged.
SENT_WHOLE = ConfigDict(json_schema_serialization_defaults_required=True)


class EmotionReading(BaseModel):
    """A classifier's view of one text (or photo): the top label and the full distribution."""

    model_config = SENT_WHOLE

    label: str
    scores: dict[str, float]
    model: str | None = None
    # Set on the user's reading of a turn that came with a photo (worker/fusion.py).
    fusion: FusedEmotion | None = None


# How a turn with a photo was read: both modalities agree, disagree, or the photo could not be read.
FusionSource = Literal["fused_aligned", "fused_conflict", "text_only"]


class FusedEmotion(BaseModel):
    """Both readings behind a fused one, so a client can show each (docs/protocol.md, "Photos")."""

    model_config = SENT_WHOLE

    source: FusionSource
    confidence: float  # the fused label's confidence: raised when text and face agree
    text: EmotionReading  # the text classifier's own reading, in its own labels
    face: EmotionReading | None = None  # the face classifier's reading (None: the photo was not read)
    face_error: str | None = None  # why the photo was not read, for a person


EmotionReading.model_rebuild()


# How much risk a user's message shows (worker/safety/): "imminent" (a plan, means at hand, a
# preparatory act, a time, a question about lethal means) and "ideation" (suicidal thoughts or
# self-harm) are crises about the writer; "third_party" is someone worried about another person.
SafetyLevel = Literal["none", "third_party", "ideation", "imminent"]
CRISIS_LEVELS: frozenset[str] = frozenset({"ideation", "imminent"})


class SafetyVerdict(BaseModel):
    model_config = SENT_WHOLE

    crisis: bool = False  # the writer is at risk (level ideation or imminent)
    toxic: bool = False
    level: SafetyLevel = "none"
    language: str | None = None  # the language the message was read in ("en", "es")
    # An earlier turn of this session was a crisis: the reply was generated under the safety
    # prompt and the resources stay visible.
    session_risk: bool = False
    # The reply is a fixed text of the safety layer, not the model's words.
    fixed_reply: bool = False
    reasons: list[str] = Field(default_factory=list)
    resources: list[dict[str, str]] = Field(default_factory=list)


class EmotionEvent(_Versioned):
    """The user's message has been classified; sent before the first token."""

    type: Literal["emotion"] = "emotion"
    emotion: EmotionReading


class TokenEvent(_Versioned):
    type: Literal["token"] = "token"
    index: int  # position of this delta in the reply, from 0
    text: str  # the delta only, never the whole reply so far


FinishReason = Literal["stop", "length", "cancelled", "safety"]


class Reply(BaseModel):
    """One finished reply, the record every layer converts instead of copying field by field: the
    worker's ``DoneEvent`` carries it, the response cache stores it, a comparison side's row holds it."""

    content: str
    model: str
    model_version: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ttft_ms: float | None = None
    duration_ms: float = 0.0
    user_emotion: EmotionReading | None = None
    reply_emotion: EmotionReading | None = None
    alignment: float | None = None
    safety: SafetyVerdict = Field(default_factory=SafetyVerdict)
    extras: dict[str, str | float | int | None] = Field(default_factory=dict)


REPLY_FIELDS: frozenset[str] = frozenset(Reply.model_fields)


class DoneEvent(_Versioned, Reply):
    """A job's reply (``Reply``) and which job, turn or comparison side it answers."""

    type: Literal["done"] = "done"
    job_id: str
    session_id: str
    user_message_id: int | None = None
    comparison_id: str | None = None
    slot: Slot | None = None
    finish_reason: FinishReason  # required on the wire: a worker always says why the reply ended
    cache_key: str | None = None
    worker_id: str | None = None

    def reply(self) -> Reply:
        return Reply.model_validate(self.model_dump(include=REPLY_FIELDS))


class ErrorEvent(_Versioned):
    type: Literal["error"] = "error"
    job_id: str
    session_id: str | None = None
    user_message_id: int | None = None
    comparison_id: str | None = None
    slot: Slot | None = None
    model: str | None = None
    code: str  # machine-readable: model_unavailable, busy, remote_auth, internal, ... (docs/protocol.md)
    message: str  # for a person to read


class ClassifiedItem(BaseModel):
    item_id: int
    reading: EmotionReading


class ClassifyResult(_Versioned):
    type: Literal["classified"] = "classified"
    job_id: str
    model: str
    model_version: str
    items: list[ClassifiedItem]


JobEvent = Annotated[EmotionEvent | TokenEvent | DoneEvent | ErrorEvent, Field(discriminator="type")]
event_adapter: TypeAdapter[EmotionEvent | TokenEvent | DoneEvent | ErrorEvent] = TypeAdapter(JobEvent)

# What lands on RESULTS_STREAM for the backend's persisters: finished turns and tags.
Result = Annotated[DoneEvent | ErrorEvent | ClassifyResult, Field(discriminator="type")]
result_adapter: TypeAdapter[DoneEvent | ErrorEvent | ClassifyResult] = TypeAdapter(Result)


ModelState = Literal["available", "loaded", "loading", "building", "unavailable"]


class ModelStatus(BaseModel):
    name: str
    kind: str
    state: ModelState
    reason: str | None = None
    # While ``building``: the share done (0..1) and the seconds left, estimated (attune/build_progress.py).
    progress: float | None = None
    eta_s: float | None = None

    @property
    def usable(self) -> bool:
        """Can take a job now (a model still being built cannot, any more than an unavailable one)."""
        return self.state not in ("unavailable", "building")

    version: str | None = None
    memory_bytes: int | None = None
    default: bool = False
    chat: bool = True  # answers chat turns (classifiers do not)
    description: str | None = None


class WorkerInfo(_Versioned):
    worker_id: str
    host: str
    pid: int
    models: list[str]  # models this worker serves (it claims from their streams)
    statuses: list[ModelStatus] = Field(default_factory=list)
    started_at: float
    heartbeat_at: float = Field(default_factory=time.time)
    active_jobs: int = 0
    queue_depth: dict[str, int] = Field(default_factory=dict)


class ControlCommand(_Versioned):
    """Broadcast to every worker (each reads the control stream from its own position)."""

    action: Literal["load", "unload"]
    model: str
    issued_by: str | None = None
