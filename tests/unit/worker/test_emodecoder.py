import asyncio
import dataclasses
from pathlib import Path

import pytest
import torch

from attune.contract import ChatTurn, EmotionReading
from tests.unit.worker.engine_checks import QUESTIONS, check_cancel_mid_reply, check_model_busy_when_full, collect
from training.data.empathetic import EMOTIONS
from training.recipes.emodecoder import Config, save_artifact
from worker.engine.emodecoder import EmoDecoderEngine
from worker.engine.sampling import RepetitionGuard, SamplingParams, choose_next_token, new_generator
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelBusy, ModelSpec, ModelUnavailable
from worker.models.emodecoder.architecture import EmoDecoder, EmoDecoderConfig, make_masks
from worker.models.emodecoder.inference import EmotionEMA, emo_alignment_score
from worker.models.emodecoder.serving import (
    CHECKPOINT_FILE,
    EmoDecoderModel,
    chat_prompt_ids,
    ed_emotion_for,
    load_base,
)

ARCHITECTURE = EmoDecoderConfig(emotions=tuple(EMOTIONS), adapter_dim=16, adapter_heads=2, emo_dim=8)
ALPHA = 0.3


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


@pytest.fixture(scope="module")
def emo(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[EmoDecoder, object]:
    model, tokenizer = _emodecoder(tiny_llama_dir, tmp_path_factory.mktemp("emodecoder-home"), perturb=True)
    return model.eval(), tokenizer


def _served(artifact_dir: Path, **options) -> EmoDecoderModel:
    spec = ModelSpec(name="emodecoder", kind="emodecoder", weights=str(artifact_dir), options=options)
    return EmoDecoderModel(spec, LoadContext(home=artifact_dir))


@torch.inference_mode()
def reference_reply(
    model: EmoDecoder,
    prompt_ids: list[int],
    emotion_id: int,
    params: SamplingParams,
    stop_ids: set[int],
    prefix_ids: list[int] = (),
) -> tuple[list[int], list[float]]:
    """The single-request loop the engine replaced: the reply's tokens and the alignment after each.

    Prefill prompt + prefix, condition on the prompt, average the emotion over the prefix; then
    choose a token, feed it alone and read its emotion, until a stop token or the length limit.
    """
    guard = RepetitionGuard.for_params(params, frozenset(stop_ids))
    generator = new_generator(params, "cpu")
    input_ids = torch.tensor([[*prompt_ids, *prefix_ids]])
    prompt_mask = torch.arange(input_ids.size(1)).unsqueeze(0) < len(prompt_ids)
    g_in = model.condition(input_ids, prompt_mask, torch.tensor([emotion_id]))
    state = model.new_decode_state()
    ema = EmotionEMA(ALPHA)
    output = model(input_ids, torch.ones_like(input_ids), g_in, state=state)
    for position in range(len(prompt_ids), input_ids.size(1)):
        ema.update(output.token_emotion[0, position])
    tokens, alignments = [], []
    for _ in range(params.max_new_tokens):
        token = choose_next_token(output.logits[0, -1].float(), params, generator, guard)
        if token in stop_ids:
            break
        if guard is not None:
            guard.observe(token)
        output = model(torch.tensor([[token]]), torch.ones(1, 1, dtype=torch.long), g_in, state=state)
        tokens.append(token)
        alignments.append(emo_alignment_score(g_in[0], ema.update(output.token_emotion[0, -1])))
    return tokens, alignments


def _prompt(tokenizer, question: str) -> list[int]:
    return chat_prompt_ids(tokenizer, [("user", question)], None)


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
    seen: list[SamplingParams] = []
    submit = EmoDecoderEngine.submit

    def spy(self, request_id, prompt_ids, params, **kwargs):
        seen.append(params)
        return submit(self, request_id, prompt_ids, params, **kwargs)

    monkeypatch.setattr(EmoDecoderEngine, "submit", spy)
    model = _served(artifact_dir)  # its checkpoint records top_k 40

    await _collect(model.stream(_request("settings", top_k=0, top_p=0.5, repetition_penalty=1.3)))

    assert (seen[0].top_k, seen[0].top_p, seen[0].temperature) == (0, 0.5, 1.0)
    assert (seen[0].max_new_tokens, seen[0].repetition_penalty) == (12, 1.3)


async def test_the_served_reply_is_the_single_request_loops(artifact_dir: Path, tiny_llama_dir: Path):
    checkpoint = torch.load(artifact_dir / CHECKPOINT_FILE, weights_only=True)
    base, tokenizer = load_base(str(tiny_llama_dir), None, artifact_dir, "cpu")
    reference = EmoDecoder(base, EmoDecoderConfig.from_dict(checkpoint["architecture"]))
    reference.load_trainable_state_dict(checkpoint["state_dict"])
    generation = checkpoint["generation"]
    assert generation["ema_alpha"] == ALPHA, "the reference loop averages with the recipe's alpha"
    request = _request("served", temperature=0.0, user_emotion=EmotionReading(label="sadness", scores={"sadness": 1.0}))
    prompt = chat_prompt_ids(
        tokenizer, [("user", "I lost my dog yesterday.")], generation["system_prompt"], generation["max_prompt_tokens"]
    )
    params = SamplingParams.from_decoding(request.decoding)
    tokens, alignments = reference_reply(reference, prompt, EMOTIONS.index("sad"), params, {tokenizer.eos_token_id})

    chunks = await _collect(_served(artifact_dir).stream(request))

    final = chunks[-1]
    assert "".join(chunk.text for chunk in chunks) == tokenizer.decode(tokens, skip_special_tokens=True)
    assert final.finish_reason == ("length" if len(tokens) == 12 else "stop")
    assert (final.completion_tokens, final.prompt_tokens) == (len(tokens), len(prompt))
    assert set(final.extras) == {"emotion", "emo_alignment_score"} and final.extras["emotion"] == "sad"
    assert final.extras["emo_alignment_score"] == pytest.approx(alignments[-1], abs=1e-4)  # rounded to 4 places


async def test_a_full_batch_and_queue_is_busy(artifact_dir: Path):
    model = _served(artifact_dir, max_batch_size=1, max_queued=0)
    await asyncio.to_thread(model.load)
    try:
        await check_model_busy_when_full(model, _request)
    finally:
        model.unload()


async def test_unload_ends_a_running_reply_cancelled(artifact_dir: Path):
    model = _served(artifact_dir)
    await asyncio.to_thread(model.load)
    stream = model.stream(_request("unloaded", max_new_tokens=400))
    chunks = [await stream.__anext__()]
    await asyncio.to_thread(model.unload)
    chunks += [chunk async for chunk in stream]
    assert chunks[-1].finish_reason == "cancelled"


# --- the engine: many replies in one forward pass per step ---------------------------------


@pytest.fixture
def engine_for(emo):
    engines = []

    def make(**settings) -> EmoDecoderEngine:
        model, tokenizer = emo
        engines.append(EmoDecoderEngine(model, tokenizer, ema_alpha=ALPHA, **settings))
        return engines[-1]

    yield make
    for engine in engines:
        engine.shutdown()


async def test_batched_replies_equal_the_single_request_loop_token_for_token(emo, engine_for):
    model, tokenizer = emo
    prompts = [_prompt(tokenizer, question) for question in QUESTIONS]
    assert len({len(p) for p in prompts}) == len(prompts)
    emotions = [EMOTIONS.index(name) for name in ("sad", "joyful", "afraid", "furious", "content")]
    settings = [SamplingParams(temperature=0.0, max_new_tokens=n) for n in (10, 16, 7, 13, 9)]
    settings[3] = dataclasses.replace(settings[3], repetition_penalty=1.3, no_repeat_ngram_size=2)
    # A stop token the second reply writes: that reply ends "stop", the others at their length.
    stop = reference_reply(model, prompts[1], emotions[1], settings[1], set())[0][5]
    stops = {tokenizer.eos_token_id, stop}
    expected = [reference_reply(model, *row, stops) for row in zip(prompts, emotions, settings)]
    engine = engine_for(max_batch_size=4, max_queued=4, stop_token_ids=stops)

    tasks = []
    for index, (ids, emotion, params) in enumerate(zip(prompts, emotions, settings)):
        stream = engine.submit(f"r{index}", ids, params, emotion_id=emotion)
        tasks.append(asyncio.create_task(collect(stream)))
        # Let the running rows advance a few steps so the next request joins mid-generation.
        while engine.stats.decode_steps < 3 * (index + 1) and engine.unfinished:
            await asyncio.sleep(0.001)
    results = await asyncio.gather(*tasks)

    assert engine.stats.peak_batch >= 3, "replies were decoded one at a time, not batched"
    reasons = []
    for ids, emotion, params, (tokens, alignments), (text, final) in zip(
        prompts, emotions, settings, expected, results
    ):
        reasons.append(final.finish_reason)
        assert final.finish_reason == ("length" if len(tokens) == params.max_new_tokens else "stop")
        assert list(final.token_ids) == tokens + ([stop] if final.finish_reason == "stop" else [])
        assert (final.completion_tokens, final.prompt_tokens) == (len(tokens), len(ids))
        assert text == tokenizer.decode(tokens, skip_special_tokens=True)
        assert final.extras["emotion"] == EMOTIONS[emotion]
        if alignments:
            assert final.extras["emo_alignment_score"] == pytest.approx(alignments[-1], abs=1e-5)
        else:
            assert final.extras["emo_alignment_score"] is None
    assert set(reasons) == {"stop", "length"}


async def test_a_reply_that_stops_at_once_has_no_alignment(emo, engine_for):
    model, tokenizer = emo
    ids = _prompt(tokenizer, QUESTIONS[2])
    first = reference_reply(model, ids, 0, SamplingParams(temperature=0.0, max_new_tokens=1), set())[0][0]
    engine = engine_for(stop_token_ids={first})

    text, final = await collect(engine.submit("s", ids, SamplingParams(temperature=0.0), emotion_id=0))

    assert (text, final.finish_reason, final.completion_tokens, final.token_ids) == ("", "stop", 0, (first,))
    assert final.extras["emo_alignment_score"] is None


async def test_cancel_ends_a_reply_within_one_step_and_leaves_its_batch_mate_exact(emo, engine_for):
    model, tokenizer = emo
    engine = engine_for(max_batch_size=4)
    mate_ids, mate_params = _prompt(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=30)
    stream = engine.submit(
        "long", _prompt(tokenizer, QUESTIONS[1]), SamplingParams(temperature=0.0, max_new_tokens=400), emotion_id=1
    )
    mate = asyncio.create_task(collect(engine.submit("mate", mate_ids, mate_params, emotion_id=2)))

    steps_at_cancel = None
    async for output in stream:
        final = output
        if steps_at_cancel is None and engine.stats.decode_steps >= 4:
            steps_at_cancel = engine.stats.decode_steps
            engine.cancel("long")
    text, mate_final = await mate

    assert final.finish_reason == "cancelled"
    # A row emits one token per step: at most the step in progress when cancel came ran on.
    assert final.completion_tokens <= steps_at_cancel + 1
    tokens, alignments = reference_reply(model, mate_ids, 2, mate_params, {tokenizer.eos_token_id})
    assert mate_final.completion_tokens == len(tokens) and list(mate_final.token_ids[: len(tokens)]) == tokens
    assert text == tokenizer.decode(tokens, skip_special_tokens=True)
    assert mate_final.extras["emo_alignment_score"] == pytest.approx(alignments[-1], abs=1e-5)
    assert engine.unfinished == 0 and engine.running == 0


async def test_a_resumed_prefix_is_prefilled_and_averaged_but_not_emitted_again(emo, engine_for):
    model, tokenizer = emo
    ids = _prompt(tokenizer, QUESTIONS[3])
    stops = {tokenizer.eos_token_id}
    started, _ = reference_reply(model, ids, 5, SamplingParams(temperature=0.0, max_new_tokens=5), stops)
    params = SamplingParams(temperature=0.0, max_new_tokens=8)
    tokens, alignments = reference_reply(model, ids, 5, params, stops, prefix_ids=started)
    engine = engine_for()

    text, final = await collect(engine.submit("resumed", ids, params, emotion_id=5, reply_prefix_ids=started))

    assert text == tokenizer.decode(tokens, skip_special_tokens=True)
    assert list(final.token_ids) == tokens and final.completion_tokens == len(tokens)
    assert final.prompt_tokens == len(ids)  # the prefix is reply, not prompt
    assert final.extras["emo_alignment_score"] == pytest.approx(alignments[-1], abs=1e-5)


async def test_the_engine_refuses_requests_beyond_its_rows_and_queue(emo, engine_for):
    _, tokenizer = emo
    engine = engine_for(max_batch_size=1, max_queued=1)
    ids, forever = _prompt(tokenizer, QUESTIONS[0]), SamplingParams(temperature=0.0, max_new_tokens=300)
    first = engine.submit("a", ids, forever, emotion_id=0)
    engine.submit("b", ids, forever, emotion_id=0)
    with pytest.raises(ModelBusy):
        engine.submit("c", ids, forever, emotion_id=0)
    engine.cancel("a")
    assert (await collect(first))[1].finish_reason == "cancelled"
    engine.submit("c", ids, forever, emotion_id=0)  # a place is free again
