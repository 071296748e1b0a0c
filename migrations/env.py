"""Alembic environment: runs migrations over the app's async engine (PostgreSQL or SQLite)."""

import asyncio
import threading

from alembic import context
from sqlalchemy.engine import Connection

from backend.db import create_engine
from backend.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if not url:
        from backend.config import get_settings

        url = get_settings().resolved_database_url
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_database_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_in_fresh_loop() -> None:
    """Alembic is synchronous; give it a loop of its own even when called from async code."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_async())
        return
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors))
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _capture(errors: list[BaseException]) -> None:
    try:
        asyncio.run(_run_async())
    except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
        errors.append(exc)


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    _run_in_fresh_loop()
