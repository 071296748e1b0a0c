"""The production topology as real subprocesses: a fresh PostgreSQL database, one Redis
database index, ``attune api`` replicas and ``attune worker`` processes serving the zero-cost
``echo`` model (worker/models/echo.py), each logging to a file of its own.

The fault, load and hostile-input suite starts it once for its folder (tests/faults/conftest.py);
``scripts/bench_stack.py`` starts the same stack to measure what it adds to a turn.

Environment overrides: ``ATTUNE_TEST_PG_DSN`` (an admin DSN, default the local ``postgres``
user), ``ATTUNE_FAULTS_REDIS`` (default ``redis://127.0.0.1:6379/13``; the index is flushed
before and after).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import redis

from attune import contract
from tests.e2e.harness import ManagedProcess, free_port, wait_for_port, wait_until

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "faults"
PG_ADMIN_DSN = os.environ.get("ATTUNE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ATTUNE_FAULTS_REDIS", "redis://127.0.0.1:6379/13")
MODEL = "echo"
# The repair pass runs every REPAIR_INTERVAL_S and calls a turn stuck after REPAIR_GRACE_S.
REPAIR_INTERVAL_S, REPAIR_GRACE_S = 2, 6
WORDS = 12  # an echo reply: 12 words, 40 ms apart, so a kill or a disconnect lands mid-reply
TOKEN_DELAY_S = 0.04


def attune(*args: str) -> list[str]:
    return [sys.executable, "-m", "attune.cli", *args]


@dataclass
class FaultStack:
    env: dict[str, str]
    database_dsn: str  # psycopg form, for the audit
    apis: dict[str, ManagedProcess]
    api_ports: dict[str, int]
    workers: dict[str, ManagedProcess] = field(default_factory=dict)
    output: Path = OUTPUT
    command: Callable[..., list[str]] = attune  # the argv of ``attune <args>``

    def url(self, api: str | None = None) -> str:
        return f"http://127.0.0.1:{self.api_ports[api or next(iter(self.api_ports))]}"

    def start_api(self, name: str) -> None:
        self.apis[name].start()
        wait_for_port(self.api_ports[name], 60, self.apis[name].alive)

    def start_worker(self, name: str) -> None:
        self.workers[name] = ManagedProcess(
            name,
            self.command("worker", "--models", MODEL),
            self.output / f"{name}.log",
            env={**self.env, "ATTUNE_WORKER_WORKER_ID": name},
            cwd=REPO,
        ).start()

    def all_alive(self) -> bool:
        return all(p.alive() for p in [*self.apis.values(), *self.workers.values()])

    def workers_heartbeating(self) -> bool:
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            return all(client.exists(contract.worker_key(name)) for name in self.workers)
        finally:
            client.close()

    def describe(self) -> str:
        return "\n".join(
            f"--- {p.name} ({p.log_path}) ---\n{p.log_tail(30)}" for p in [*self.apis.values(), *self.workers.values()]
        )


def echo_registry(token_delay_s: float = TOKEN_DELAY_S, words: int = WORDS) -> str:
    """A models.toml serving only the echo model, as the default chat model."""
    return (
        f'default_chat = "{MODEL}"\n\n[models.{MODEL}]\nkind = "echo"\n'
        'description = "zero-cost deterministic replies (fault and load tests)"\n'
        f"options = {{ token_delay_s = {token_delay_s}, words = {words} }}\n"
    )


def stack_env(database_dsn: str, redis_url: str, home: Path, registry: Path) -> dict[str, str]:
    """Every process's environment: production mode, and the limits a load from few accounts needs."""
    return {
        "ATTUNE_ENV": "production",
        "ATTUNE_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": "postgresql+asyncpg://" + database_dsn.split("://", 1)[1],
        "REDIS_URL": redis_url,
        "ATTUNE_HOME": str(home),
        "ATTUNE_MODELS_FILE": str(registry),
        "ATTUNE_DEFAULT_MODEL": MODEL,
        "ATTUNE_SIGNUPS_PER_MINUTE": "1000",
        "ATTUNE_LOGINS_PER_MINUTE": "1000",
        # The load test drives hundreds of sockets from a few accounts; the per-user frame limit
        # is tested on its own (tests/integration/test_hostile_input.py).
        "ATTUNE_FRAMES_PER_SECOND": "100000",
        "ATTUNE_FRAME_BURST": "400",
        "ATTUNE_REPAIR_INTERVAL_S": str(REPAIR_INTERVAL_S),
        "ATTUNE_REPAIR_GRACE_S": str(REPAIR_GRACE_S),
        # A replica killed mid-enqueue holds its turns' leases this long; at the default 30 s a
        # fault that lands late in the load left a resent turn waiting past the clients' deadline.
        "ATTUNE_REPAIR_LEASE_S": str(REPAIR_GRACE_S),
        "ATTUNE_PERSISTER_IDLE_MS": "3000",
        "ATTUNE_WORKER_RECLAIM_IDLE_MS": "3000",
        "ATTUNE_WORKER_HEARTBEAT_S": "0.5",
        "ATTUNE_WORKER_DEVICE": "cpu",
        "ATTUNE_WORKER_MAX_CONCURRENT_JOBS": "64",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
    }


