"""One settings base: ATTUNE_HOME, ATTUNE_ENV, ATTUNE_LOG_LEVEL and ATTUNE_ADMIN_PASSWORD read in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from attune import cli
from attune.settings import AttuneSettings
from backend.config import Settings
from training.common.paths import attune_home
from worker.config import WorkerSettings

SHARED = ("ATTUNE_HOME", "ATTUNE_WORKER_HOME", "ATTUNE_ENV", "ATTUNE_LOG_LEVEL", "ATTUNE_ADMIN_PASSWORD")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SHARED:
        monkeypatch.delenv(name, raising=False)


def test_every_process_reads_attune_home_from_the_one_base(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert AttuneSettings().home == Settings().home == WorkerSettings().home == attune_home() == Path("var")
    monkeypatch.setenv("ATTUNE_HOME", str(tmp_path))
    assert AttuneSettings().home == Settings().home == WorkerSettings().home == attune_home() == tmp_path


def test_the_workers_old_spelling_still_counts_and_attune_home_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATTUNE_WORKER_HOME", "/srv/worker")
    assert WorkerSettings().home == Path("/srv/worker")
    monkeypatch.setenv("ATTUNE_HOME", "/srv/attune")
    assert WorkerSettings().home == Path("/srv/attune")


def test_fields_given_by_name_are_not_dropped(tmp_path: Path) -> None:
    settings = WorkerSettings(home=tmp_path, models_file=tmp_path / "models.toml")
    assert settings.home == tmp_path and settings.models_file == tmp_path / "models.toml"


def test_env_and_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not AttuneSettings().production and AttuneSettings().log_level == "INFO"
    monkeypatch.setenv("ATTUNE_ENV", "production")
    monkeypatch.setenv("ATTUNE_LOG_LEVEL", "debug")
    assert AttuneSettings().production and WorkerSettings().production and AttuneSettings().log_level == "debug"
    monkeypatch.setenv("ATTUNE_ENV", "prod")
    with pytest.raises(ValidationError, match="ATTUNE_ENV"):
        AttuneSettings()


def test_the_cli_logs_as_the_settings_say(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    monkeypatch.setattr(
        "attune.observability.configure_logging", lambda process, json, level: seen.update(json=json, level=level)
    )
    monkeypatch.setattr(cli, "_models", lambda _args: 0)
    monkeypatch.setenv("ATTUNE_ENV", "production")
    monkeypatch.setenv("ATTUNE_LOG_LEVEL", "WARNING")
    assert cli.main(["models"]) == 0
    assert seen == {"json": True, "level": "WARNING"}


def test_create_admin_takes_the_password_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("attune.observability.configure_logging", lambda *args, **kwargs: None)
    monkeypatch.setattr(cli.getpass, "getpass", lambda _prompt: pytest.fail("asked for a password"))
    monkeypatch.setenv("ATTUNE_ADMIN_PASSWORD", "short")
    assert cli.main(["create-admin", "admin@example.org"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
    assert "short" not in repr(AttuneSettings())


def test_a_bad_shared_setting_is_a_clear_error_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATTUNE_ENV", "prod")
    assert cli.main(["train", "journal-mood", "--describe"]) == 2
    assert "ATTUNE_ENV" in capsys.readouterr().err
