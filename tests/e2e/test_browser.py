"""The React app in real headless Chromium against a real `attune serve` (embedded mode).

Runs tests/e2e/browser/app.test.mjs (Playwright driving Debian's chromium): sign up, chat
with a streamed reply, a message with a photo, stop a reply, reload and see history, a journal entry gets its mood,
an admin switches the default model and a new turn uses it, a non-admin cannot see the
admin page; then tests/e2e/browser/ui.test.mjs: a model still being built shows its progress in
the model picker and the admin's Models page, dark mode (the system's and the toggle's), the phone
layout with the conversations in a drawer, keyboard and screen-reader paths. Screenshots of every
page land in test-output/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from attune import build_progress
from tests.e2e.harness import ManagedProcess, free_port, wait_for_port
from tests.fixtures.classifiers import registry_entries

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "test-output"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "admin password 123"

BUILDING = "still-building"  # a chat model whose first-run build is under way for the whole run

pytestmark = pytest.mark.e2e


def building_entry(home: Path) -> str:
    return f'[models.{BUILDING}]\nkind = "causal_lm"\nweights = "{home / "models" / BUILDING}"\n\n'


@contextlib.contextmanager
def a_model_still_building(home: Path) -> Iterator[None]:
    """Reports a build of ``BUILDING`` as ``training.prepare`` does (two minutes in, a tenth done, a
    little more every few seconds), so the browser sees what a newcomer sees on a first run."""
    reporter = build_progress.Reporter(home / "models" / BUILDING, expected_s=900)
    reporter.progress.started_at -= 120
    stop = threading.Event()

    def advance() -> None:
        step = 100
        while not stop.wait(3):
            step += 1
            reporter.update(step / 1000, f"training, step {step:,} of 1,000", force=True)

    reporter.update(0.1, "training, step 100 of 1,000", force=True)
    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        reporter.close()


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium chromium-driver)"
    if shutil.which("npm") is None:
        return "npm is not installed"
    if not (REPO / "frontend" / "node_modules").is_dir() or not (REPO / "frontend" / "dist" / "index.html").is_file():
        return "the frontend is not installed and built (make frontend)"
    return None


def test_the_app_in_a_real_browser(tmp_path: Path, tiny_llama_dir: Path, classifier_dirs: dict[str, Path]) -> None:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from tests.fixtures.tiny_vit import save_tiny_vit

    face_dir = save_tiny_vit(tmp_path / "face-emotion", leaning="happy")  # every photo reads as happy
    models = tmp_path / "models.toml"
    models.write_text(
        'default_chat = "tiny"\n\n'
        f'[models.tiny]\nkind = "causal_lm"\nweights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.7, max_new_tokens = 48 }\n\n"
        f'[models.tiny-b]\nkind = "causal_lm"\nweights = "{tiny_llama_dir}"\n'
        "generation = { temperature = 0.9, max_new_tokens = 32 }\n\n"
        + registry_entries(classifier_dirs)
        + building_entry(tmp_path / "home")
        + f'[models.face-emotion]\nkind = "image_emotion"\nweights = "{face_dir}"\n'
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "ATTUNE_ENV"}},
        "ATTUNE_HOME": str(tmp_path / "home"),
        "ATTUNE_MODELS_FILE": str(models),
        "ATTUNE_DEFAULT_MODEL": "tiny",
        "HF_HUB_OFFLINE": "1",
    }
    subprocess.run(
        [sys.executable, "-m", "attune.cli", "create-admin", ADMIN_EMAIL],
        env={**env, "ATTUNE_ADMIN_PASSWORD": ADMIN_PASSWORD},
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = ManagedProcess(
        "serve",
        [sys.executable, "-m", "attune.cli", "serve", "--skip-prepare", "--port", str(port)],
        OUTPUT / "browser" / "serve.log",
        env=env,
    )
    server.env = env
    server.start()
    try:
        with a_model_still_building(tmp_path / "home"):
            wait_for_port(port, 120, server.alive)
            result = subprocess.run(
                ["npm", "--prefix", str(REPO / "frontend"), "run", "e2e"],
                env={
                    **os.environ,
                    "BASE_URL": f"http://127.0.0.1:{port}",
                    "E2E_ADMIN_EMAIL": ADMIN_EMAIL,
                    "E2E_ADMIN_PASSWORD": ADMIN_PASSWORD,
                    "SCREENSHOT_DIR": str(OUTPUT / "screenshots"),
                    "CHROMIUM_PATH": CHROMIUM,
                },
                capture_output=True,
                text=True,
                timeout=900,
            )
            (OUTPUT / "browser").mkdir(parents=True, exist_ok=True)
            (OUTPUT / "browser" / "app.tap").write_text(result.stdout + result.stderr)
            summary = [
                line for line in result.stdout.splitlines() if line.startswith(("# pass", "# fail", "# skipped"))
            ]
            assert result.returncode == 0, (
                f"browser tests failed ({summary}):\n{result.stdout[-6000:]}\n{server.log_tail()}"
            )
            assert "# fail 0" in result.stdout and "# skipped 0" in result.stdout, summary
    finally:
        server.stop()
