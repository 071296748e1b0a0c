"""Liveness, readiness and the models a client may pick."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from backend import model_catalog
from backend.deps import CurrentUser, SessionDep, StateDep
from backend.schemas import ModelPublic

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def read_health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def read_readiness(state: StateDep, db: SessionDep) -> JSONResponse:
    try:
        await db.execute(text("SELECT 1"))
        database = True
    except Exception:  # any failure means "not ready"; the reason is in the database's log
        database = False
    broker = await state.broker.ping()
    workers = len(await model_catalog.live_workers(state.broker, state.settings.worker_stale_s)) if broker else 0
    ready = database and broker and workers > 0
    body = {"status": "ready" if ready else "not_ready", "database": database, "broker": broker, "workers": workers}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/api/models", response_model=list[ModelPublic], tags=["models"])
async def list_models(_user: CurrentUser, state: StateDep, db: SessionDep) -> list[ModelPublic]:
    statuses = await model_catalog.live_models(state.broker, state.settings)
    default = await model_catalog.default_model(db, state.settings, statuses)
    return [
        ModelPublic(name=s.name, kind=s.kind, state=s.state, reason=s.reason, default=s.name == default, description=s.description)
        for s in sorted(statuses.values(), key=lambda s: s.name)
        if s.chat
    ]