@contextmanager
def fresh_database(admin_dsn: str = PG_ADMIN_DSN, prefix: str = "attune_faults") -> Iterator[str]:
    """A new, empty PostgreSQL database (its psycopg DSN), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_stack(
    database_dsn: str,
    root: Path,
    *,
    redis_url: str = REDIS_URL,
    output: Path = OUTPUT,
    api_names: Sequence[str] = ("api-a", "api-b"),
    worker_names: Sequence[str] = ("worker-a", "worker-b"),
    token_delay_s: float = TOKEN_DELAY_S,
    words: int = WORDS,
    env_overrides: Mapping[str, str] | None = None,
    command: Callable[..., list[str]] = attune,
) -> Iterator[FaultStack]:
    """Migrate ``database_dsn``, start the workers and APIs, wait until every worker has answered
    a turn, and yield the stack; every process is stopped and the Redis index flushed afterwards.
    ``command`` builds each process's argv from the ``attune`` arguments (default: ``attune(...)``)."""
    output.mkdir(parents=True, exist_ok=True)
    for old in output.glob("*.log"):
        old.unlink()
    flush = redis.Redis.from_url(redis_url)
    flush.flushdb()
    registry = root / "models.toml"
    registry.write_text(echo_registry(token_delay_s, words))
    env = {**stack_env(database_dsn, redis_url, root / "home", registry), **(env_overrides or {})}
    with (output / "migrate.log").open("wb") as log:
        subprocess.run(
            attune("migrate"),
            env={**os.environ, **env},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=True,
        )
    ports = {name: free_port() for name in api_names}
    apis = {
        name: ManagedProcess(
            name, command("api", "--host", "127.0.0.1", "--port", str(port)), output / f"{name}.log", env=env, cwd=REPO
        )
        for name, port in ports.items()
    }
    stack = FaultStack(env, database_dsn, apis, ports, output=output, command=command)
    try:
        for name in worker_names:
            stack.start_worker(name)
        for name in apis:
            stack.start_api(name)
        wait_until(stack.workers_heartbeating, timeout_s=120, what="every worker to heartbeat")
        asyncio.run(warm_up(stack))
        yield stack
    except BaseException:
        print(stack.describe(), file=sys.stderr)
        raise
    finally:
        for process in [*stack.apis.values(), *stack.workers.values()]:
            process.stop()
        flush.flushdb()
        flush.close()


async def warm_up(stack: FaultStack) -> None:
    """Until every worker answers: each fits its crisis detector (a sentence encoder) before its first job."""
    from tests.faults.load import accounts, sessions_for, timed_turn

    person = (await accounts(stack.url(), 1))[0]
    sessions = await sessions_for(person, 2 * len(stack.workers))
    deadline = time.monotonic() + 240
    while not all(_has_answered(stack, name) for name in stack.workers):
        assert time.monotonic() < deadline, "the workers did not answer within 240 s"
        await asyncio.gather(*(timed_turn(stack.url(), person, s, 240) for s in sessions))


def _has_answered(stack: FaultStack, worker: str) -> bool:
    return '"finished: ' in stack.workers[worker].log_path.read_text(errors="replace")
