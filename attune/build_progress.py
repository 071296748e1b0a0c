"""How far a model's first-run build has got, in a small JSON file beside the artifact.

The builder (``training.prepare``, a child of ``attune serve``) writes
``<home>/models/.<name>.progress.json`` while it builds ``<home>/models/<name>``; the worker
reads it when the artifact is missing, so the model is reported ``building — 43 %, about 4 min
left`` instead of "not found". The file goes when the build ends; one whose builder died (its
process is gone, or it has not written for a long while) is ignored.

Recipes call :func:`report` as they go; it does nothing unless :func:`tracking` is active in
this process, so a recipe run by hand is unchanged. Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError

STALE_S = 600.0  # a builder that wrote nothing for this long is taken to be gone
WRITE_EVERY_S = 1.0


class BuildProgress(BaseModel):
    name: str
    step: str  # what it is doing now, in words
    fraction: float = 0.0  # 0..1 of the whole build
    expected_s: float  # the build's usual length, for an estimate before progress is measured
    started_at: float
    updated_at: float
    pid: int
    # When the first progress was reported, and how much: the pace is measured from there, so the
    # minutes of loading data and models before the first step do not count as slow progress.
    measured_at: float | None = None
    measured_fraction: float = 0.0

    def eta_s(self, now: float | None = None) -> float:
        """Seconds left: from the pace so far once a hundredth is done, else the usual length."""
        now = time.time() if now is None else now
        done = self.fraction - self.measured_fraction
        if self.measured_at is not None and done >= 0.01:
            return max(0.0, (now - self.measured_at) * (1 - self.fraction) / done)
        return max(0.0, self.expected_s - max(0.0, now - self.started_at))

    def describe(self, now: float | None = None) -> str:
        minutes = round(self.eta_s(now) / 60)
        left = "less than a minute left" if minutes < 1 else f"about {minutes} min left"
        return f"building — {int(self.fraction * 100)} %, {left} ({self.step})"


def progress_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.progress.json")


def read(target: Path, now: float | None = None) -> BuildProgress | None:
    """The live build of ``target``, or None (no build, a finished one, or a dead builder's file)."""
    try:
        progress = BuildProgress.model_validate_json(progress_path(target).read_text())
    except (OSError, ValidationError):
        return None
    now = time.time() if now is None else now
    if now - progress.updated_at > STALE_S or not _alive(progress.pid):
        return None
    return progress


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class Reporter:
    """Writes one build's progress file, at most once a second (the last word always lands)."""

    def __init__(self, target: Path, expected_s: float, step: str = "starting") -> None:
        self.path = progress_path(target)
        now = time.time()
        self.progress = BuildProgress(
            name=target.name, step=step, expected_s=expected_s, started_at=now, updated_at=now, pid=os.getpid()
        )
        self._written_at = 0.0
        self.update(0.0, step, force=True)

    def update(self, fraction: float, step: str, force: bool = False) -> None:
        now = time.time()
        if self.progress.measured_at is None and fraction > 0:
            self.progress.measured_at, self.progress.measured_fraction = now, fraction
        self.progress.fraction = min(1.0, max(self.progress.fraction, fraction))
        self.progress.step, self.progress.updated_at = step, now
        if force or now - self._written_at >= WRITE_EVERY_S:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(self.path.name + ".tmp")
            partial.write_text(self.progress.model_dump_json())
            partial.replace(self.path)  # readers never see half a file
            self._written_at = now

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


_active: Reporter | None = None


@contextlib.contextmanager
def tracking(target: Path, expected_s: float) -> Iterator[Reporter]:
    """Within the block, :func:`report` writes ``target``'s progress file; it is removed after."""
    global _active
    reporter = Reporter(target, expected_s)
    _active = reporter
    try:
        yield reporter
    finally:
        _active = None
        reporter.close()


def report(fraction: float, step: str) -> None:
    """The tracked build is ``fraction`` (0..1) done, doing ``step``; a no-op when nothing is tracked."""
    if _active is not None:
        _active.update(fraction, step)
