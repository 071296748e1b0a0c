"""The production topology for the fault, load and hostile-input suite: a fresh PostgreSQL
database, one Redis database index, two ``attune api`` replicas and two ``attune worker``
processes serving the zero-cost ``echo`` model (worker/models/echo.py), each a real subprocess
logging under test-output/faults/. Started once for every test in this folder.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
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


async def _warm_up(stack: FaultStack) -> None:
    """Until both workers answer: each fits its crisis detector (a sentence encoder) before its first job."""
    from tests.faults.load import accounts, sessions_for, timed_turn

    person = (await accounts(stack.url(), 1))[0]
    sessions = await sessions_for(person, 4)
    deadline = time.monotonic() + 240
    while not all(_has_answered(stack, name) for name in stack.workers):
        assert time.monotonic() < deadline, "the workers did not answer within 240 s"
        await asyncio.gather(*(timed_turn(stack.url(), person, s, 240) for s in sessions))


def _has_answered(stack: FaultStack, worker: str) -> bool:
    return '"finished: ' in stack.workers[worker].log_path.read_text(errors="replace")


def attune(*args: str) -> list[str]:
    return [sys.executable, "-m", "attune.cli", *args]


@dataclass
class FaultStack:
    env: dict[str, str]
    database_dsn: str  # psycopg form, for the audit
    apis: dict[str, ManagedProcess]
    api_ports: dict[str, int]
    workers: dict[str, ManagedProcess] = field(default_factory=dict)

    def url(self, api: str = "api-a") -> str:
        return f"http://127.0.0.1:{self.api_ports[api]}"

    def start_api(self, name: str) -> None:
        self.apis[name].start()
        wait_for_port(self.api_ports[name], 60, self.apis[name].alive)

    def start_worker(self, name: str) -> None:
        self.workers[name] = ManagedProcess(
            name,
            attune("worker", "--models", MODEL),
            OUTPUT / f"{name}.log",
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


@pytest.fixture(scope="package")
def fault_database() -> Iterator[str]:
    name = f"attune_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="package")
def fault_stack(fault_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.log"):
        old.unlink()
    flush = redis.Redis.from_url(REDIS_URL)
    flush.flushdb()
    root = tmp_path_factory.mktemp("faults")
    registry = root / "models.toml"
    registry.write_text(
        f'default_chat = "{MODEL}"\n\n[models.{MODEL}]\nkind = "echo"\n'
        'description = "zero-cost deterministic replies (fault and load tests)"\n'
        f"options = {{ token_delay_s = 0.04, words = {WORDS} }}\n"
    )
    env = {
        "ATTUNE_ENV": "production",
        "ATTUNE_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": "postgresql+asyncpg://" + fault_database.split("://", 1)[1],
        "REDIS_URL": REDIS_URL,
        "ATTUNE_HOME": str(root / "home"),
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
    with (OUTPUT / "migrate.log").open("wb") as log:
        subprocess.run(
            attune("migrate"),
            env={**os.environ, **env},
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=True,
        )
    ports = {name: free_port() for name in ("api-a", "api-b")}
    apis = {
        name: ManagedProcess(
            name, attune("api", "--host", "127.0.0.1", "--port", str(port)), OUTPUT / f"{name}.log", env=env, cwd=REPO
        )
        for name, port in ports.items()
    }
    stack = FaultStack(env, fault_database, apis, ports)
    try:
        for name in ("worker-a", "worker-b"):
            stack.start_worker(name)
        for name in apis:
            stack.start_api(name)
        wait_until(stack.workers_heartbeating, timeout_s=120, what="both workers to heartbeat")
        asyncio.run(_warm_up(stack))
        yield stack
    except BaseException:
        print(stack.describe(), file=sys.stderr)
        raise
    finally:
        for process in [*stack.apis.values(), *stack.workers.values()]:
            process.stop()
        flush.flushdb()
        flush.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``runs_last`` tests (schemathesis, whose admin calls change settings) after the folder's
    others, not after the whole session's: the stack is torn down when the folder ends."""
    here = Path(__file__).parent
    slots = [i for i, item in enumerate(items) if here in item.path.parents]
    ordered = sorted((items[i] for i in slots), key=lambda item: item.get_closest_marker("runs_last") is not None)
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item
