"""A first-run build's progress: written beside the artifact, read by the worker, forgotten when it ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

from attune import build_progress
from attune.build_progress import BuildProgress
from worker.registry import ModelManager, Registry


def _progress(fraction: float, elapsed_s: float, **fields: object) -> BuildProgress:
    """``fraction`` done ``elapsed_s`` after the first step (which came a minute after the start)."""
    now = time.time()
    return BuildProgress(
        **{
            "name": "retrieval",
            "step": "embedding 19,533 listener replies (3/4)",
            "fraction": fraction,
            "expected_s": 420.0,
            "started_at": now - elapsed_s - 60,
            "updated_at": now,
            "pid": os.getpid(),
            "measured_at": now - elapsed_s if fraction else None,
            **fields,
        }
    )


def test_the_time_left_follows_the_pace_once_there_is_one() -> None:
    assert round(_progress(0.0, 0).eta_s()) == 360  # nothing measured yet: the usual length, less what has passed
    assert round(_progress(0.005, 60).eta_s()) == 300  # too little to measure a pace by
    assert round(_progress(0.4, 120).eta_s()) == 180  # 40 % in 2 min: 3 min to go, the minute of setup aside
    assert _progress(0.43, 181).describe().startswith("building — 43 %, about 4 min left (embedding")
    assert "less than a minute left" in _progress(0.99, 600).describe()
    slow = _progress(0.02, 120)  # a starved build says so instead of keeping to the usual length
    assert round(slow.eta_s() / 60) == 98


def test_a_tracked_build_reports_until_it_ends(tmp_path: Path) -> None:
    target = tmp_path / "models" / "journal-mood"
    assert build_progress.read(target) is None
    with build_progress.tracking(target, expected_s=420) as reporter:
        seen = build_progress.read(target)
        assert seen is not None and (seen.fraction, seen.step) == (0.0, "starting")
        build_progress.report(0.5, "training, step 10 of 20")
        reporter.update(0.5, "training, step 10 of 20", force=True)
        seen = build_progress.read(target)
        assert seen is not None and seen.fraction == 0.5 and seen.step == "training, step 10 of 20"
        build_progress.report(0.25, "evaluating")  # never goes backwards
        reporter.update(0.25, "evaluating", force=True)
        assert build_progress.read(target).fraction == 0.5
    assert build_progress.read(target) is None
    assert not build_progress.progress_path(target).exists()
    build_progress.report(0.9, "nothing is tracked now")  # a no-op
    assert not build_progress.progress_path(target).exists()


def test_a_dead_builders_file_is_ignored(tmp_path: Path) -> None:
    target = tmp_path / "retrieval"
    path = build_progress.progress_path(target)
    path.write_text(_progress(0.3, 60, pid=2**22 + 12345).model_dump_json())  # above any real pid here
    assert build_progress.read(target) is None
    path.write_text(_progress(0.3, 60, updated_at=time.time() - build_progress.STALE_S - 1).model_dump_json())
    assert build_progress.read(target) is None
    path.write_text("{half a file")
    assert build_progress.read(target) is None


def test_the_worker_reports_a_model_being_built_as_building_and_available_once_it_lands(tmp_path: Path) -> None:
    models = tmp_path / "models.toml"
    models.write_text(
        f'default_chat = "retrieval"\n\n[models.retrieval]\nkind = "retrieval"\nweights = "{tmp_path}/models/retrieval"\n'
    )
    manager = ModelManager(Registry.from_file(models, tmp_path), keep_alive_s=60, memory_budget_gb=8)
    status = manager.statuses()[0]
    assert (status.state, status.progress) == ("unavailable", None)
    assert "attune prepare" in status.reason

    target = tmp_path / "models" / "retrieval"
    with build_progress.tracking(target, expected_s=420) as reporter:
        reporter.update(0.43, "embedding 19,533 listener replies (3/4)", force=True)
        status = manager.statuses()[0]
        assert status.state == "building" and not status.usable
        assert status.progress == 0.43 and status.eta_s is not None
        assert status.reason.startswith("building — 43 %, ")
        target.mkdir()
        (target / "index.json").write_text("{}")
    assert manager.statuses()[0].state == "available"  # at once, not after the probe's cache expires
