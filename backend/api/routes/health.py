"""Liveness, readiness, the models a client may pick and the limits it must respect."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy import text

from attune.contract import IMAGE_MEDIA_TYPES
from backend import model_catalog
from backend.deps import CurrentUser, SessionDep, StateDep
from backend.schemas import JOURNAL_MAX_CHARS, BuildPublic, HealthPublic, LimitsPublic, ModelPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
async def read_health() -> HealthPublic:
    return HealthPublic()


@router.get("/readyz")
async def read_readiness(state: StateDep, db: SessionDep) -> JSONResponse:
    """Ready when what a turn needs is really there: the database, Redis, a consumer group on
    the results stream and on every live worker's jobs streams, and a worker's recent heartbeat.
    ``building`` lists the models a first run is still building, with their progress."""
    try:
        await db.execute(text("SELECT 1"))
        database = True
    except Exception:  # noqa: BLE001 - any failure means "not ready"; the reason is in the database's log
        database = False
    broker = await state.broker.ping()
    live = await model_catalog.live_workers(state.broker, state.settings.worker_stale_s) if broker else []
    groups: dict[str, bool] = {}
    if broker:
        try:
            groups = await state.broker.groups_present(sorted({m for w in live for m in w.models}))
        except RedisError:
            broker = False
    ready = database and broker and bool(live) and all(groups.values())
    # Models still being built on a first run do not make the service unready; they are listed.
    building = {
        s.name: {"progress": s.progress, "eta_s": s.eta_s}
        for s in model_catalog.merge_statuses(live).values()
        if s.state == "building"
    }
    body = {
        "status": "ready" if ready else "not_ready",
        "database": database,
        "broker": broker,
        "workers": len(live),
        "groups": groups,
        "building": building,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/api/models", response_model=list[ModelPublic], tags=["models"])
async def list_models(_user: CurrentUser, state: StateDep, db: SessionDep) -> list[ModelPublic]:
    statuses = await model_catalog.live_models(state.broker, state.settings)
    default = await model_catalog.default_model(db, state.settings, statuses)
    return [
        ModelPublic(**model_catalog.listing_fields(s, default))
        for s in sorted(statuses.values(), key=lambda s: s.name)
        if s.chat
    ]


@router.get("/api/builds", response_model=list[BuildPublic], tags=["models"])
async def list_builds(_user: CurrentUser, state: StateDep) -> list[BuildPublic]:
    """What a page waiting on a model shows meanwhile: the journal, while its mood classifier is built."""
    statuses = await model_catalog.live_models(state.broker, state.settings)
    return [
        BuildPublic(name=s.name, kind=s.kind, progress=s.progress or 0.0, eta_s=s.eta_s, reason=s.reason)
        for s in sorted(statuses.values(), key=lambda s: s.name)
        if s.state == "building"
    ]


@router.get("/api/limits", response_model=LimitsPublic, tags=["limits"])
async def read_limits(state: StateDep) -> LimitsPublic:
    return LimitsPublic(
        message_chars=state.settings.max_message_chars,
        journal_chars=JOURNAL_MAX_CHARS,
        image_bytes=state.settings.max_image_bytes,
        image_types=list(IMAGE_MEDIA_TYPES) if state.settings.max_image_bytes else [],
    )
