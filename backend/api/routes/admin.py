"""Administration: models, workers, cache, journal re-tagging and the audit log (admins only)."""

import time

from fastapi import APIRouter, status
from sqlalchemy import func, select

from attune.contract import ControlCommand
from backend import crud, model_catalog
from backend.cache import CacheStats
from backend.deps import AdminUser, PageLimit, PageOffset, SessionDep, StateDep, api_error
from backend.journal.service import MOOD_MODEL, request_tags
from backend.models import AuditLog, JournalEntry, utcnow
from backend.schemas import (
    AdminModelPublic,
    AuditEntryPublic,
    AuditPage,
    CacheFlushed,
    ControlRequested,
    DefaultModelPublic,
    DefaultModelUpdate,
    RetagProgress,
    WorkerPublic,
)

router = APIRouter(prefix="/api/admin", tags=["admin"])
RETAG_KEY = "journal_retag"


@router.get("/models", response_model=list[AdminModelPublic])
async def list_models(_admin: AdminUser, state: StateDep, db: SessionDep) -> list[AdminModelPublic]:
    workers = await model_catalog.live_workers(state.broker, state.settings.worker_stale_s)
    statuses = model_catalog.merge_statuses(workers)
    default = await model_catalog.default_model(db, state.settings, statuses)
    return [
        AdminModelPublic(
            **model_catalog.listing_fields(s, default),
            memory_bytes=s.memory_bytes,
            chat=s.chat,
            workers=[w.worker_id for w in workers if s.name in w.models],
        )
        for s in sorted(statuses.values(), key=lambda s: s.name)
    ]


async def _control(admin: AdminUser, state: StateDep, db: SessionDep, name: str, action: str) -> ControlRequested:
    statuses = await model_catalog.live_models(state.broker, state.settings)
    if name not in statuses:
        raise api_error(status.HTTP_404_NOT_FOUND, "not_found", f"No live worker serves model {name!r}.")
    await state.broker.send_control(ControlCommand(action=action, model=name, issued_by=admin.email))  # type: ignore[arg-type]
    await crud.audit(db, admin, f"model.{action}", name)
    return ControlRequested()


@router.post("/models/{name}/load", status_code=status.HTTP_202_ACCEPTED, response_model=ControlRequested)
async def load_model(name: str, admin: AdminUser, state: StateDep, db: SessionDep) -> ControlRequested:
    return await _control(admin, state, db, name, "load")


@router.post("/models/{name}/unload", status_code=status.HTTP_202_ACCEPTED, response_model=ControlRequested)
async def unload_model(name: str, admin: AdminUser, state: StateDep, db: SessionDep) -> ControlRequested:
    return await _control(admin, state, db, name, "unload")


@router.put("/default-model", response_model=DefaultModelPublic)
async def set_default_model(
    body: DefaultModelUpdate, admin: AdminUser, state: StateDep, db: SessionDep
) -> DefaultModelPublic:
    statuses = await model_catalog.live_models(state.broker, state.settings)
    chosen = statuses.get(body.model)
    if statuses and (chosen is None or not chosen.chat):
        raise api_error(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "unknown_model",
            f"{body.model!r} is not a chat model any worker serves.",
        )
    previous = await model_catalog.default_model(db, state.settings, statuses)
    await crud.put_app_setting(db, crud.DEFAULT_MODEL_KEY, {"model": body.model})
    await crud.audit(db, admin, "model.set_default", body.model, {"previous": previous})
    return DefaultModelPublic(model=body.model)


@router.get("/workers", response_model=list[WorkerPublic])
async def list_workers(_admin: AdminUser, state: StateDep) -> list[WorkerPublic]:
    now = time.time()
    return [
        WorkerPublic(
            worker_id=w.worker_id,
            host=w.host,
            pid=w.pid,
            models=w.models,
            loaded=[s.name for s in w.statuses if s.state == "loaded"],
            heartbeat_age_s=round(now - w.heartbeat_at, 1),
            active_jobs=w.active_jobs,
            queue_depth=w.queue_depth,
        )
        for w in await state.broker.workers()
    ]


@router.get("/cache", response_model=CacheStats)
async def read_cache_stats(_admin: AdminUser, state: StateDep) -> CacheStats:
    return await state.cache.stats()


@router.post("/cache/flush", response_model=CacheFlushed)
async def flush_cache(admin: AdminUser, state: StateDep, db: SessionDep) -> CacheFlushed:
    flushed = await state.cache.flush()
    await crud.audit(db, admin, "cache.flush", None, {"flushed": flushed})
    return CacheFlushed(flushed=flushed)


async def _progress(db: SessionDep) -> RetagProgress:
    stored = await crud.get_app_setting(db, RETAG_KEY)
    if not stored:
        return RetagProgress(state="idle")
    progress = RetagProgress.model_validate(stored)
    done = await db.scalar(
        select(func.count())
        .select_from(JournalEntry)
        .where(JournalEntry.classifier_version == progress.classifier_version)
    )
    progress.done = min(int(done or 0), progress.total)
    if progress.state == "running" and progress.done >= progress.total:
        progress.state, progress.finished_at = "done", utcnow()
        await crud.put_app_setting(db, RETAG_KEY, progress.model_dump(mode="json"))
    return progress


@router.post("/journal/retag", status_code=status.HTTP_202_ACCEPTED, response_model=RetagProgress)
async def start_retag(admin: AdminUser, state: StateDep, db: SessionDep) -> RetagProgress:
    statuses = await model_catalog.live_models(state.broker, state.settings)
    classifier = statuses.get(MOOD_MODEL)
    if classifier is None or not classifier.usable or not classifier.version:
        reason = classifier.reason if classifier else "no live worker serves it"
        raise api_error(
            status.HTTP_409_CONFLICT, "model_unavailable", f"The journal-mood classifier is unavailable: {reason}."
        )
    total = int(await db.scalar(select(func.count()).select_from(JournalEntry)) or 0)
    progress = RetagProgress(state="running", total=total, classifier_version=classifier.version, started_at=utcnow())
    await crud.put_app_setting(db, RETAG_KEY, progress.model_dump(mode="json"))
    await crud.audit(db, admin, "journal.retag", MOOD_MODEL, {"total": total, "classifier_version": classifier.version})
    stale = list(
        await db.scalars(
            select(JournalEntry)
            .where(
                (JournalEntry.classifier_version.is_(None)) | (JournalEntry.classifier_version != classifier.version)
            )
            .order_by(JournalEntry.id)
        )
    )
    await request_tags(state, db, stale)
    return await _progress(db)


@router.get("/journal/retag", response_model=RetagProgress)
async def read_retag(_admin: AdminUser, db: SessionDep) -> RetagProgress:
    return await _progress(db)


@router.get("/audit", response_model=AuditPage)
async def read_audit(_admin: AdminUser, db: SessionDep, limit: PageLimit = 50, offset: PageOffset = 0) -> AuditPage:
    rows = await db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit).offset(offset))
    total = await db.scalar(select(func.count()).select_from(AuditLog))
    return AuditPage(items=[AuditEntryPublic.model_validate(r) for r in rows], total=int(total or 0))
