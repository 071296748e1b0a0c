"""The chat WebSocket, ``/ws/chat/{session_id}`` (protocol in docs/protocol.md)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from attune.contract import DoneEvent, ErrorEvent
from attune.observability import ACTIVE_WEBSOCKETS, ERRORS, bind_log_context
from backend import crud
from backend.chat.turn import TurnRejected, done_frame, relay_reply, run_turn
from backend.compare import service as compare
from backend.compare import store as compare_store
from backend.config import Settings
from backend.deps import AppState, StateDep, WsUser
from backend.frames import CancelAckFrame, ErrorFrame, InFlightJob, PongFrame, ReadyFrame, ServerFrameT, to_json
from backend.hygiene import text_problem, valid_cursor
from backend.models import ChatSession, Comparison, Message, User
from backend.rate_limit import FrameLimiter
from backend.schemas import (
    PROTOCOL_VERSION,
    AuthFrame,
    CancelFrame,
    CompareFrame,
    MessageFrame,
    PingFrame,
    ResumeFrame,
    client_frame_adapter,
)
from backend.ws_errors import CLOSE_NOT_FOUND, CLOSE_POLICY, CLOSE_TOO_BIG

log = logging.getLogger(__name__)
router = APIRouter()


class ChatConnection:
    def __init__(self, websocket: WebSocket, state: AppState, chat: ChatSession, user: User) -> None:
        self.websocket, self.state, self.chat, self.user = websocket, state, chat, user
        self._send_lock = asyncio.Lock()
        self.relays: dict[str, asyncio.Task[None]] = {}  # by job id, or "compare:<id>" for both sides
        self.turns: set[asyncio.Task[None]] = set()  # every turn still running, relaying or not yet
        self.comparison_jobs: dict[str, list[str]] = {}

    async def send(self, frame: ServerFrameT) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return
        async with self._send_lock:
            try:
                await self.websocket.send_text(to_json(frame))
            except (WebSocketDisconnect, RuntimeError):
                pass  # the client went away; the persister still stores the reply

    async def error(self, code: str, message: str, **extra: Any) -> None:
        ERRORS.labels(process="backend", code=code).inc()
        await self.send(ErrorFrame(code=code, message=message, **extra))

    def follow(self, job_id: str, message_id: int, after: str = "0") -> None:
        if not self._relaying(job_id):
            self.relays[job_id] = asyncio.create_task(self._relay(job_id, message_id, after))

    def _relaying(self, job_id: str) -> bool:
        return job_id in self.relays and not self.relays[job_id].done()

    async def _relay(self, job_id: str, message_id: int, after: str) -> None:
        try:
            await relay_reply(self.state, job_id, message_id, self.send, after)
        except Exception:
            await self._relay_failed(job_id)
        finally:
            self.relays.pop(job_id, None)

    async def _relay_failed(self, job_id: str) -> None:
        log.exception("relay failed", extra={"job_id": job_id, "session_id": self.chat.id})
        await self.error("internal", "The reply could not be relayed; it will appear in the history.", job_id=job_id)

    async def turn(self, frame: MessageFrame) -> None:
        """Run the turn as a task of its own and return once it relays (or is over), so the socket
        handles the next frames (cancel, ping, another message) while the reply streams."""
        relaying = asyncio.Event()
        task = asyncio.create_task(self._run_turn(frame, relaying))
        self.turns.add(task)
        task.add_done_callback(self.turns.discard)
        started = asyncio.create_task(relaying.wait())
        try:
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()

    async def _run_turn(self, frame: MessageFrame, relaying: asyncio.Event) -> None:
        relayed: list[str] = []

        def begin_relay(job_id: str) -> bool:
            if self._relaying(job_id):
                return False
            self.relays[job_id] = asyncio.current_task()  # type: ignore[assignment]
            relayed.append(job_id)
            relaying.set()
            return True

        try:
            await run_turn(self.state, self.chat, frame, self.send, begin_relay)
        except TurnRejected as exc:
            await self.error(exc.code, exc.message, client_id=frame.client_id)
        except Exception:
            if relayed:
                await self._relay_failed(relayed[0])
            else:
                log.exception("could not handle a %s frame", frame.type)
                await self.error("internal", _frame_failed(frame), client_id=frame.client_id)
        finally:
            for job_id in relayed:
                self.relays.pop(job_id, None)

    async def compare(self, frame: CompareFrame) -> None:
        try:
            comparison, created = await compare.start(
                self.state,
                self.user.id,
                self.chat,
                frame.client_id,
                frame.content,
                frame.model_a,
                frame.model_b,
                frame.params,
            )
        except TurnRejected as exc:
            await self.error(exc.code, exc.message, client_id=frame.client_id)
            return
        ack = await compare.acknowledge(self.state, comparison, frame.client_id, created)
        await self.send(ack)
        self._follow_comparison_once(comparison, [side.job_id for side in ack.sides])

    def _follow_comparison_once(self, comparison: Comparison, job_ids: list[str]) -> None:
        key = f"compare:{comparison.id}"
        if key not in self.relays:
            self.comparison_jobs[key] = job_ids
            self.relays[key] = asyncio.create_task(self._follow_comparison(key, comparison))

    async def _follow_comparison(self, key: str, comparison: Comparison) -> None:
        try:
            await compare.follow(self.state, comparison, self.send)
        except Exception:
            log.exception("comparison relay failed", extra={"session_id": self.chat.id})
            await self.error("internal", "The comparison could not be relayed; it is stored, reload to see it.")
        finally:
            self.relays.pop(key, None)
            self.comparison_jobs.pop(key, None)

    async def _owned(self, job_id: str) -> Message | Comparison | None:
        """What the job answers in this socket's session; None for another session's or an unknown job."""
        async with self.state.sessions() as db:
            return await crud.owned_job(db, self.user.id, self.chat.id, job_id)

    async def cancel(self, frame: CancelFrame) -> None:
        if frame.job_id is None:
            job_ids = self._newest_jobs()
            if not job_ids:
                await self.error("not_found", "There is no reply in progress to cancel.")
                return
        else:
            owner = await self._owned(frame.job_id)
            if owner is None:
                await self.error("not_found", "No such reply in this chat.", job_id=frame.job_id)
                return
            job_ids = [frame.job_id]
        for job_id in job_ids:
            running = await self._running(job_id)
            if running:
                await self.state.broker.cancel(job_id)
            await self.send(CancelAckFrame(job_id=job_id, running=running))

    async def _running(self, job_id: str) -> bool:
        """Whether the job's reply is still being made (not stored, no final event yet)."""
        async with self.state.sessions() as db:
            owner = await crud.owned_job(db, self.user.id, self.chat.id, job_id)
            if isinstance(owner, Message) and await crud.reply_to(db, owner.id) is not None:
                return False
            if isinstance(owner, Comparison):
                side = await compare_store.reply_by_job(db, job_id)
                if side is not None and side.status != "pending":
                    return False
        return not isinstance(await self.state.broker.last_event(job_id), DoneEvent | ErrorEvent)

    async def resume(self, frame: ResumeFrame) -> None:
        if not valid_cursor(frame.after):
            await self.error(
                "bad_request",
                'Malformed frame: after: not an event id (send one you received, or "0").',
                job_id=frame.job_id,
            )
            return
        owner = await self._owned(frame.job_id)
        if owner is None:
            await self.error("not_found", "No such reply in this chat.", job_id=frame.job_id)
        elif isinstance(owner, Comparison):
            self._follow_comparison_once(owner, [])
        else:
            async with self.state.sessions() as db:
                reply = await crud.reply_to(db, owner.id)
            if reply is not None:  # finished and stored: the stored reply is the whole answer
                await self.send(done_frame(reply, cached=reply.cached, event_id=None))
            else:
                self.follow(frame.job_id, owner.id, frame.after)

    def _newest_jobs(self) -> list[str]:
        """The jobs of the newest reply or comparison being relayed (both sides of a comparison)."""
        latest = next(reversed(self.relays), None)
        if latest is None:
            return []
        return self.comparison_jobs.get(latest, [latest])

    async def handle(
        self, frame: MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame
    ) -> None:
        if isinstance(frame, PingFrame):
            await self.send(PongFrame())
        elif isinstance(frame, MessageFrame):
            await self.turn(frame)
        elif isinstance(frame, CompareFrame):
            await self.compare(frame)
        elif isinstance(frame, CancelFrame):
            await self.cancel(frame)
        elif isinstance(frame, ResumeFrame):
            await self.resume(frame)
        elif isinstance(frame, AuthFrame):
            await self.error("bad_request", "Already authenticated.")


