"""The face-emotion recipe end to end on a tiny ViT and generated faces, from either FER2013 layout:
two stages (head only, then everything), the report, and an artifact the worker serves."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tests.fixtures.tiny_vit import FER_LABELS, save_tiny_vit
from training.cli import main as cli_main
from training.common.config import load_config
from training.common.paths import configs_dir
from training.data import fer2013
from training.recipes import face_emotion
from worker.models.base import LoadContext, ModelSpec
from worker.models.image_classifier import ImageEmotionClassifier

PER_CLASS = {"train": 6, "val": 2, "test": 2}


def _face(label: int, rng: random.Random) -> bytes:
    """48x48 grey levels that tell the class apart: each class its own brightness band, plus noise."""
    level = 20 + 32 * label
    return bytes(min(255, max(0, level + rng.randint(-10, 10))) for _ in range(48 * 48))


def _write_csv(path: Path) -> Path:
    rng = random.Random(0)
    usage = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for split, count in PER_CLASS.items():
            for _ in range(count):
                for emotion in range(7):  # the CSV's ids: 0 angry ... 4 sad, 5 surprise, 6 neutral
                    writer.writerow([emotion, " ".join(map(str, _face(emotion, rng))), usage[split]])
    return path


def _write_folder(root: Path) -> Path:
    from PIL import Image

    rng = random.Random(1)
    for split in ("train", "test"):
        for index, label in enumerate(FER_LABELS):
            (root / split / label).mkdir(parents=True)
            for n in range(PER_CLASS[split]):
                Image.frombytes("L", (48, 48), _face(index, rng)).save(root / split / label / f"{n}.png")
    return root


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vit(tmp_path_factory.mktemp("tiny-vit-base"))


def _train(base: Path, data: Path, out: Path, *overrides: str) -> Path:
    config = load_config(
        face_emotion.Config,
        configs_dir("face-emotion") / "tiny.toml",
        [f"model={base}", f"data={data}", f"out_dir={out}", *overrides],
    )
    return face_emotion.run(config)


def test_the_kaggle_csv_maps_its_emotion_ids_onto_the_serving_labels(tmp_path: Path) -> None:
    splits = fer2013.load(_write_csv(tmp_path / "fer2013.csv"))
    assert {name: len(faces) for name, faces in splits.items()} == {s: 7 * n for s, n in PER_CLASS.items()}
    first_row = splits["train"][:7]  # emotion ids 0..6 in order
    assert [FER_LABELS[f.label] for f in first_row] == [
        "angry",
        "disgust",
        "fear",
        "happy",
        "sad",
        "surprise",
        "neutral",
    ]
    assert first_row[0].image.mode == "RGB" and first_row[0].image.size == (48, 48)
    limited = fer2013.load(tmp_path / "fer2013.csv", {"train": 5, "test": 3})
    assert (len(limited["train"]), len(limited["test"]), len(limited["val"])) == (5, 3, 14)


def test_missing_or_wrong_data_says_what_is_needed(
    tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(fer2013.DatasetMissing, match="fer2013.csv, or a folder with train/<class>/"):
        fer2013.load(tmp_path / "nowhere")
    (tmp_path / "bad" / "train" / "joyful").mkdir(parents=True)
    with pytest.raises(ValueError, match="unknown class folder"):
        fer2013.load(tmp_path / "bad")
    code = cli_main(
        [
            "train",
            "face-emotion",
            "--config",
            "tiny",
            "--set",
            f"model={base}",
            "--set",
            f"data={tmp_path / 'nowhere.csv'}",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 3
    assert "no FER2013 at" in capsys.readouterr().err


@pytest.fixture(scope="module")
def csv_artifact(tmp_path_factory: pytest.TempPathFactory, base: Path) -> Path:
    data = _write_csv(tmp_path_factory.mktemp("fer-csv") / "fer2013.csv")
    return _train(
        base,
        data,
        tmp_path_factory.mktemp("face-emotion-csv"),
        "max_steps=12",
        "eval_steps=6",
        "head_lr=3e-3",
        "full_lr=1e-3",
    )


def _records(artifact: Path) -> list[dict]:
    return [json.loads(line) for line in (artifact / "metrics.jsonl").read_text().splitlines()]


def test_two_stages_train_the_head_then_everything_and_the_loss_falls(csv_artifact: Path, base: Path) -> None:
    records = _records(csv_artifact)
    head = [r for r in records if r["split"] == "head-train" and "loss" in r]
    full = [r for r in records if r["split"] == "full-train" and "loss" in r]
    assert head and full
    assert min(r["step"] for r in full) > max(r["step"] for r in head)  # stage 2's steps follow stage 1's
    losses = [r["loss"] for r in head + full]
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3
    manifest = json.loads((csv_artifact / "run_manifest.json").read_text())
    summary = manifest["summary"]
    assert (summary["head_steps"], summary["full_steps"]) == (12, 12)
    from transformers import ViTForImageClassification

    tiny = ViTForImageClassification.from_pretrained(base)
    assert summary["head_only_trainable_parameters"] == sum(p.numel() for p in tiny.classifier.parameters())
    assert manifest["config"]["head_lr"] == 3e-3 and manifest["data_files"][0]["path"].endswith("fer2013.csv")
    assert summary["founding_macro_f1"] == [0.55, 0.65] and summary["data_layout"] == "csv"


def test_the_artifact_holds_report_plot_and_manifest_and_the_worker_serves_it(csv_artifact: Path) -> None:
    for name in (
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "README.md",
        "loss_curves.png",
        "confusion_matrix.png",
        "classification_report.txt",
        "eval_results.json",
        "run_manifest.json",
    ):
        assert (csv_artifact / name).is_file(), name
    assert not (csv_artifact / "checkpoints").exists()
    report = (csv_artifact / "classification_report.txt").read_text()
    assert all(label in report for label in FER_LABELS)
    assert (csv_artifact / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    spec = ModelSpec(name="face-emotion", kind="image_emotion", weights=str(csv_artifact), chat=False)
    served = ImageEmotionClassifier(spec, LoadContext(home=csv_artifact))
    assert served.labels == FER_LABELS
    run_id = json.loads((csv_artifact / "run_manifest.json").read_text())["run_id"]
    assert served.version == run_id
    from PIL import Image

    readings = served.classify_images([Image.new("RGB", (48, 48), (level, level, level)) for level in (20, 200)])
    assert [sorted(r.scores) for r in readings] == [sorted(FER_LABELS)] * 2


def test_an_image_folder_without_val_carves_the_selection_from_train(tmp_path: Path, base: Path) -> None:
    out = _train(
        base,
        _write_folder(tmp_path / "fer"),
        tmp_path / "out",
        "max_steps=2",
        "eval_steps=2",
        "selection_fraction=0.25",
    )
    summary = json.loads((out / "run_manifest.json").read_text())["summary"]
    assert summary["data_layout"] == "folder" and len(summary["data_folder_sha256"]) == 64
    assert summary["selection_rows"] == 11 and summary["train_rows"] == 42 - 11 and summary["report_rows"] == 14
    assert (out / "confusion_matrix.png").is_file()
