"""The worker's settings: one typed object, read from the environment once.

Its own variables are ``ATTUNE_WORKER_*``; ``home`` (ATTUNE_HOME) and ``env`` come from
``AttuneSettings`` (``attune/settings.py``), which the backend's settings share.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from attune.settings import AttuneSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class WorkerSettings(AttuneSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_WORKER_")

    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "ATTUNE_REDIS_URL"))
    models_file: Path = Field(
        default=PROJECT_ROOT / "models.toml",
        validation_alias=AliasChoices("ATTUNE_MODELS_FILE", "ATTUNE_WORKER_MODELS_FILE"),
    )
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}")
    models: list[str] | None = Field(
        default=None, description="Serve only these models (default: every model in the registry)."
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    max_concurrent_jobs: int = Field(default=32, ge=1)
    keep_alive_s: float = Field(default=600.0, description="Unload a model idle this long (Ollama's keep_alive).")
    memory_budget_gb: float = Field(default=8.0, description="Unload least recently used models to stay under this.")
    heartbeat_s: float = 2.0
    heartbeat_ttl_s: int = 15
    reclaim_idle_ms: int = Field(
        default=15_000, description="Re-claim jobs whose worker stopped touching them this long."
    )
    emotion_classifier: str = "text-emotion"
    emotion_fallback: str = "journal-mood"
    face_classifier: str = Field(
        default="face-emotion", description="The image_emotion model that reads a message's photo."
    )
    safety_locale: str = "en"
    metrics_port: int | None = None
    metrics_host: str = Field(default="127.0.0.1", description="0.0.0.0 in a container, so Prometheus can scrape it.")