@router.websocket("/ws/chat/{session_id}")
async def chat_socket(websocket: WebSocket, session_id: str, state: StateDep, user: WsUser) -> None:
    async with state.sessions() as db:
        chat = await crud.get_owned_session(db, user.id, session_id)
        pending = await crud.in_flight(db, session_id) if chat else []
    if chat is None:
        await websocket.close(CLOSE_NOT_FOUND, "no such session")
        return

    request_id = websocket.headers.get("x-request-id") or uuid.uuid4().hex
    with bind_log_context(request_id=request_id, session_id=chat.id):
        ACTIVE_WEBSOCKETS.inc()
        try:
            await _converse(websocket, state, chat, user, pending)
        finally:
            ACTIVE_WEBSOCKETS.dec()


async def _converse(websocket: WebSocket, state: AppState, chat: ChatSession, user: User, pending: list) -> None:  # type: ignore[type-arg]
    connection = ChatConnection(websocket, state, chat, user)
    await connection.send(
        ReadyFrame(
            protocol=PROTOCOL_VERSION,
            session_id=chat.id,
            model=chat.model,
            in_flight=[InFlightJob(job_id=m.job_id, user_message_id=m.id) for m in pending],
        )
    )
    limiter: FrameLimiter = state.frame_limiter
    # Frames are read and counted as they arrive, and handled in order by another task, so a
    # burst sent at once meets the limit at once (not as slowly as the turns are handled).
    inbox: asyncio.Queue[ClientFrameT] = asyncio.Queue(maxsize=state.settings.frame_burst)
    handler = asyncio.create_task(_handle_frames(connection, inbox))
    strikes = 0
    try:
        while not handler.done():
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            raw = message.get("text")
            if raw is None:
                await connection.error("bad_request", "Send JSON text frames, not binary ones.")
                continue
            size = len(raw.encode("utf-8", "surrogatepass"))
            if size > state.settings.max_image_frame_bytes:
                await websocket.close(CLOSE_TOO_BIG, _too_big(state.settings))
                return
            if not await limiter.allow(user.id) or inbox.full():
                strikes += 1
                if strikes > state.settings.frame_burst:
                    await websocket.close(CLOSE_POLICY, "too many frames")
                    return
                await connection.error("rate_limited", "Slow down: too many frames.", **_ids_of(raw))
                continue
            try:
                frame = client_frame_adapter.validate_json(raw)
            except ValidationError as exc:
                if size > state.settings.max_frame_bytes:
                    await websocket.close(CLOSE_TOO_BIG, _too_big(state.settings))
                    return
                await connection.error("bad_request", _first_problem(exc), **_ids_of(raw))
                continue
            # Only a message that carries a photo may be bigger than a plain frame.
            if size > state.settings.max_frame_bytes and not (isinstance(frame, MessageFrame) and frame.image):
                await websocket.close(CLOSE_TOO_BIG, _too_big(state.settings))
                return
            inbox.put_nowait(frame)
    except WebSocketDisconnect:
        pass
    finally:
        handler.cancel()
        # Stop relaying to a dead socket; generation goes on and the persister stores the reply.
        for task in [*connection.relays.values(), *connection.turns]:
            task.cancel()


