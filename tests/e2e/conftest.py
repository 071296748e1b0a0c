"""The production topology on loopback: PostgreSQL + Redis (already running), two API replicas,
two workers and nginx, each a real subprocess with its log under test-output/e2e-scale/.

Everything the fixtures start they stop, on failure too; the database they create is dropped
and the Redis database index they took is flushed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from attune import contract
from tests.e2e.harness import ManagedProcess, free_port, wait_for_port, wait_until
from tests.fixtures.tiny_models import build_tiny_llama

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output" / "e2e-scale"
ATTUNE = [sys.executable, "-m", "attune.cli"]
POSTGRES = {"host": "127.0.0.1", "port": 5432}
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
CHAT_MODEL = "tiny"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def _connect_postgres(dbname: str = "postgres"):
    import psycopg

    last_error: Exception | None = None
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(dbname=dbname, user=user, autocommit=True, connect_timeout=5, **POSTGRES)
        except psycopg.OperationalError as error:
            last_error = error
    raise RuntimeError(f"PostgreSQL on 127.0.0.1:5432 refused users postgres and root: {last_error}")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh database for this run, dropped afterwards (connections still open are ended first)."""
    name = f"attune_e2e_{uuid.uuid4().hex[:12]}"
    with _connect_postgres() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        user = admin.info.user
    try:
        yield f"postgresql+asyncpg://{user}@{POSTGRES['host']}:{POSTGRES['port']}/{name}"
    finally:
        with _connect_postgres() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """An empty Redis database index, taken for this run and flushed afterwards."""
    import redis

    for index in range(15, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=index)
        # SET NX on a claim key makes two runs at once pick different indexes.
        if client.dbsize() == 0 and client.set("attune-e2e:claimed", "1", nx=True, ex=3600):
            break
        client.close()
    else:
        pytest.fail("no empty Redis database index (1-15) to run in")
    try:
        yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{index}"
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def models_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry with one real (tiny, random) Llama: generation is genuine but fast."""
    root = tmp_path_factory.mktemp("e2e-models")
    weights = build_tiny_llama(root / "tiny-llama")
    registry = root / "models.toml"
    registry.write_text(
        f'default_chat = "{CHAT_MODEL}"\n\n'
        f"[models.{CHAT_MODEL}]\n"
        'kind = "causal_lm"\n'
        'description = "a 2-layer random Llama with the SmolLM2 tokenizer (end-to-end tests)"\n'
        f'weights = "{weights}"\n'
        # One thread keeps tokens slow enough for a kill to land mid-reply and spares the CPU.
        "options = { num_threads = 1, max_batch_size = 4 }\n"
        "generation = { temperature = 1.0, top_p = 1.0, max_new_tokens = 400 }\n"
    )
    return registry


@pytest.fixture(scope="module")
def frontend_dist(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """frontend/dist, built with npm when missing; None (with a warning) when it cannot be built."""
    dist = REPO / "frontend" / "dist"
    if (dist / "index.html").exists():
        return dist
    npm = shutil.which("npm")
    if npm is None or not (REPO / "frontend" / "node_modules").is_dir():
        warnings.warn(
            "frontend/dist is missing and npm or frontend/node_modules is not there to build it", stacklevel=1
        )
        return None
    log = OUTPUT / "frontend-build.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        build = subprocess.run(
            [npm, "run", "build"], cwd=REPO / "frontend", stdout=out, stderr=subprocess.STDOUT, timeout=600, check=False
        )
    if build.returncode != 0 or not (dist / "index.html").exists():
        warnings.warn(f"`npm run build` failed (see {log}); the frontend check is skipped", stacklevel=1)
        return None
    return dist


@dataclass
class Stack:
    """The running topology; ``nginx_url`` is the only address a client uses."""

    nginx_port: int
    backends: dict[str, ManagedProcess]
    backend_ports: dict[str, int]
    workers: dict[str, ManagedProcess]
    worker_metrics_ports: dict[str, int]
    nginx: ManagedProcess
    redis_url: str
    frontend_built: bool
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def nginx_url(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.nginx_port}"

    def restart_backend(self, name: str) -> None:
        process = self.backends[name]
        process.stop()
        process.start()
        wait_for_port(self.backend_ports[name], timeout_s=120, alive=process.alive)

    def restart_worker(self, name: str) -> None:
        process = self.workers[name]
        process.stop()
        process.start()
        wait_for_port(self.worker_metrics_ports[name], timeout_s=120, alive=process.alive)

    def describe_failure(self) -> str:
        parts = [f"--- {p.name} ({p.log_path}) ---\n{p.log_tail(25)}" for p in self._processes()]
        return "\n".join(parts)

    def _processes(self) -> list[ManagedProcess]:
        return [*self.backends.values(), *self.workers.values(), self.nginx]


def _run_once(name: str, args: list[str], env: dict[str, str]) -> None:
    log = OUTPUT / f"{name}.log"
    with log.open("wb") as out:
        done = subprocess.run(
            args, env={**os.environ, **env}, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, timeout=300, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(args[2:])}` failed ({done.returncode}):\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def stack(
    postgres_url: str,
    redis_url: str,
    models_file: Path,
    frontend_dist: Path | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    if NGINX is None:
        pytest.skip("nginx is not installed: apt-get install -y nginx")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old_log in OUTPUT.glob("*.log"):
        old_log.unlink()
    root = tmp_path_factory.mktemp("e2e-stack")
    env = {
        "ATTUNE_ENV": "production",
        "ATTUNE_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "ATTUNE_HOME": str(root / "home"),
        "ATTUNE_MODELS_FILE": str(models_file),
        "ATTUNE_DEFAULT_MODEL": CHAT_MODEL,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        # Fail over in seconds rather than the production defaults of 15-30 s.
        "ATTUNE_PERSISTER_IDLE_MS": "3000",
        "ATTUNE_WORKER_RECLAIM_IDLE_MS": "3000",
        "ATTUNE_WORKER_HEARTBEAT_S": "1",
        "ATTUNE_WORKER_DEVICE": "cpu",
    }
    _run_once("migrate", [*ATTUNE, "migrate"], env)

    backend_ports = {name: free_port() for name in ("api-a", "api-b")}
    backends = {
        name: ManagedProcess(
            name, [*ATTUNE, "api", "--host", "127.0.0.1", "--port", str(port)], OUTPUT / f"{name}.log", env, REPO
        )
        for name, port in backend_ports.items()
    }
    worker_metrics_ports = {name: free_port() for name in ("worker-a", "worker-b")}
    workers = {
        name: ManagedProcess(
            name,
            [*ATTUNE, "worker", "--models", CHAT_MODEL, "--metrics-port", str(port)],
            OUTPUT / f"{name}.log",
            {**env, "ATTUNE_WORKER_WORKER_ID": name},
            REPO,
        )
        for name, port in worker_metrics_ports.items()
    }
    nginx_port = free_port()
    prefix = root / "nginx"
    static_root = frontend_dist or (root / "no-frontend")
    static_root.mkdir(parents=True, exist_ok=True)
    render = [sys.executable, str(REPO / "nginx" / "render.py"), "--listen", f"127.0.0.1:{nginx_port}"]
    render += [arg for port in backend_ports.values() for arg in ("--backend", f"127.0.0.1:{port}")]
    render += ["--static-root", str(static_root), "--standalone", str(prefix), "--out", str(prefix / "nginx.conf")]
    if os.geteuid() == 0:
        render += ["--user", "root"]  # nginx's workers would otherwise drop to nobody, who cannot read the tree
    subprocess.run(render, check=True)
    shutil.copy(prefix / "nginx.conf", OUTPUT / "nginx.conf")
    nginx = ManagedProcess("nginx", [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], OUTPUT / "nginx.log")

    stack = Stack(
        nginx_port,
        backends,
        backend_ports,
        workers,
        worker_metrics_ports,
        nginx,
        redis_url,
        frontend_dist is not None,
        env,
    )
    try:
        for process in [*backends.values(), *workers.values(), nginx]:
            process.start()
        for name, port in backend_ports.items():
            wait_for_port(port, timeout_s=120, alive=backends[name].alive)
        wait_for_port(nginx_port, timeout_s=20, alive=nginx.alive)
        for name, port in worker_metrics_ports.items():
            wait_for_port(port, timeout_s=180, alive=workers[name].alive)
        wait_until(lambda: _both_workers_ready(stack), timeout_s=180, what="both workers to heartbeat")
        yield stack
    except BaseException:
        print(stack.describe_failure(), file=sys.stderr)
        raise
    finally:
        for process in [nginx, *backends.values(), *workers.values()]:
            process.stop()
        (OUTPUT / "nginx-access.log").write_bytes(
            (prefix / "access.log").read_bytes() if (prefix / "access.log").exists() else b""
        )


def _both_workers_ready(stack: Stack) -> bool:
    import redis

    client = redis.Redis.from_url(stack.redis_url)
    try:
        return all(client.exists(contract.worker_key(name)) for name in stack.workers)
    finally:
        client.close()
