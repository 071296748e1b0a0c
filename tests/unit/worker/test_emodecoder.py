import asyncio
from pathlib import Path

import pytest
import torch

from attune.contract import ChatTurn, EmotionReading
from tests.unit.worker.engine_checks import check_cancel_mid_reply
from training.data.empathetic import EMOTIONS
from training.recipes.emodecoder import Config, save_artifact
from worker.engine.sampling import SamplingParams, choose_next_token
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelSpec, ModelUnavailable
from worker.models.emodecoder.architecture import EmoDecoder, EmoDecoderConfig, make_masks
from worker.models.emodecoder.inference import EmotionEMA, emo_alignment_score
from worker.models.emodecoder.serving import EmoDecoderModel, ed_emotion_for, load_base

ARCHITECTURE = EmoDecoderConfig(emotions=tuple(EMOTIONS), adapter_dim=16, adapter_heads=2, emo_dim=8)


def _emodecoder(base_dir: Path, home: Path, perturb: bool) -> tuple[EmoDecoder, object]:
    base, tokenizer = load_base(str(base_dir), None, home, "cpu")
    model = EmoDecoder(base, ARCHITECTURE)
    if perturb:  # as if trained: the adapters now change the base's outputs
        torch.manual_seed(1)
        with torch.no_grad():
            for parameter in model.adapters.parameters():
                parameter.normal_(0, 0.3)
    return model, tokenizer


