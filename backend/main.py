"""The FastAPI application: builds the shared clients once, then serves REST, WebSocket and UI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request, Response, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from attune.broker.base import Broker
from attune.observability import bind_log_context, render_metrics
from backend.api.routes import admin, auth, chat_ws, compare, health, journal, sessions
from backend.cache import MemoryCache, RedisCache, ResponseCache
from backend.chat.persister import run_persister
from backend.chat.repair import run_repairer
from backend.config import Settings, get_settings
from backend.db import create_engine, session_factory
from backend.deps import AppState
from backend.hygiene import RejectBadBytes, validation_error_handler
from backend.journal.service import run_pending_tagger
from backend.rate_limit import FrameLimiter
from backend.ws_errors import CloseWebSocketOnError, client_left

log = logging.getLogger(__name__)


def _clients(settings: Settings) -> tuple[Broker, ResponseCache]:
    if settings.embedded_broker:
        from attune.broker.memory import MemoryBroker

        return MemoryBroker(), MemoryCache()
    from attune.broker.redis_streams import RedisBroker

    assert settings.redis_url is not None
    return RedisBroker(settings.redis_url, settings.redis_max_connections), RedisCache(settings.redis_url)


def create_app(settings: Settings | None = None, embedded_worker: bool | None = None) -> FastAPI:
    settings = settings or get_settings()
    run_worker_here = settings.embedded_broker if embedded_worker is None else embedded_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.resolved_database_url)
        broker, cache = _clients(settings)
        limiter = FrameLimiter(
            settings.frames_per_second, settings.frame_burst, None if settings.embedded_broker else settings.redis_url
        )
        state = AppState(
            settings, engine, session_factory(engine), broker, cache, settings.resolved_secret_key(), limiter
        )
        app.state.attune = state
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(run_persister(state, stop)),
            asyncio.create_task(run_pending_tagger(state, stop)),
            asyncio.create_task(run_repairer(state, stop)),
        ]
        worker = None
        if run_worker_here:
            # Imported here so a production API process never loads the worker's code.
            from worker.runner import Runner

            worker = Runner.from_settings(broker=broker)
            tasks.append(asyncio.create_task(worker.run(stop)))
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker.shutdown()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await broker.close()
            await cache.close()
            await engine.dispose()

    app = FastAPI(title="Attune", version="0.1.0", lifespan=lifespan)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(RejectBadBytes)
    app.add_middleware(CloseWebSocketOnError)  # outermost: also covers what the middlewares inside raise
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(WebSocketDisconnect, client_left)  # type: ignore[arg-type]
    for router in (
        auth.router,
        sessions.router,
        journal.router,
        compare.router,
        admin.router,
        health.router,
        chat_ws.router,
    ):
        app.include_router(router)

    @app.middleware("http")
    async def bind_request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        with bind_log_context(request_id=request_id):
            response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        return response

    @app.get("/metrics", include_in_schema=False)
    async def read_metrics() -> Response:
        body, media_type = render_metrics()
        return Response(body, media_type=media_type)

    _serve_frontend(app, settings.frontend_dist)
    return app


def _serve_frontend(app: FastAPI, dist: Path) -> None:
    """The built React app at /, with every unknown non-API path falling back to index.html."""
    index = dist / "index.html"
    if not index.exists():
        log.warning("no built frontend at %s: run `npm --prefix frontend ci && npm --prefix frontend run build`", dist)
        return
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> FileResponse:
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist.resolve()):
            return FileResponse(candidate)
        if path.startswith(("api/", "ws/")):
            from fastapi import HTTPException

            raise HTTPException(404, detail={"code": "not_found", "message": "No such endpoint."})
        return FileResponse(index)


def app_factory() -> FastAPI:
    """For ``uvicorn --factory backend.main:app_factory``."""
    return create_app()
