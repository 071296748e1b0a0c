"""Kind ``image_emotion``: a ViT face classifier served lazily from its artifact, batched, photos read in memory."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from attune.contract import EmotionReading, ImageAttachment
from tests.fixtures.tiny_vit import FER_LABELS, photo_bytes, save_tiny_vit
from worker.emotion import FaceReader
from worker.models.base import ImageClassifier, LoadContext, ModelSpec, ModelUnavailable
from worker.models.image_classifier import BadImage, ImageEmotionClassifier
from worker.registry import ModelManager, Registry

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_vit(tmp_path_factory.mktemp("tiny-vit"))


def _classifier(directory: Path, **options: object) -> ImageEmotionClassifier:
    spec = ModelSpec(
        name="face-emotion", kind="image_emotion", weights=str(directory), chat=False, options=dict(options)
    )
    return ImageEmotionClassifier(spec, LoadContext(home=directory))


def _manager(tmp_path: Path, weights: Path) -> ModelManager:
    tmp_path.mkdir(parents=True, exist_ok=True)
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(f'[models.face-emotion]\nkind = "image_emotion"\nweights = "{weights}"\n')
    return ModelManager(Registry.from_file(registry_file, tmp_path / "home"), keep_alive_s=60, memory_budget_gb=1)


def test_fresh_install_lists_face_emotion_unavailable_with_what_is_missing(tmp_path: Path) -> None:
    registry = Registry.from_file(REPO / "models.toml", tmp_path / "fresh-home")
    status = {s.name: s for s in ModelManager(registry, 60, 8).statuses()}["face-emotion"]
    assert status.state == "unavailable" and not status.chat and status.kind == "image_emotion"
    assert f"weights not found at {tmp_path / 'fresh-home' / 'models' / 'face-emotion'}" in status.reason
    for needed in ("FER2013", "google/vit-base-patch16-224-in21k", "attune train face-emotion", "text_only"):
        assert needed in status.reason, status.reason
    assert "attune prepare" not in status.reason  # prepare does not build it


def test_readings_are_distributions_over_the_fer_classes_in_input_order(vit_dir: Path) -> None:
    classifier = _classifier(vit_dir, batch_size=2)
    assert isinstance(classifier, ImageClassifier)
    assert classifier.labels == FER_LABELS  # read from config.json before loading
    colours = [(200, 150, 120), (10, 200, 30), (250, 250, 250), (90, 60, 40), (0, 0, 255)]
    images = [classifier.decode_image(photo_bytes(c, size=(40 + 9 * i, 30 + 5 * i))) for i, c in enumerate(colours)]
    batched = classifier.classify_images(images)
    alone = [_classifier(vit_dir, batch_size=1).classify_images([image])[0] for image in images]
    assert len(batched) == len(images)
    for together, single in zip(batched, alone, strict=True):
        assert list(together.scores) == FER_LABELS
        assert sum(together.scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert together.label == max(together.scores, key=together.scores.get)
        assert together.model == "face-emotion"
        assert together.scores == pytest.approx(single.scores, abs=1e-4)
    assert classifier.memory_bytes() > 0
    classifier.unload()
    assert classifier.memory_bytes() == 0


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_each_accepted_format_decodes_to_rgb(vit_dir: Path, image_format: str) -> None:
    image = _classifier(vit_dir).decode_image(photo_bytes(image_format=image_format))
    assert image.mode == "RGB" and image.size == (64, 48)


def test_other_formats_garbage_and_huge_photos_are_refused_with_a_reason(vit_dir: Path) -> None:
    classifier = _classifier(vit_dir, max_pixels=1000)
    with pytest.raises(BadImage, match="JPEG, PNG or WebP, not GIF"):
        classifier.decode_image(photo_bytes(image_format="GIF"))
    with pytest.raises(BadImage, match="could not be decoded"):
        classifier.decode_image(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(BadImage, match="64x48 pixels; at most 1,000"):
        classifier.decode_image(photo_bytes())


def test_an_unbuilt_artifact_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="attune train face-emotion"):
        _classifier(tmp_path / "nothing-here").load()


async def test_the_registry_loads_the_kind_lazily_and_the_reader_fuses(tmp_path: Path) -> None:
    leaning = save_tiny_vit(tmp_path / "happy-vit", leaning="happy")
    manager = _manager(tmp_path, leaning)
    assert manager.loaded() == []
    reader = FaceReader(manager, "face-emotion")
    text = EmotionReading(label="joy", scores={"joy": 0.7, "sadness": 0.3}, model="text-emotion")
    photo = ImageAttachment(media_type="image/png", data=base64.b64encode(photo_bytes(image_format="PNG")).decode())

    fused = await reader.fuse(text, photo)
    assert manager.loaded() == ["face-emotion"]
    assert fused.fusion.source == "fused_aligned" and fused.label == "happy"
    assert fused.fusion.face.label == "happy" and fused.fusion.face.model == "face-emotion"
    assert fused.fusion.confidence > 0.7

    sad = EmotionReading(label="sadness", scores={"sadness": 0.9, "joy": 0.1}, model="text-emotion")
    conflict = await reader.fuse(sad, photo)
    assert conflict.fusion.source == "fused_conflict" and conflict.label == "sad"

    assert await reader.fuse(text, None) is text  # no photo: the text's reading, untouched
    assert await reader.fuse(None, photo) is None  # no text reading: nothing to fuse with


async def test_an_unreadable_photo_or_a_missing_model_leaves_text_only(tmp_path: Path) -> None:
    text = EmotionReading(label="fear", scores={"fear": 0.8, "neutral": 0.2}, model="text-emotion")
    reader = FaceReader(_manager(tmp_path, save_tiny_vit(tmp_path / "vit")), "face-emotion")
    not_base64 = ImageAttachment(media_type="image/jpeg", data="@@@@")
    broken = ImageAttachment(media_type="image/jpeg", data=base64.b64encode(b"\xff\xd8\xffnope").decode())
    for photo, reason in ((not_base64, "Only base64"), (broken, "could not be decoded")):
        fused = await reader.fuse(text, photo)
        assert fused.fusion.source == "text_only" and fused.label == "fear"
        assert reason.lower() in fused.fusion.face_error.lower()

    unbuilt = FaceReader(_manager(tmp_path / "other", tmp_path / "missing"), "face-emotion")
    fused = await unbuilt.fuse(text, broken)
    assert fused.fusion.source == "text_only"
    assert fused.fusion.face_error == "the face-emotion model is not available on this server"
    unnamed = await FaceReader(unbuilt.models, "no-such-model").fuse(text, broken)
    assert unnamed.fusion.face_error == "no face-emotion model is configured"
