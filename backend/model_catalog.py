"""What the live workers can serve, merged from their heartbeats, and which model is the default."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from attune.broker.base import Broker
from attune.contract import ModelStatus, WorkerInfo
from backend import crud
from backend.config import Settings

_STATE_RANK = {"loaded": 4, "loading": 3, "available": 2, "building": 1, "unavailable": 0}


async def live_workers(broker: Broker, stale_s: float) -> list[WorkerInfo]:
    now = time.time()
    return [w for w in await broker.workers() if now - w.heartbeat_at <= stale_s]


def merge_statuses(workers: list[WorkerInfo]) -> dict[str, ModelStatus]:
    """One status per model: the best state any worker reports (loaded beats available)."""
    merged: dict[str, ModelStatus] = {}
    for worker in workers:
        for status in worker.statuses:
            current = merged.get(status.name)
            if current is None or _STATE_RANK[status.state] > _STATE_RANK[current.state]:
                merged[status.name] = status
    return merged


async def live_models(broker: Broker, settings: Settings) -> dict[str, ModelStatus]:
    return merge_statuses(await live_workers(broker, settings.worker_stale_s))


def listing_fields(status: ModelStatus, default: str) -> dict[str, Any]:
    """What every model listing (``/api/models``, ``/api/admin/models``) shows of a model."""
    return {
        "name": status.name,
        "kind": status.kind,
        "state": status.state,
        "reason": status.reason,
        "default": status.name == default,
        "description": status.description,
        "progress": status.progress,
        "eta_s": status.eta_s,
    }


async def default_model(db: AsyncSession, settings: Settings, statuses: dict[str, ModelStatus]) -> str:
    """The administrator's choice, else the registry's default, else the configured one."""
    chosen = await crud.get_app_setting(db, crud.DEFAULT_MODEL_KEY)
    if chosen and chosen.get("model"):
        return str(chosen["model"])
    registry_default = next((s.name for s in statuses.values() if s.default), None)
    return registry_default or settings.default_model
