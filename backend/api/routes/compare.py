"""Two models on one message: ``POST /api/compare`` streams both replies as NDJSON; stored
comparisons can be read, given a preference (which may adopt the reply into the chat) and
exported as JSONL. The WebSocket's ``compare`` frame runs the same flow (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from backend import crud
from backend.chat.turn import TurnRejected
from backend.compare import service, store
from backend.deps import CurrentUser, PageLimit, SessionDep, StateDep, api_error
from backend.frames import CompareAckFrame, ServerFrameT, to_json
from backend.models import Comparison
from backend.schemas import CompareRequest, ComparisonList, ComparisonPublic, PreferenceUpdate

router = APIRouter(prefix="/api/compare", tags=["compare"])

_REJECTED_STATUS = {
    "bad_request": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "model_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}
NDJSON = "application/x-ndjson"


@router.post(
    "",
    response_class=StreamingResponse,
    responses={
        200: {"content": {NDJSON: {}}, "description": "compare_ack, then both sides' frames, then compare_done"}
    },
)
async def compare(body: CompareRequest, user: CurrentUser, db: SessionDep, state: StateDep) -> StreamingResponse:
    chat = await crud.get_owned_session(db, user.id, body.session_id)
    if chat is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "not_found", "No such chat session.")
    client_id = body.client_id or uuid.uuid4().hex
    try:
        comparison, created = await service.start(
            state, user.id, chat, client_id, body.content, body.model_a, body.model_b, body.params
        )
    except TurnRejected as exc:
        raise api_error(_REJECTED_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST), exc.code, exc.message) from None
    ack = await service.acknowledge(state, comparison, client_id, created)
    return StreamingResponse(_stream(state, comparison, ack), media_type=NDJSON)


async def _stream(state: Any, comparison: Comparison, ack: CompareAckFrame) -> AsyncIterator[str]:
    frames: asyncio.Queue[ServerFrameT | None] = asyncio.Queue()

    async def follow() -> None:
        try:
            await service.follow(state, comparison, frames.put)
        finally:
            await frames.put(None)

    yield to_json(ack) + "\n"
    task = asyncio.create_task(follow())
    try:
        while (frame := await frames.get()) is not None:
            yield to_json(frame) + "\n"
    finally:
        task.cancel()  # the client left: the persister still stores both replies


@router.get("", response_model=ComparisonList)
async def list_comparisons(
    user: CurrentUser,
    db: SessionDep,
    session_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: PageLimit = 50,
) -> ComparisonList:
    rows = await store.list_owned(db, user.id, session_id, limit)
    return ComparisonList(items=[await store.public(db, c) for c in rows])


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/jsonl": {}}, "description": "one comparison per line, oldest first"}},
)
async def export_comparisons(
    user: CurrentUser,
    db: SessionDep,
    state: StateDep,
    scope: Annotated[Literal["mine", "all"], Query(description="all: every user's (administrators only)")] = "mine",
) -> StreamingResponse:
    if scope == "all":
        if user.role != "admin":
            raise api_error(
                status.HTTP_403_FORBIDDEN, "forbidden", "Exporting everyone's comparisons needs an administrator."
            )
        await crud.audit(db, user, "compare.export_all")

    async def lines() -> AsyncIterator[str]:
        async with state.sessions() as own_db:  # the request's session closes before a stream ends
            async for row in store.export_rows(own_db, None if scope == "all" else user.id):
                yield json.dumps(row) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="attune-comparisons.jsonl"'},
    )


async def _owned(db: SessionDep, user: CurrentUser, comparison_id: str) -> Comparison:
    comparison = await store.get_owned(db, user.id, comparison_id)
    if comparison is None:
        raise api_error(status.HTTP_404_NOT_FOUND, "not_found", "No such comparison.")
    return comparison


@router.get("/{comparison_id}", response_model=ComparisonPublic)
async def read_comparison(comparison_id: str, user: CurrentUser, db: SessionDep) -> ComparisonPublic:
    return await store.public(db, await _owned(db, user, comparison_id))


@router.put("/{comparison_id}/preference", response_model=ComparisonPublic)
async def set_preference(
    comparison_id: str, body: PreferenceUpdate, user: CurrentUser, db: SessionDep
) -> ComparisonPublic:
    comparison = await _owned(db, user, comparison_id)
    try:
        comparison = await store.prefer(db, comparison, body.choice, body.adopt)
    except store.NotAdoptable as exc:
        raise api_error(status.HTTP_409_CONFLICT, "not_finished", str(exc)) from None
    return await store.public(db, comparison)
