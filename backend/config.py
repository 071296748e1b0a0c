"""The backend's settings: one typed object, read from the environment once at start-up.

Embedded mode (the default) needs nothing set: a SQLite file and in-process broker, cache
and worker under ATTUNE_HOME. Production mode refuses to start without a real secret and
real servers. ``home`` and ``env`` (ATTUNE_HOME, ATTUNE_ENV) come from ``AttuneSettings``
(``attune/settings.py``), which the worker's settings share.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from attune.settings import AttuneSettings

MIN_SECRET_LENGTH = 32


class Settings(AttuneSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_")

    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "ATTUNE_DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "ATTUNE_REDIS_URL"))
    redis_max_connections: int = Field(
        default=64,
        ge=4,
        description="The broker's Redis connection pool, for short commands and the persister's blocking claim. "
        "Sockets never hold one: every job they follow is read by one XREAD per process on a connection of its "
        "own (attune/broker/redis_events.py), so this need not grow with users. A command finding the pool busy "
        "waits for a free connection (up to 10 s) instead of failing.",
    )
    secret_key: str | None = Field(default=None, repr=False)
    access_token_minutes: int = 60 * 24 * 7
    cors_origins: list[str] = Field(default_factory=list)
    frontend_dist: Path = Field(default=Path(__file__).resolve().parent.parent / "frontend" / "dist")

    default_model: str = Field(
        default="psychotherapist-smollm2",
        description="Used when neither admin nor session picked one and no live worker reports its registry's "
        "default yet: keep it equal to models.toml's default_chat.",
    )
    compare_model: str | None = Field(
        default=None,
        description="The second model of a comparison when the client names none (e.g. chatgpt); unset: "
        "the first other chat model a live worker can serve.",
    )
    history_window: int = Field(default=12, ge=1, le=100, description="Past messages sent to the model.")
    cache_ttl_s: int = 24 * 3600
    max_frame_bytes: int = 16 * 1024
    max_message_chars: int = 4000
    max_image_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="The largest photo a message may carry, decoded (0: no photos). A frame with one may be this "
        "much larger than max_frame_bytes, in base64.",
    )
    signups_per_minute: int = Field(default=10, ge=1, description="Per client address, per replica.")
    logins_per_minute: int = Field(default=20, ge=1, description="Per client address, per replica.")
    frames_per_second: float = 10.0
    frame_burst: int = 40
    auth_timeout_s: float = 10.0
    worker_stale_s: float = 30.0
    first_token_timeout_s: float = Field(default=600.0, description="How long a turn waits for a worker.")
    persister_idle_ms: int = 30_000
    pending_tag_retry_s: int = 120
    repair_interval_s: float = Field(default=15.0, gt=0, description="How often each replica looks for stuck turns.")
    repair_grace_s: float = Field(default=30.0, ge=0, description="A turn younger than this is never called stuck.")
    repair_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a backend holds the right to enqueue a turn; longer than storing a job id "
        "and enqueueing ever takes. A replica that dies mid-enqueue leaves its turns to the others after this.",
    )
    repair_window_s: float = Field(
        default=1800.0, gt=0, description="Turns older than this are left alone (a job's event log lives an hour)."
    )

    @property
    def max_image_frame_bytes(self) -> int:
        """The largest frame accepted when it is a message with a photo (the photo in base64, plus the rest)."""
        return (
            self.max_frame_bytes + -(-self.max_image_bytes // 3) * 4 if self.max_image_bytes else self.max_frame_bytes
        )

    @model_validator(mode="after")
    def _production_needs_real_servers(self) -> Settings:
        if self.production:
            if not self.secret_key or len(self.secret_key) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"ATTUNE_SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} characters in production"
                )
            if not self.database_url or not self.redis_url:
                raise ValueError("production needs DATABASE_URL and REDIS_URL")
        return self

    @property
    def embedded_broker(self) -> bool:
        """No Redis configured: broker, cache and worker all live inside this process."""
        return self.redis_url is None

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.home / 'attune.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """Embedded mode keeps a random secret in ATTUNE_HOME so tokens survive a restart."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
