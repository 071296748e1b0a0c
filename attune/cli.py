"""``attune``: one entry point for every process and chore.

attune serve          the embedded default: API + UI + worker in one process on :8000
attune api            the API alone (production: DATABASE_URL + REDIS_URL), run several
attune worker         a model worker process (production), run one per GPU or machine
attune migrate        bring the database schema up to date
attune create-admin   create an administrator, or promote an existing user
attune models         list the registry's models and whether they can load here
attune prepare        build the default artifacts (classifiers, retrieval index)
attune train / eval   the offline training package (see training/README.md)
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.config import Settings

WS_MAX_BYTES = 64 * 1024  # the protocol caps frames at 16 KiB; larger ones get a 1009 close


def _ws_max_bytes(settings: Settings) -> int:
    """What uvicorn lets through: room for a message with a photo, so the app answers an oversized one itself."""
    return max(WS_MAX_BYTES, settings.max_image_frame_bytes + WS_MAX_BYTES)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from pydantic import ValidationError

    from attune.settings import AttuneSettings

    try:
        settings = AttuneSettings()
    except ValidationError as error:  # e.g. ATTUNE_ENV=prod: say so before anything starts
        print(f"attune: {error}", file=sys.stderr)
        return 2
    if argv and argv[0] in {"train", "eval", "prepare"}:
        from training.cli import main as training_main

        return training_main(argv)

    parser = argparse.ArgumentParser(
        prog="attune", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="embedded default: API, UI and worker in one process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--skip-prepare",
        action="store_true",
        help="do not ready the default chat model nor build the missing classifiers and retrieval index",
    )
    api = commands.add_parser("api", help="the API process (several may run behind nginx)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    worker = commands.add_parser("worker", help="a model worker process")
    worker.add_argument("--models", help="comma-separated models to serve (default: all in the registry)")
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    commands.add_parser("migrate", help="apply database migrations")
    admin = commands.add_parser("create-admin", help="create or promote an administrator")
    admin.add_argument("email")
    commands.add_parser("models", help="list models and whether they can load here")
    args = parser.parse_args(argv)

    from attune.observability import configure_logging

    configure_logging(args.command, json=settings.production, level=settings.log_level)
    return {
        "serve": _serve,
        "api": _api,
        "worker": _worker,
        "migrate": _migrate,
        "create-admin": _create_admin,
        "models": _models,
    }[args.command](args)


def _migrate(_args: argparse.Namespace) -> int:
    from backend.config import get_settings
    from backend.db import upgrade

    upgrade(get_settings().resolved_database_url)
    print("database schema is up to date")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from attune.settings import default_to_offline
    from backend.config import get_settings
    from backend.db import upgrade

    default_to_offline()
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    background_builds = []
    if not args.skip_prepare:
        # Only the default chat model is readied before the page opens; the rest is built behind it.
        from training.prepare import announce_builds, missing_builds, start_background_builds
        from worker.config import WorkerSettings
        from worker.prepare import warm_default_chat_model

        warm_default_chat_model(WorkerSettings())
        missing = missing_builds(settings.home)
        background_builds = start_background_builds(settings.home)
        if background_builds:
            announce_builds(settings.home, missing, background_builds[0])
    print(f"Attune is starting on http://{args.host}:{args.port} (embedded mode, data in {settings.home.resolve()})")
    try:
        uvicorn.run(
            "backend.main:app_factory",
            factory=True,
            host=args.host,
            port=args.port,
            ws_max_size=_ws_max_bytes(settings),
            log_config=None,
        )
    finally:
        if background_builds:
            from training.prepare import stop_background_builds

            stop_background_builds(background_builds)
    return 0


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    from backend.config import get_settings

    uvicorn.run(
        "backend.main:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        ws_max_size=_ws_max_bytes(get_settings()),
        proxy_headers=True,
        log_config=None,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from worker.config import WorkerSettings
    from worker.runner import Runner

    overrides = {}
    if args.models:
        overrides["models"] = [m.strip() for m in args.models.split(",") if m.strip()]
    if args.metrics_port:
        overrides["metrics_port"] = args.metrics_port
    settings = WorkerSettings(**overrides)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        service = Runner.from_settings(settings=settings)
        if settings.metrics_port:
            from attune.observability import serve_metrics

            serve_metrics(settings.metrics_port, settings.metrics_host)
        try:
            await service.run(stop)
        finally:
            await service.shutdown()
            await service.broker.close()

    asyncio.run(run())
    return 0


def _create_admin(args: argparse.Namespace) -> int:
    from attune.settings import AttuneSettings

    given = AttuneSettings().admin_password
    password = (given.get_secret_value() if given else "") or getpass.getpass("Password for the administrator: ")
    if len(password) < 8:
        print("the password needs at least 8 characters", file=sys.stderr)
        return 2
    return asyncio.run(_upsert_admin(args.email, password))


async def _upsert_admin(email: str, password: str) -> int:
    from backend import crud
    from backend.config import get_settings
    from backend.db import create_engine, session_factory, upgrade
    from backend.security import hash_password

    settings = get_settings()
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    engine = create_engine(settings.resolved_database_url)
    async with session_factory(engine)() as db:
        user = await crud.get_user_by_email(db, email)
        if user is None:
            await crud.create_user(db, email, hash_password(password), None, role="admin")
            print(f"created administrator {email}")
        else:
            user.role = "admin"
            await db.commit()
            print(f"{email} is now an administrator")
    await engine.dispose()
    return 0


def _models(_args: argparse.Namespace) -> int:
    from worker.config import WorkerSettings
    from worker.registry import ModelManager, Registry

    settings = WorkerSettings()
    registry = Registry.from_file(settings.models_file, settings.home)
    manager = ModelManager(registry, settings.keep_alive_s, settings.memory_budget_gb)
    width = max(len(name) for name in registry.specs)
    for status in manager.statuses():
        mark = "*" if status.default else " "
        detail = f": {status.reason}" if status.reason else ""
        state = status.reason if status.state == "building" else f"{status.state}{detail}"
        print(f"{mark} {status.name:<{width}}  {status.kind:<15} {state}")
    print("(* the default chat model)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
