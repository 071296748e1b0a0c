"""First run: the service starts one background process that builds what is missing, reporting its
progress, and each artifact lands whole."""

from __future__ import annotations

import fcntl
import json
import time
from pathlib import Path

import pytest

from attune import build_progress
from tests.fixtures.tiny_encoder import build_tiny_encoder
from training import prepare

TEXT_EMOTION = ("text-emotion",)


@pytest.fixture(scope="module")
def tiny_overrides(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    encoder = build_tiny_encoder(tmp_path_factory.mktemp("encoder"))
    return [
        f"model={encoder}",
        "train_limit=200",
        "report_limit=50",
        "max_length=32",
        "max_steps=4",
        "eval_steps=4",
        "batch_size=16",
    ]


def test_background_build_lands_a_complete_artifact_once(tmp_path: Path, tiny_overrides: list[str]) -> None:
    children = prepare.start_background_builds(tmp_path, tiny_overrides, TEXT_EMOTION)
    assert len(children) == 1
    artifact = tmp_path / "models" / "text-emotion"
    seen = None
    while seen is None and children[0].poll() is None:  # the builder says how far it is while it builds
        seen = build_progress.read(artifact)
        time.sleep(0.05)
    log = tmp_path / "logs" / "builds.log"
    assert children[0].wait(timeout=300) == 0, log.read_text()
    assert seen is not None and seen.name == "text-emotion" and seen.expected_s == 60 * prepare.BACKGROUND_MINUTES
    assert build_progress.read(artifact) is None and not build_progress.progress_path(artifact).exists()

    spec = json.loads((artifact / "labels.json").read_text())
    assert spec["task"] == "multi_label" and spec["pooling"] == "mean" and len(spec["labels"]) == 28
    assert (artifact / "thresholds.json").is_file() and (artifact / "classifier_head.safetensors").is_file()
    assert not (tmp_path / "models" / ".text-emotion.building").exists()
    assert "text-emotion is ready" in log.read_text()
    assert prepare.start_background_builds(tmp_path, tiny_overrides, TEXT_EMOTION) == []  # built once
    assert prepare.main(["text-emotion", "--home", str(tmp_path)]) == 0  # a late second builder trains nothing


def test_stopping_the_service_stops_an_unfinished_build(tmp_path: Path, tiny_overrides: list[str]) -> None:
    children = prepare.start_background_builds(tmp_path, tiny_overrides, TEXT_EMOTION)
    prepare.stop_background_builds(children)
    assert all(child.poll() is not None for child in children)
    assert not (tmp_path / "models" / "text-emotion" / "labels.json").exists()


def test_a_second_builder_leaves_the_build_to_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "models").mkdir()
    with (tmp_path / "models" / ".text-emotion.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert prepare.main(["text-emotion", "--home", str(tmp_path)]) == 0
    assert "already being built" in capsys.readouterr().out
    assert not (tmp_path / "models" / "text-emotion").exists()


def test_unknown_background_model_is_refused() -> None:
    with pytest.raises(SystemExit):
        prepare.main(["psychotherapist", "--home", "/tmp/never"])


def test_the_first_run_builds_what_is_missing_quick_ones_first(tmp_path: Path) -> None:
    assert prepare.missing_builds(tmp_path) == ["journal-mood", "retrieval", "text-emotion"]
    (tmp_path / "models" / "journal-mood").mkdir(parents=True)
    (tmp_path / "models" / "journal-mood" / "labels.json").write_text("{}")
    (tmp_path / "models" / "retrieval").mkdir()  # a directory without its index is not built
    assert prepare.missing_builds(tmp_path) == ["retrieval", "text-emotion"]


class _Running:
    returncode = None

    def poll(self) -> None:
        return None


def test_the_terminal_hears_when_each_background_build_starts_and_lands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    thread = prepare.announce_builds(tmp_path, ["journal-mood"], _Running(), poll_s=0.01)  # type: ignore[arg-type]
    with build_progress.tracking(models / "journal-mood", expected_s=420):
        deadline, heard = time.monotonic() + 10, ""
        while "building journal-mood in the background (about 7 minutes)" not in heard and time.monotonic() < deadline:
            heard += capsys.readouterr().out
            time.sleep(0.01)
        assert "building journal-mood in the background" in heard
        (models / "journal-mood").mkdir()
        (models / "journal-mood" / "labels.json").write_text("{}")
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert "journal-mood is ready in 0 min" in capsys.readouterr().out


def test_a_build_waiting_its_turn_says_so_with_the_time_until_it_is_done(tmp_path: Path) -> None:
    prepare.queue_behind(tmp_path, ["journal-mood", "retrieval", "text-emotion"])
    assert build_progress.read(tmp_path / "models" / "journal-mood") is None  # first: its own build reports
    retrieval = build_progress.read(tmp_path / "models" / "retrieval")
    text_emotion = build_progress.read(tmp_path / "models" / "text-emotion")
    assert retrieval is not None and retrieval.step == "waiting for journal-mood"
    assert retrieval.expected_s == 60 * (7 + prepare.RETRIEVAL_MINUTES)
    assert text_emotion is not None and text_emotion.step == "waiting for retrieval"
    assert text_emotion.describe().startswith("building — 0 %, about 39 min left")
