"""The chat WebSocket's server -> client frames, one pydantic model per ``type`` (docs/protocol.md).

Every frame the server sends (on the socket, and as NDJSON lines from ``POST /api/compare``) is
built as one of these models and serialised with ``dump``: the one definition of the wire format.
A field marked ``omitted_if_none`` is left out of the frame while it is None; every other field is
always sent, ``null`` included. The client frames are in ``backend.schemas``; ``frames_json_schema``
gives both directions' JSON Schema, from which ``scripts/gen_frame_types.py`` writes
``frontend/src/lib/frames.schema.json`` (and the front end generates ``frames.generated.ts``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from attune.contract import EmotionReading, FinishReason, SafetyVerdict, Slot
from backend.schemas import ClientFrame, ComparisonPublic, ComparisonReplyPublic, MessagePublic


def omitted_if_none(description: str | None = None) -> Any:
    """A field that is left out of the frame while it is None (rather than sent as ``null``)."""
    return Field(default=None, exclude_if=lambda value: value is None, description=description)


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a dropped key


# --- the chat -----------------------------------------------------------------------------
class InFlightJob(BaseModel):
    job_id: str
    user_message_id: int


class ReadyFrame(_Frame):
    """The socket is authenticated and attached to the session."""

    type: Literal["ready"] = "ready"
    protocol: int
    session_id: str
    model: str | None
    in_flight: list[InFlightJob] = Field(description="replies still being generated; send resume to receive them")


class AckFrame(_Frame):
    """The user message is stored (``duplicate``: it already was)."""

    type: Literal["ack"] = "ack"
    client_id: str
    message_id: int
    job_id: str | None = Field(description="the job to follow; null while another replica is still queueing it")
    duplicate: bool


class _EventFrame(_Frame):
    """A frame of one of the reply's streamed events; ``event_id`` is its position in the job's
    stream (what ``resume`` takes), null for a reply answered from the cache."""

    type: str
    job_id: str


class EmotionFrame(_EventFrame):
    """The user message's emotion, before the first token."""

    type: Literal["emotion"] = "emotion"
    message_id: int
    emotion: EmotionReading
    event_id: str | None


class TokenFrame(_EventFrame):
    """The next piece of the reply: a delta only, never the text so far."""

    type: Literal["token"] = "token"
    index: int
    text: str
    event_id: str | None


class DoneTimings(BaseModel):
    ttft_ms: float | None
    duration_ms: float | None


class DoneFrame(_Frame):
    """The finished reply, already stored."""

    type: Literal["done"] = "done"
    job_id: str
    message: MessagePublic
    cached: bool
    timings: DoneTimings
    safety: SafetyVerdict | None
    alignment: float | None
    finish_reason: FinishReason
    event_id: str | None = Field(description="null when answered from storage or the cache, not a stream")


class ErrorFrame(_Frame):
    """A refused frame or a failed reply (codes in docs/protocol.md); the socket stays open.

    ``message_id``: the stored message a ``busy`` resend is about; ``event_id``: set when the error
    is the reply's own event, its position in the job's stream."""

    type: Literal["error"] = "error"
    code: str
    message: str
    job_id: str | None = omitted_if_none()
    client_id: str | None = omitted_if_none()
    message_id: int | None = omitted_if_none()
    event_id: str | None = omitted_if_none()


class PongFrame(_Frame):
    type: Literal["pong"] = "pong"


class CancelAckFrame(_Frame):
    """The answer to ``cancel``: ``running`` false means the reply had already finished."""

    type: Literal["cancel_ack"] = "cancel_ack"
    job_id: str
    running: bool


# --- comparisons: one message, two models side by side -----------------------------------
class CompareSide(BaseModel):
    slot: Slot
    model: str
    job_id: str


class CompareAckFrame(_Frame):
    type: Literal["compare_ack"] = "compare_ack"
    client_id: str
    comparison_id: str
    duplicate: bool
    sides: list[CompareSide]


class _SideFrame(_Frame):
    """A frame of one side of a comparison: the chat's frame, typed ``compare_*`` so a client's chat
    handling never mistakes it for its own, with the comparison and the side it belongs to."""

    type: str
    comparison_id: str
    slot: Slot
    job_id: str


class CompareEmotionFrame(_SideFrame):
    type: Literal["compare_emotion"] = "compare_emotion"
    emotion: EmotionReading
    event_id: str


class CompareTokenFrame(_SideFrame):
    type: Literal["compare_token"] = "compare_token"
    index: int
    text: str
    event_id: str


class CompareReplyFrame(_SideFrame):
    """One side finished and is stored."""

    type: Literal["compare_reply"] = "compare_reply"
    reply: ComparisonReplyPublic
    event_id: str | None = Field(description="null when replayed from storage")


class CompareErrorFrame(_SideFrame):
    """One side failed (codes as for ``error``); the other goes on."""

    type: Literal["compare_error"] = "compare_error"
    code: str
    message: str
    event_id: str | None = omitted_if_none()


class CompareDoneFrame(_Frame):
    type: Literal["compare_done"] = "compare_done"
    comparison: ComparisonPublic


ChatFrame = ReadyFrame | AckFrame | EmotionFrame | TokenFrame | DoneFrame | ErrorFrame | PongFrame | CancelAckFrame
CompareServerFrame = (
    CompareAckFrame | CompareEmotionFrame | CompareTokenFrame | CompareReplyFrame | CompareErrorFrame | CompareDoneFrame
)
ServerFrameT = ChatFrame | CompareServerFrame
ServerFrame = Annotated[ServerFrameT, Field(discriminator="type")]
server_frame_adapter: TypeAdapter[ServerFrameT] = TypeAdapter(ServerFrame)


def dump(frame: ServerFrameT) -> dict[str, Any]:
    """The frame as it goes on the wire (JSON-ready; ``omitted_if_none`` fields left out while None)."""
    return frame.model_dump(mode="json")


def to_json(frame: ServerFrameT) -> str:
    return json.dumps(dump(frame))


# --- the JSON Schema of both directions ---------------------------------------------------
class _WireSchema(GenerateJsonSchema):
    """Client frames as the server accepts them (fields with a default are optional); server frames
    as they are sent (every field is there, ``null`` included, except those omitted while None).
    Properties get no titles, so a TypeScript generator names no type after a field."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None and not field.get("serialization_exclude")
        return super().field_is_required(field, total)

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def frames_json_schema() -> dict[str, Any]:
    """One JSON Schema document: ``ClientFrame`` and ``ServerFrame`` unions and every record they hold."""
    client: TypeAdapter[Any] = TypeAdapter(ClientFrame)
    keyed, schema = TypeAdapter.json_schemas(
        [("ClientFrame", "validation", client), ("ServerFrame", "serialization", server_frame_adapter)],
        schema_generator=_WireSchema,
        ref_template="#/$defs/{model}",
    )
    defs = dict(schema.get("$defs", {}))
    for name, mode in (("ClientFrame", "validation"), ("ServerFrame", "serialization")):
        union = dict(keyed[(name, mode)])
        union["title"] = name
        defs[name] = union
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Frame",
        "description": "Every WebSocket frame of the Attune client protocol (docs/protocol.md), both directions. "
        "Generated from backend/frames.py and backend/schemas.py by scripts/gen_frame_types.py: do not edit.",
        "anyOf": [{"$ref": "#/$defs/ClientFrame"}, {"$ref": "#/$defs/ServerFrame"}],
        "$defs": dict(sorted(defs.items())),
    }
