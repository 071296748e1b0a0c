"""The server -> client frames are pydantic models (backend/frames.py): what goes on the wire,
which fields are left out, and the JSON Schema the front end's types are generated from."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from attune.contract import EmotionEvent, EmotionReading, ErrorEvent, SafetyVerdict, TokenEvent
from backend.chat.events import event_frame
from backend.chat.turn import done_frame
from backend.frames import (
    AckFrame,
    CompareErrorFrame,
    EmotionFrame,
    ErrorFrame,
    ReadyFrame,
    TokenFrame,
    dump,
    server_frame_adapter,
    to_json,
)
from backend.models import Message
from scripts import gen_frame_types

JOY = EmotionReading(label="joy", scores={"joy": 0.9})


def test_the_committed_schema_is_the_models_schema() -> None:
    assert gen_frame_types.SCHEMA_PATH.read_text(encoding="utf-8") == gen_frame_types.render(), (
        "frontend/src/lib/frames.schema.json is stale: run `make frames` and commit the result"
    )


def test_the_schema_names_every_frame_of_both_directions() -> None:
    defs = gen_frame_types.frames_json_schema()["$defs"]
    server = {ref["$ref"].rsplit("/", 1)[1] for ref in defs["ServerFrame"]["oneOf"]}
    client = {ref["$ref"].rsplit("/", 1)[1] for ref in defs["ClientFrame"]["oneOf"]}
    assert "DoneFrame" in server and "CompareDoneFrame" in server and "ReadyFrame" in server
    assert client == {"MessageFrame", "CompareFrame", "CancelFrame", "ResumeFrame", "PingFrame", "AuthFrame"}
    # Sent as null, not left out: a reader can rely on the key.
    assert "job_id" in defs["AckFrame"]["required"] and "event_id" in defs["TokenFrame"]["required"]
    # Left out while unset.
    assert "job_id" not in defs["ErrorFrame"]["required"]
    # A record inside a server frame is sent whole, defaults included.
    assert set(defs["SafetyVerdict"]["required"]) == set(SafetyVerdict.model_fields)


def test_an_error_leaves_out_the_ids_it_does_not_have() -> None:
    assert dump(ErrorFrame(code="bad_request", message="no")) == {
        "type": "error",
        "code": "bad_request",
        "message": "no",
    }
    assert dump(ErrorFrame(code="busy", message="m", client_id="c", message_id=3)) == {
        "type": "error",
        "code": "busy",
        "message": "m",
        "client_id": "c",
        "message_id": 3,
    }
    assert "event_id" not in dump(CompareErrorFrame(comparison_id="x", slot="a", job_id="j", code="c", message="m"))


def test_fields_without_a_value_are_sent_as_null() -> None:
    assert dump(AckFrame(client_id="c", message_id=1, job_id=None, duplicate=True))["job_id"] is None
    ready = dump(ReadyFrame(protocol=1, session_id="s", model=None, in_flight=[]))
    assert ready == {"type": "ready", "protocol": 1, "session_id": "s", "model": None, "in_flight": []}


def test_a_frame_must_say_where_it_is_in_the_stream_and_takes_no_unknown_field() -> None:
    with pytest.raises(ValidationError):
        TokenFrame(job_id="j", index=0, text="hi")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        EmotionFrame(job_id="j", emotion=JOY, event_id=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ErrorFrame(code="c", message="m", detail="x")  # type: ignore[call-arg]


def test_a_relayed_event_names_the_message_and_its_event_id() -> None:
    emotion = dump(event_frame("j1", 7, "1-0", EmotionEvent(emotion=JOY)))
    assert emotion == {
        "type": "emotion",
        "job_id": "j1",
        "message_id": 7,
        "emotion": {"label": "joy", "scores": {"joy": 0.9}, "model": None, "fusion": None},
        "event_id": "1-0",
    }
    token = dump(event_frame("j1", 7, "2-0", TokenEvent(index=0, text="Hi")))
    assert token == {"type": "token", "job_id": "j1", "index": 0, "text": "Hi", "event_id": "2-0"}
    # The relay's own timeout has no event id: the key is left out, as before.
    error = dump(event_frame("j1", 7, None, ErrorEvent(job_id="j1", code="generation_failed", message="late")))
    assert error == {"type": "error", "code": "generation_failed", "message": "late", "job_id": "j1"}


REPLY_ROW = {
    "id": 2,
    "session_id": "s1",
    "role": "assistant",
    "content": "Hello.",
    "status": "complete",
    "job_id": "j1",
    "reply_to_id": 1,
    "model": "tiny",
    "cached": True,
    "latency_ms": 12.0,
    "ttft_ms": 3.0,
    "prompt_tokens": 4,
    "completion_tokens": 2,
    "alignment": 0.5,
    "safety": SafetyVerdict().model_dump(),
    "extras": {"finish_reason": "length"},
    "created_at": datetime(2026, 1, 1, tzinfo=UTC),
}


def _reply() -> Message:
    return Message(**REPLY_ROW)


def test_a_done_frame_always_carries_its_event_id() -> None:
    stored = dump(done_frame(_reply(), cached=True, event_id=None))
    assert list(stored) == [
        "type",
        "job_id",
        "message",
        "cached",
        "timings",
        "safety",
        "alignment",
        "finish_reason",
        "event_id",
    ]
    assert stored["event_id"] is None and stored["finish_reason"] == "length" and stored["cached"] is True
    assert stored["timings"] == {"ttft_ms": 3.0, "duration_ms": 12.0}
    assert stored["message"]["created_at"] == "2026-01-01T00:00:00Z" and stored["message"]["id"] == 2
    assert dump(done_frame(_reply(), cached=False, event_id="9-0"))["event_id"] == "9-0"


def test_what_goes_on_the_wire_reads_back_as_the_same_frame() -> None:
    frame = done_frame(_reply(), cached=False, event_id="9-0")
    assert server_frame_adapter.validate_json(to_json(frame)) == frame
