"""The Alembic migrations are the only way the schema is made, and they reverse cleanly."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, inspect

from backend.db import downgrade, upgrade
from tests.integration.conftest import PG_ADMIN_DSN

TABLES = {
    "users",
    "chat_sessions",
    "messages",
    "journal_entries",
    "app_settings",
    "audit_log",
    "comparisons",
    "comparison_replies",
}


def _tables(sync_url: str) -> set[str]:
    engine = create_engine(sync_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _round_trip(async_url: str, sync_url: str) -> None:
    upgrade(async_url)
    assert _tables(sync_url) == TABLES
    downgrade(async_url, "base")
    assert _tables(sync_url) == set()
    upgrade(async_url)
    assert _tables(sync_url) == TABLES


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    _round_trip(f"sqlite+aiosqlite:///{path}", f"sqlite:///{path}")


@pytest.mark.integration
def test_postgresql_upgrade_downgrade_upgrade() -> None:
    name = f"attune_migrate_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        _round_trip(f"postgresql+asyncpg://{host}/{name}", f"postgresql+psycopg://{host}/{name}")
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
