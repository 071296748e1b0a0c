"""The shared training API: config files with inheritance and overrides, and run bookkeeping."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from training.cli import main as cli_main
from training.common.config import ConfigError, load_config
from training.common.paths import expand_placeholders
from training.common.run import Run


@dataclass
class ToyConfig:
    model: str = field(default="base-model", metadata={"help": "encoder"})
    epochs: int = field(default=3, metadata={"help": "passes over the data"})
    lr: float = field(default=2e-5, metadata={"help": "learning rate"})
    fp16: bool = field(default=False, metadata={"help": "half precision"})
    limit: int | None = field(default=None, metadata={"help": "rows"})
    labels: list[str] = field(default_factory=list, metadata={"help": "label names"})
    out_dir: Path = field(default=Path("out"), metadata={"help": "artifact dir"})
    seed: int = field(default=42, metadata={"help": "seed"})


def test_defaults_when_no_file() -> None:
    assert load_config(ToyConfig, None) == ToyConfig()


def test_child_file_inherits_and_overrides_its_base(tmp_path: Path) -> None:
    (tmp_path / "parent.toml").write_text('model = "parent-model"\nepochs = 5\nlr = 1e-4\n')
    (tmp_path / "child.toml").write_text('base = "parent.toml"\nepochs = 1\nlabels = ["a", "b"]\n')
    config = load_config(ToyConfig, tmp_path / "child.toml")
    assert (config.model, config.epochs, config.lr, config.labels) == ("parent-model", 1, 1e-4, ["a", "b"])


def test_overrides_are_coerced_to_field_types(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text("epochs = 2\n")
    config = load_config(
        ToyConfig,
        tmp_path / "c.toml",
        ["epochs=1", "lr=3e-5", "fp16=true", "limit=200", "model=1e-3", "out_dir=/tmp/x", "labels=a,b"],
    )
    assert config.epochs == 1 and config.lr == 3e-5 and config.fp16 is True and config.limit == 200
    assert config.model == "1e-3" and config.out_dir == Path("/tmp/x") and config.labels == ["a", "b"]
    assert load_config(ToyConfig, None, ["limit=none"]).limit is None


@pytest.mark.parametrize("override", ["epochs=two", "nonsense=1", "missing-equals"])
def test_bad_overrides_fail_with_a_clear_error(override: str) -> None:
    with pytest.raises(ConfigError):
        load_config(ToyConfig, None, [override])


def test_inheritance_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('base = "b.toml"\n')
    (tmp_path / "b.toml").write_text('base = "a.toml"\n')
    with pytest.raises(ConfigError, match="loop"):
        load_config(ToyConfig, tmp_path / "a.toml")


def test_placeholders_expand_to_data_dir_and_package_dirs() -> None:
    assert expand_placeholders("{data}/goemotions").endswith("data/goemotions")
    assert Path(expand_placeholders("{pkg:pytest}")).is_dir()
    with pytest.raises(FileNotFoundError):
        expand_placeholders("{pkg:no_such_package_here}")


def test_run_writes_metrics_manifest_curves_and_card(tmp_path: Path) -> None:
    data_file = tmp_path / "train.txt"
    data_file.write_text("hello;joy\n")
    run = Run.start(tmp_path / "artifact", ToyConfig(epochs=1), data_files=[data_file], seed=7)
    for step, loss in enumerate([1.0, 0.6, 0.3], start=1):
        run.log("train", step, loss=loss, lr=1e-5)
    run.log("eval", 3, loss=0.5, macro_f1=0.8)
    run.write_model_card("# toy model")
    run.finish({"eval_macro_f1": 0.8})

    out = tmp_path / "artifact"
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [line["split"] for line in lines] == ["train", "train", "train", "eval"]
    assert lines[-1]["macro_f1"] == 0.8
    manifest = json.loads((out / "run_manifest.json").read_text())
    assert manifest["config"]["epochs"] == 1 and manifest["seed"] == 7
    assert manifest["data_files"][0]["sha256"] == hashlib.sha256(b"hello;joy\n").hexdigest()
    assert manifest["summary"] == {"eval_macro_f1": 0.8} and manifest["run_id"]
    assert {"git", "packages", "device", "wall_time_s"} <= manifest.keys()
    assert (out / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "README.md").read_text().startswith("# toy model")


def test_cli_rejects_unknown_config_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["train", "journal-mood", "--config", "no-such-config"]) == 2
    assert "no config" in capsys.readouterr().err