ClientFrameT = MessageFrame | CompareFrame | CancelFrame | ResumeFrame | PingFrame | AuthFrame


async def _handle_frames(connection: ChatConnection, inbox: asyncio.Queue[ClientFrameT]) -> None:
    """Handle accepted frames one at a time, in the order they arrived."""
    while True:
        frame = await inbox.get()
        try:
            await connection.handle(frame)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not handle a %s frame", frame.type)
            client_id = getattr(frame, "client_id", None)
            job_id = getattr(frame, "job_id", None)
            extra = {k: v for k, v in (("client_id", client_id), ("job_id", job_id)) if v is not None}
            await connection.error("internal", _frame_failed(frame), **extra)


def _frame_failed(frame: ClientFrameT) -> str:
    note = " If your message was acknowledged it is saved and will be answered." if frame.type == "message" else ""
    return "The server could not handle that frame; try again." + note


def _too_big(settings: Settings) -> str:
    if settings.max_image_frame_bytes > settings.max_frame_bytes:
        return (
            f"frames are limited to {settings.max_frame_bytes} bytes, "
            f"{settings.max_image_frame_bytes} for a message with a photo"
        )
    return f"frames are limited to {settings.max_frame_bytes} bytes"


def _ids_of(raw: str) -> dict[str, str]:
    """The client_id / job_id of a refused frame, when it has usable ones, so the client can match the error."""
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: value
        for key in ("client_id", "job_id")
        if isinstance(value := data.get(key), str) and len(value) <= 64 and text_problem(value) is None
    }


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"Malformed frame: {where or 'frame'}: {error.get('msg', 'invalid')}."