@pytest.fixture(scope="module")
def artifact_dir(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("emodecoder-artifact")
    model, tokenizer = _emodecoder(tiny_llama_dir, out, perturb=True)
    save_artifact(out, model, tokenizer, Config(base_model=str(tiny_llama_dir), base_gguf_file=None), run_id="test-run")
    return out


def _served(artifact_dir: Path) -> EmoDecoderModel:
    spec = ModelSpec(name="emodecoder", kind="emodecoder", weights=str(artifact_dir))
    return EmoDecoderModel(spec, LoadContext(home=artifact_dir))


def _request(request_id: str, **overrides) -> GenerationRequest:
    values = {
        "request_id": request_id,
        "history": [ChatTurn(role="user", content="I lost my dog yesterday.")],
        "temperature": 1.0,
        "max_new_tokens": 12,
        "seed": 3,
    }
    return GenerationRequest(**(values | overrides))


async def _collect(stream) -> list:
    return [chunk async for chunk in stream]


def test_make_masks_is_causal_and_hides_padding():
    mask = make_masks(torch.tensor([[1, 1, 1], [1, 1, 0]]), query_length=3)

    allowed = mask == 0
    assert mask.shape == (2, 1, 3, 3)
    assert allowed[0, 0].tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert allowed[1, 0, 2].tolist() == [True, True, False]


def test_make_masks_lets_new_tokens_see_the_whole_cached_past():
    mask = make_masks(torch.ones(1, 5), query_length=2)

    assert (mask == 0)[0, 0].tolist() == [[True, True, True, True, False], [True, True, True, True, True]]


def test_the_emodecoders_top_k_sampling_draws_only_from_the_k_best():
    logits = torch.tensor([0.0, 5.0, 4.0, -1.0, 3.0])
    generator = torch.Generator().manual_seed(0)

    top_2 = SamplingParams(temperature=1.0, top_p=1.0, top_k=2)
    draws = {choose_next_token(logits, top_2, generator) for _ in range(200)}

    assert draws == {1, 2}
    assert choose_next_token(logits, SamplingParams(temperature=0.0), None) == 1
    assert choose_next_token(logits, SamplingParams(temperature=1.5, top_p=1.0, top_k=1), None) == 1


def test_emotion_ema_smooths_towards_the_latest_signal():
    ema = EmotionEMA(alpha=0.5)

    ema.update(torch.tensor([1.0, 0.0]))
    smoothed = ema.update(torch.tensor([0.0, 1.0]))

    assert smoothed.tolist() == [0.5, 0.5]
    with pytest.raises(ValueError):
        EmotionEMA(alpha=0.0)


def test_alignment_score_is_a_cosine():
    v = torch.tensor([1.0, 2.0, -1.0])

    assert emo_alignment_score(v, 2 * v) == pytest.approx(1.0)
    assert emo_alignment_score(v, -v) == pytest.approx(-1.0)


def test_only_the_adapters_and_emotion_modules_train(tiny_llama_dir: Path, tmp_path: Path):
    model, _ = _emodecoder(tiny_llama_dir, tmp_path, perturb=False)

    trainable = {name for name, p in model.named_parameters() if p.requires_grad}

    assert trainable and not any(name.startswith("base.") for name in trainable)
    assert all(not p.requires_grad for p in model.base.parameters())
    assert {name.split(".")[0] for name in trainable} == {
        "adapters",
        "emotion_embedding",
        "input_pooling",
        "g_in_projection",
        "emotion_readout",
    }
    assert len(model.adapters) == model.base.config.num_hidden_layers


def test_untrained_emodecoder_is_exactly_its_base(tiny_llama_dir: Path, tmp_path: Path):
    model, _ = _emodecoder(tiny_llama_dir, tmp_path, perturb=False)
    ids = torch.randint(0, 1000, (2, 9))
    padding = torch.ones_like(ids)
    padding[1, 6:] = 0

    g_in = model.condition(ids, padding.bool(), torch.tensor([0, 5]))
    ours = model(ids, padding, g_in).logits
    base = model.base(input_ids=ids, attention_mask=padding).logits

    torch.testing.assert_close(ours[0], base[0])
    torch.testing.assert_close(ours[1, :6], base[1, :6])


def test_incremental_decoding_matches_the_full_forward(tiny_llama_dir: Path, tmp_path: Path):
    model, _ = _emodecoder(tiny_llama_dir, tmp_path, perturb=True)
    ids = torch.randint(0, 1000, (1, 10))
    g_in = model.condition(ids[:, :6], torch.ones(1, 6, dtype=torch.bool), torch.tensor([3]))

    full = model(ids, torch.ones_like(ids), g_in)
    state = model.new_decode_state()
    steps = [model(ids[:, :6], torch.ones(1, 6, dtype=torch.long), g_in, state=state)]
    steps += [model(ids[:, t : t + 1], torch.ones(1, 1, dtype=torch.long), g_in, state=state) for t in range(6, 10)]

    torch.testing.assert_close(torch.cat([s.logits for s in steps], dim=1), full.logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(
        torch.cat([s.token_emotion for s in steps], dim=1), full.token_emotion, atol=1e-4, rtol=1e-4
    )


def test_the_conditioning_emotion_changes_the_output(tiny_llama_dir: Path, tmp_path: Path):
    model, _ = _emodecoder(tiny_llama_dir, tmp_path, perturb=True)
    ids = torch.randint(0, 1000, (1, 8))
    mask = torch.ones_like(ids)

    sad = model(ids, mask, model.condition(ids, mask.bool(), torch.tensor([model.emotion_index("sad")])))
    joyful = model(ids, mask, model.condition(ids, mask.bool(), torch.tensor([model.emotion_index("joyful")])))

    assert not torch.allclose(sad.logits, joyful.logits)


def test_classifier_labels_map_to_ed_emotions():
    grief = EmotionReading(label="grief", scores={"grief": 0.9, "neutral": 0.1})

    assert ed_emotion_for(grief, EMOTIONS, "content") == "devastated"
    assert ed_emotion_for(EmotionReading(label="sadness", scores={"sadness": 1.0}), EMOTIONS, "content") == "sad"
    assert ed_emotion_for(EmotionReading(label="joy", scores={"joy": 0.7, "fear": 0.3}), EMOTIONS, "x") == "joyful"
    assert ed_emotion_for(EmotionReading(label="neutral", scores={"neutral": 1.0}), EMOTIONS, "content") == "content"
    assert ed_emotion_for(None, EMOTIONS, "content") == "content"


def test_a_missing_checkpoint_is_unavailable_with_the_command_to_build_it(tmp_path: Path):
    model = _served(tmp_path / "nothing-here")

    with pytest.raises(ModelUnavailable, match="attune train emodecoder"):
        model.load()


async def test_streams_a_reply_with_its_emotion_and_alignment(artifact_dir: Path):
    model = _served(artifact_dir)
    assert isinstance(model, ChatModel)
    reading = EmotionReading(label="sadness", scores={"sadness": 0.8, "joy": 0.2})

    chunks = await _collect(model.stream(_request("r1", user_emotion=reading)))

    final = chunks[-1]
    assert final.finish_reason in ("stop", "length")
    assert all(chunk.finish_reason is None for chunk in chunks[:-1])
    assert 0 < final.completion_tokens <= 12 and final.prompt_tokens > 0
    assert final.extras["emotion"] == "sad"
    assert -1.0 <= final.extras["emo_alignment_score"] <= 1.0
    assert "".join(chunk.text for chunk in chunks).strip()
    assert model.version == "test-run" and model.memory_bytes() > 0


async def test_same_seed_gives_the_same_reply(artifact_dir: Path):
    model = _served(artifact_dir)

    first = await _collect(model.stream(_request("a")))
    second = await _collect(model.stream(_request("b")))

    assert "".join(c.text for c in first) == "".join(c.text for c in second)


async def test_cancel_stops_the_reply_within_a_step(artifact_dir: Path):
    model = _served(artifact_dir)
    await asyncio.to_thread(model.load)

    await check_cancel_mid_reply(model, _request("c", max_new_tokens=400), after_chunks=1)


async def test_the_request_decodes_with_its_resolved_settings_not_the_checkpoints(
    artifact_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    from worker.models.emodecoder import inference

    seen: list[SamplingParams] = []

    def fake_generate(*args, params: SamplingParams, **kwargs):
        seen.append(params)
        return iter(())

    monkeypatch.setattr(inference, "generate", fake_generate)
    model = _served(artifact_dir)  # its checkpoint records top_k 40

    await _collect(model.stream(_request("settings", top_k=0, top_p=0.5, repetition_penalty=1.3)))

    assert (seen[0].top_k, seen[0].top_p, seen[0].temperature) == (0, 0.5, 1.0)
    assert (seen[0].max_new_tokens, seen[0].repetition_penalty) == (12, 1.3)
