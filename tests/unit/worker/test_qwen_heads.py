import json
from pathlib import Path

import pytest
import torch

from attune.contract import ChatTurn, EmotionReading
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, ReplyCheck
from worker.models.heads import HeadLabels, Heads
from worker.models.qwen_heads import Draft, Plan, QwenHeadsModel
from worker.safety import SafetyFilter

HISTORY = [ChatTurn(role="user", content="I failed my exam and I feel like giving up on school.")]


@pytest.fixture(scope="module")
def heads_artifact(tiny_qwen2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained artifact in the recipe's exact layout, written by the recipe's own functions."""
    from tests.support.heads_artifact import build_heads_artifact

    return build_heads_artifact(tiny_qwen2_dir, tmp_path_factory.mktemp("qwen-heads-artifact"))


def make_model(
    base: Path,
    adapter: Path | None,
    home: Path,
    quantization: str = "none",
    reply_check: ReplyCheck | None = None,
    **options,
) -> QwenHeadsModel:
    spec = ModelSpec(
        name="qwen-empathetic",
        kind="qwen_heads",
        weights=str(base),
        adapter=str(adapter) if adapter else None,
        quantization=quantization,
        generation={"temperature": 0.0, "max_new_tokens": 8},
        options=options,
    )
    return QwenHeadsModel(spec, LoadContext(home=home, device="cpu", reply_check=reply_check))


async def collect(model: QwenHeadsModel, request: GenerationRequest):
    return [chunk async for chunk in model.stream(request)]


@pytest.mark.parametrize("quantization", ["none", "nf4"])
async def test_streams_a_reply_with_its_plan(tiny_qwen2_dir, heads_artifact, tmp_path, quantization):
    model = make_model(tiny_qwen2_dir, heads_artifact, tmp_path, quantization)
    assert isinstance(model, ChatModel)
    chunks = await collect(model, GenerationRequest(request_id=f"r-{quantization}", history=HISTORY))
    *deltas, last = chunks
    labels = HeadLabels(**json.loads((heads_artifact / "head_labels.json").read_text()))
    assert deltas and all(chunk.text and chunk.finish_reason is None for chunk in deltas)
    assert last.finish_reason in ("stop", "length")
    assert last.completion_tokens >= len(deltas)
    assert last.extras["emotion"] in labels.emotions
    assert last.extras["strategy"] in labels.strategies
    assert last.extras["reflection"] in ("accepted", "regenerated")
    assert not any(token in "".join(c.text for c in deltas) for token in labels.style_tokens)
    assert model.memory_bytes() > 0
    model.unload()
    assert model.memory_bytes() == 0


def test_plan_uses_the_users_classified_emotion(tiny_qwen2_dir, heads_artifact, tmp_path):
    model = make_model(tiny_qwen2_dir, heads_artifact, tmp_path, user_emotion_weight=1.0)
    model.load()
    fear = EmotionReading(label="fear", scores={"fear": 0.9, "sadness": 0.1})
    request = GenerationRequest(request_id="p", history=HISTORY, user_emotion=fear)
    plan = model.plan(model.prompt_ids(request, 8), request)
    assert plan.emotion in ("afraid", "terrified")
    without = model.plan(model.prompt_ids(request, 8), GenerationRequest(request_id="q", history=HISTORY))
    assert without.emotion in model._heads.labels.emotions
    model.unload()


def test_reflection_rewrites_a_draft_the_workers_safety_filter_flags(tmp_path):
    model = make_model(tmp_path, tmp_path, tmp_path, reply_check=SafetyFilter(matcher=None))
    plan = Plan(emotion="sad", strategy="Question")
    draft = Draft(deltas=["go kill yourself"], token_ids=[1, 2, 3], finish_reason="stop", prompt_tokens=4)
    assert model.needs_rewrite([0], draft, plan)  # flagged before the heads are even consulted


def test_heads_round_trip_through_their_files(tmp_path):
    labels = HeadLabels(
        ["sad", "joyful"], ["Question", "Others"], ["<emo:sad>", "<emo:joyful>"], ["<strat:question>", "<strat:other>"]
    )
    heads = Heads.create(hidden_size=8, labels=labels)
    heads.save(tmp_path)
    loaded = Heads.load(tmp_path)
    hidden, mask = torch.randn(3, 5, 8), torch.ones(3, 5, dtype=torch.bool)
    heads.emotion.eval()
    assert torch.allclose(heads.emotion(hidden, mask), loaded.emotion(hidden, mask))
    assert loaded.labels == labels
    assert labels.style_prefix("joyful", "Others") == "<emo:joyful><strat:other>"


def test_missing_adapter_is_unavailable_not_a_crash(tiny_qwen2_dir, tmp_path):
    with pytest.raises(ModelUnavailable, match="adapter"):
        make_model(tiny_qwen2_dir, tmp_path / "never-trained", tmp_path).load()
    with pytest.raises(ModelUnavailable):
        make_model(tiny_qwen2_dir, None, tmp_path).load()


def test_missing_heads_are_unavailable(tiny_qwen2_dir, tiny_qwen2_dir_adapter_only):
    with pytest.raises(ModelUnavailable, match="heads"):
        make_model(tiny_qwen2_dir, tiny_qwen2_dir_adapter_only, tiny_qwen2_dir_adapter_only).load()


@pytest.fixture
def tiny_qwen2_dir_adapter_only(tiny_qwen2_dir, tmp_path) -> Path:
    from tests.fixtures.tiny_models import build_lora_adapter

    return build_lora_adapter(tiny_qwen2_dir, tmp_path / "plain-lora")


def test_the_planning_view_leaves_out_the_system_turn_every_prompt_shares():
    from worker.models.heads import conversation_start

    end = frozenset({2})
    assert conversation_start([1, 9, 9, 9, 2, 1, 7, 7, 2, 1], end) == 5  # after the system turn's end
    assert conversation_start([1, 7, 7], end) == 0  # no system turn: the whole prompt
