"""What every Attune process reads from the environment: where its data lives, which shape it runs in.

``AttuneSettings`` owns ``ATTUNE_HOME``, ``ATTUNE_ENV``, ``ATTUNE_LOG_LEVEL`` and
``ATTUNE_ADMIN_PASSWORD``. The backend's ``Settings`` (``backend/config.py``) and the worker's
``WorkerSettings`` (``worker/config.py``) extend it, and the CLI and the training package read it
as it is, so each variable is spelled, defaulted and validated in one place.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

OFFLINE_DEFAULTS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


class AttuneSettings(BaseSettings):
    """The shared settings. Each field names its variable itself, so subclasses may use any ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="ATTUNE_", extra="ignore", validate_by_name=True)

    home: Path = Field(
        default=Path("var"),
        # ATTUNE_WORKER_HOME: the worker's own spelling before it shared this field; ATTUNE_HOME wins.
        validation_alias=AliasChoices("ATTUNE_HOME", "ATTUNE_WORKER_HOME"),
        description="Built models under models/, converted weights and caches under cache/, and in embedded mode "
        "the SQLite file and the token secret.",
    )
    env: Literal["embedded", "production"] = Field(
        default="embedded",
        validation_alias="ATTUNE_ENV",
        description="production: the backend refuses to start without a real secret and real servers, and every "
        "process logs JSON lines.",
    )
    log_level: str = Field(default="INFO", validation_alias="ATTUNE_LOG_LEVEL", description="The root log level.")
    admin_password: SecretStr | None = Field(
        default=None,
        validation_alias="ATTUNE_ADMIN_PASSWORD",
        description="`attune create-admin` uses it instead of asking for a password.",
    )

    @property
    def production(self) -> bool:
        return self.env == "production"


def default_to_offline() -> None:
    """Make Hugging Face libraries offline unless the environment says otherwise.

    Weights come from ATTUNE_HOME, a package or a pre-filled HF_HOME, never from the hub at run time.
    The libraries read these variables themselves (at import, and again in each child process
    such as ``attune serve``'s background builds), so the environment is the one place to say it.
    """
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
