"""The real stack for integration tests: a fresh PostgreSQL database and Redis DB index per
run, migrations applied, and real ``attune api`` / ``attune worker`` processes."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from tests.e2e.harness import ManagedProcess, free_port, wait_for_port
from tests.fixtures.classifiers import registry_entries
from tests.integration.llama_server import RemoteEndpoint

PG_ADMIN_DSN = os.environ.get("ATTUNE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("ATTUNE_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("ATTUNE_TEST_REDIS_DB", "11"))
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "integration"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"attune_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    host = PG_ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{host}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = f"{REDIS_BASE}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def slow_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wider, deeper random Llama: slow enough per token that a cancel or a kill lands mid-reply."""
    from tests.fixtures.tiny_models import build_tiny_llama

    return build_tiny_llama(
        tmp_path_factory.mktemp("slow-llama"),
        seed=1,
        hidden_size=384,
        intermediate_size=1024,
        num_hidden_layers=8,
        num_attention_heads=6,
        max_position_embeddings=4096,
    )


@pytest.fixture(scope="session")
def remote_endpoint() -> RemoteEndpoint:
    """Where the loopback OpenAI-compatible server (tests/integration/llama_server.py) listens when a test starts it."""
    return RemoteEndpoint(port=free_port(), api_key="sk-attune-test-" + uuid.uuid4().hex)


@pytest.fixture(scope="session")
def models_file(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_llama_dir: Path,
    slow_llama_dir: Path,
    classifier_dirs: dict[str, Path],
    face_vit_dir: Path,
    remote_endpoint: RemoteEndpoint,
) -> Path:
    """A registry whose default chat model is a tiny real Llama: real generation, fast on a CPU."""
    path = tmp_path_factory.mktemp("registry") / "models.toml"
    path.write_text(
        'default_chat = "tiny"\n\n'
        "[models.tiny]\n"
        'kind = "causal_lm"\n'
        f'weights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.0, max_new_tokens = 24 }\n\n"
        "[models.slow]\n"
        'kind = "causal_lm"\n'
        f'weights = "{slow_llama_dir}"\n'
        "generation = { temperature = 0.0, max_new_tokens = 1500 }\n\n"
        "[models.tiny-sampled]\n"
        'kind = "causal_lm"\n'
        f'weights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.9, max_new_tokens = 16 }\n\n"
        + remote_endpoint.registry_entries()
        + registry_entries(classifier_dirs)
        + f'[models.face-emotion]\nkind = "image_emotion"\nweights = "{face_vit_dir}"\n\n'
    )
    return path


@pytest.fixture(scope="session")
def face_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The face model: a tiny ViT with the FER2013 classes that reads every photo as "happy"."""
    from tests.fixtures.tiny_vit import save_tiny_vit

    return save_tiny_vit(tmp_path_factory.mktemp("face-emotion"), leaning="happy")


@pytest.fixture(scope="session")
def stack_env(
    database_url: str,
    redis_url: str,
    models_file: Path,
    remote_endpoint: RemoteEndpoint,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    env = {
        "ATTUNE_ENV": "production",
        "ATTUNE_SECRET_KEY": "integration-tests-secret-key-" + uuid.uuid4().hex,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ATTUNE_HOME": str(home),
        "ATTUNE_MODELS_FILE": str(models_file),
        "ATTUNE_DEFAULT_MODEL": "tiny",  # what the API enqueues for before any worker has reported
        "ATTUNE_SIGNUPS_PER_MINUTE": "1000",  # the suite signs up dozens of users from one address
        "ATTUNE_COMPARE_MODEL": "tiny-sampled",
        RemoteEndpoint.KEY_ENV: remote_endpoint.api_key,
        RemoteEndpoint.WRONG_KEY_ENV: RemoteEndpoint.WRONG_KEY,
        "ATTUNE_WORKER_RECLAIM_IDLE_MS": "3000",
        "ATTUNE_WORKER_HEARTBEAT_S": "0.5",
        "ATTUNE_PERSISTER_IDLE_MS": "3000",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    from backend.db import upgrade

    upgrade(database_url)
    return env


def attune(*args: str) -> list[str]:
    return [sys.executable, "-m", "attune.cli", *args]


@pytest.fixture(scope="session")
def api_url(stack_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    api = ManagedProcess("api", attune("api", "--port", str(port)), OUTPUT / "api.log", env=stack_env).start()
    try:
        wait_for_port(port, 60, api.alive)
        yield f"http://127.0.0.1:{port}"
    finally:
        api.stop()


@pytest.fixture
def start_worker(stack_env: dict[str, str]) -> Iterator:
    started: list[ManagedProcess] = []

    def start(name: str = "worker", **env: str) -> ManagedProcess:
        process = ManagedProcess(name, attune("worker"), OUTPUT / f"{name}.log", env={**stack_env, **env}).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
