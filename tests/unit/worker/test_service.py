"""The worker's turn logic on the in-memory broker, with a scripted model in place of an LLM:
crisis answers are fixed, unsafe text is never released, a re-delivered job continues."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from attune.broker.memory import MemoryBroker
from attune.contract import (
    ChatTurn,
    DecodingParams,
    DoneEvent,
    EmotionEvent,
    EmotionReading,
    ErrorEvent,
    GenerateJob,
    ImageAttachment,
    TokenEvent,
)
from tests.fixtures.tiny_vit import photo_bytes, save_tiny_vit
from worker import pipeline
from worker.config import WorkerSettings
from worker.models.base import GenerationRequest, ModelSpec, StreamChunk
from worker.registry import ModelManager, Registry, _Slot
from worker.runner import Runner

pytestmark = pytest.mark.asyncio(loop_scope="session")


class ScriptedModel:
    """Replies with fixed pieces of text; records what it was asked."""

    def __init__(self, pieces: list[str], finish_reason: str = "stop") -> None:
        self.spec = ModelSpec(name="scripted", kind="causal_lm")
        self.pieces = pieces
        self.finish_reason = finish_reason
        self.requests: list[GenerationRequest] = []
        self.cancelled: set[str] = set()

    version = "v1"

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int:
        return 0

    def cancel(self, request_id: str) -> None:
        self.cancelled.add(request_id)

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamChunk]:
        self.requests.append(request)
        for piece in self.pieces:
            if request.request_id in self.cancelled:
                yield StreamChunk(finish_reason="cancelled")
                return
            await asyncio.sleep(0)
            yield StreamChunk(text=piece)
        yield StreamChunk(finish_reason=self.finish_reason, prompt_tokens=5, completion_tokens=len(self.pieces))


def _service(tmp_path: Path, model: ScriptedModel) -> tuple[Runner, MemoryBroker]:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text(
        'default_chat = "scripted"\n[models.scripted]\nkind = "causal_lm"\nweights = "/nonexistent"\n'
    )
    registry = Registry.from_file(registry_file, tmp_path)
    manager = ModelManager(registry, keep_alive_s=600, memory_budget_gb=1)
    manager._slots["scripted"].instance = model  # stands in for a loaded LLM
    broker = MemoryBroker()
    return Runner(WorkerSettings(home=tmp_path, models_file=registry_file), broker, manager), broker


def _job(text: str) -> GenerateJob:
    return GenerateJob(
        session_id="s", user_message_id=1, model="scripted", history=[ChatTurn(role="user", content=text)]
    )


async def _events(broker: MemoryBroker, job: GenerateJob) -> list:
    return [event for _, event in await broker.read_events(job.job_id, "0", block_ms=0)]


async def test_a_clean_reply_streams_in_checked_pieces(tmp_path: Path) -> None:
    model = ScriptedModel(["I hear ", "you. ", "That sounds ", "hard."])
    service, broker = _service(tmp_path, model)
    job = _job("I had a rough day")
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.finish_reason == "stop"
    assert "".join(t.text for t in tokens) == done.content == "I hear you. That sounds hard."
    assert [t.index for t in tokens] == list(range(len(tokens)))
    assert done.completion_tokens == 4 and done.safety.toxic is False


def test_models_the_worker_loads_check_their_drafts_with_its_own_safety_filter(tmp_path: Path) -> None:
    service, _ = _service(tmp_path, ScriptedModel([]))
    assert service.models.registry.context.reply_check is service.ctx.safety


async def test_a_crisis_message_gets_the_fixed_resource_reply_not_generation(tmp_path: Path) -> None:
    model = ScriptedModel(["generated text"])
    service, broker = _service(tmp_path, model)
    job = _job("I want to kill myself tonight")
    await service.process(job, resumed=False)
    done = (await _events(broker, job))[-1]
    assert model.requests == [], "a crisis must never reach the model"
    assert done.safety.crisis is True and done.finish_reason == "safety"
    assert done.safety.level == "imminent" and done.safety.fixed_reply is True
    assert done.safety.resources, "the reply carries crisis lines"
    assert done.content == service.ctx.safety.fixed_reply(done.safety, "en")[0]
    assert done.reply_emotion is None and done.alignment is None, "a fixed text is not badged as the model's"


async def _answer(
    tmp_path: Path, text: str, pieces: list[str] | None = None, **job: object
) -> tuple[ScriptedModel, DoneEvent]:
    """One turn through the service; the scripted model and the done event."""
    model = ScriptedModel(pieces or ["generated text"])
    service, broker = _service(tmp_path, model)
    turn = _job(text).model_copy(update=job)
    await service.process(turn, resumed=False)
    return model, (await _events(broker, turn))[-1]


async def test_a_spanish_crisis_is_answered_in_spanish_with_the_countrys_line(tmp_path: Path) -> None:
    model, done = await _answer(tmp_path, "ya no quiero vivir, no aguanto más", locale="es-MX")
    assert model.requests == []
    assert done.safety.crisis is True and done.safety.language == "es"
    assert "Línea de la Vida" in done.content and "911" in done.content
    assert done.safety.resources[0]["phone"] == "800 911 2000"


async def test_worry_for_someone_else_gets_the_how_to_help_reply(tmp_path: Path) -> None:
    model, done = await _answer(tmp_path, "My best friend told me she wants to kill herself. How can I help her?")
    assert model.requests == []
    assert done.safety.level == "third_party" and done.safety.crisis is False
    assert done.finish_reason == "safety" and "ask them directly" in done.content


async def test_after_a_crisis_the_session_generates_under_the_safety_prompt_with_lines_in_view(tmp_path: Path) -> None:
    model, done = await _answer(tmp_path, "thanks for listening", ["I'm here with you."], session_risk=True)
    assert done.finish_reason == "stop" and done.content == "I'm here with you."
    assert "Never give information about methods" in (model.requests[0].system_prompt or "")
    assert done.safety.session_risk is True and done.safety.resources
    assert done.safety.fixed_reply is False


async def test_after_a_crisis_a_short_follow_up_about_means_is_imminent(tmp_path: Path) -> None:
    model, done = await _answer(tmp_path, "i have them right here", session_risk=True)
    assert model.requests == [] and done.safety.level == "imminent"


async def test_text_shows_word_by_word_with_a_short_look_ahead(tmp_path: Path) -> None:
    pieces = ["I ", "hear ", "how ", "much ", "this ", "weighs ", "on ", "you"]
    streamed, done = await _streamed_and_done(tmp_path, pieces, "stop", max_new_tokens=256)
    assert done.content == streamed == "I hear how much this weighs on you"


async def test_words_come_out_before_the_sentence_ends_but_the_look_ahead_is_held(tmp_path: Path) -> None:
    model = ScriptedModel(["I ", "hear ", "how ", "much ", "this ", "weighs"])
    service, broker = _service(tmp_path, model)
    job = _job("I had a rough day")
    released: list[str] = []
    publish = broker.publish

    async def spy(job_id: str, event: object) -> None:
        if isinstance(event, TokenEvent):
            released.append(event.text)
        await publish(job_id, event)

    broker.publish = spy  # type: ignore[method-assign]
    await service.process(job, resumed=False)
    assert released[0] == "I "  # shown after the fifth word arrived, not at the end of the sentence
    assert "".join(released) == "I hear how much this weighs"


async def test_a_toxic_phrase_split_across_tokens_is_never_shown(tmp_path: Path) -> None:
    model = ScriptedModel(["Honestly ", "you ", "should ", "just ", "kill ", "yourself ", "now"])
    service, broker = _service(tmp_path, model)
    job = _job("What should I do?")
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    released = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert "kill" not in released and events[-1].safety.toxic is True


async def test_a_reply_with_no_text_is_an_error_not_an_empty_answer(tmp_path: Path) -> None:
    model = ScriptedModel(["", "  \n"])
    service, broker = _service(tmp_path, model)
    job = _job("Rate these four emotions from 0 to 10")
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    assert not any(isinstance(e, DoneEvent) for e in events)
    assert isinstance(events[-1], ErrorEvent) and events[-1].code == "generation_failed"
    assert "without writing anything" in events[-1].message


async def test_a_toxic_sentence_is_never_released(tmp_path: Path) -> None:
    model = ScriptedModel(["Thanks for sharing. ", "You are a worthless idiot. ", "Bye."])
    service, broker = _service(tmp_path, model)
    job = _job("What do you think of me?")
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    released = "".join(e.text for e in events if isinstance(e, TokenEvent))
    done = events[-1]
    assert "idiot" not in released and released == "Thanks for sharing. "
    assert done.safety.toxic is True and done.content == service.ctx.safety.fallback_reply()
    assert job.job_id in model.cancelled


async def test_a_redelivered_job_continues_after_what_was_streamed(tmp_path: Path) -> None:
    model = ScriptedModel(["and then ", "it got better."])
    service, broker = _service(tmp_path, model)
    job = _job("Tell me more")
    await broker.publish(job.job_id, TokenEvent(index=0, text="First it was hard, "))
    await service.process(job, resumed=True)
    events = await _events(broker, job)
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert [t.index for t in tokens] == list(range(len(tokens)))
    assert model.requests[0].prefix == "First it was hard, "
    assert events[-1].content == "First it was hard, and then it got better."


async def test_a_job_finished_before_its_worker_died_is_not_generated_again(tmp_path: Path) -> None:
    model = ScriptedModel(["never used"])
    service, broker = _service(tmp_path, model)
    job = _job("hello")
    finished = DoneEvent(
        job_id=job.job_id,
        session_id="s",
        user_message_id=1,
        content="done before",
        model="scripted",
        model_version="v",
        finish_reason="stop",
    )
    await broker.publish(job.job_id, finished)
    await service.process(job, resumed=True)
    assert model.requests == []
    (result,) = await broker.claim_results("persister", block_ms=100, min_idle_ms=60_000)
    assert result.result.content == "done before"


class SadClassifier:
    """A loaded text-emotion classifier that reads every text as sad."""

    spec = ModelSpec(name="text-emotion", kind="classifier", chat=False)
    labels = ["sadness", "joy"]
    version = "c1"

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def memory_bytes(self) -> int:
        return 0

    def classify(self, texts: list[str]) -> list[EmotionReading]:
        return [EmotionReading(label="sadness", scores={"sadness": 0.9, "joy": 0.1}) for _ in texts]


def _with_sad_classifier(service: Runner) -> None:
    service.models.registry.specs["text-emotion"] = SadClassifier.spec
    service.models._slots["text-emotion"] = _Slot(instance=SadClassifier())
    service.ctx.emotions.candidates = ["text-emotion"]


async def test_emotion_is_reported_before_the_first_token_when_a_classifier_is_loaded(tmp_path: Path) -> None:
    model = ScriptedModel(["I'm sorry you feel low."])
    service, broker = _service(tmp_path, model)
    _with_sad_classifier(service)
    job = _job("I feel low")
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    assert isinstance(events[0], EmotionEvent) and events[0].emotion.label == "sadness"
    assert model.requests[0].user_emotion is not None and model.requests[0].user_emotion.label == "sadness"
    done = events[-1]
    assert done.user_emotion.label == "sadness" and done.alignment == pytest.approx(1.0)


async def test_decoding_settings_the_user_chose_win_over_the_registry_defaults(tmp_path: Path) -> None:
    from attune.contract import DecodingParams

    service, _ = _service(tmp_path, ScriptedModel([]))
    service.models.registry.specs["scripted"] = ModelSpec(
        name="scripted",
        kind="causal_lm",
        generation={"temperature": 0.7, "max_new_tokens": 256, "system_prompt": "Be kind."},
    )
    job = _job("hi")
    job.params = DecodingParams(temperature=0.2)
    request = pipeline.build_request(service.ctx, job, None, "")
    assert (request.temperature, request.max_new_tokens, request.top_p) == (0.2, 256, 0.9)
    assert request.system_prompt == "Be kind."


async def _streamed_and_done(
    tmp_path: Path, pieces: list[str], finish_reason: str, max_new_tokens: int = 4
) -> tuple[str, DoneEvent]:
    service, broker = _service(tmp_path, ScriptedModel(pieces, finish_reason=finish_reason))
    job = _job("I had a rough day").model_copy(update={"params": DecodingParams(max_new_tokens=max_new_tokens)})
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    assert isinstance(events[-1], DoneEvent)
    return "".join(e.text for e in events if isinstance(e, TokenEvent)), events[-1]


async def test_a_reply_cut_by_the_token_limit_ends_at_its_last_sentence(tmp_path: Path) -> None:
    streamed, done = await _streamed_and_done(
        tmp_path, ["I hear ", "you. ", "That sounds ", "really hard and I wonder if"], "length"
    )
    assert done.finish_reason == "length"
    assert done.content == streamed and streamed.strip() == "I hear you."  # "That sounds really..." was never sent


async def test_a_run_on_reply_at_the_limit_loses_only_its_broken_last_word(tmp_path: Path) -> None:
    streamed, done = await _streamed_and_done(tmp_path, ["and " * 30, "then it all went wro"], "length")
    assert done.finish_reason == "length" and done.content == streamed == "and " * 30 + "then it all went\u2026"


def test_a_typo_in_generation_settings_fails_at_load(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('[models.m]\nkind = "causal_lm"\ngeneration = { repetition_penality = 1.2 }\n')
    with pytest.raises(ValueError, match="repetition_penality"):
        Registry.from_file(registry_file, tmp_path)
    registry_file.write_text('[models.m]\nkind = "causal_lm"\ngeneration = { top_p = 1.5 }\n')
    with pytest.raises(ValueError, match="top_p"):
        Registry.from_file(registry_file, tmp_path)


def test_a_typo_in_a_model_entry_or_at_the_top_fails_at_load_naming_the_key(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('[models.m]\nkind = "causal_lm"\nwieghts = "/models/m"\n')
    with pytest.raises(ValueError, match=r"models\.m\.wieghts"):
        Registry.from_file(registry_file, tmp_path)
    registry_file.write_text('default_caht = "m"\n[models.m]\nkind = "causal_lm"\n')
    with pytest.raises(ValueError, match="default_caht"):
        Registry.from_file(registry_file, tmp_path)
    registry_file.write_text('[models.m]\nkind = "causal_lm"\nquantization = "nf5"\n')
    with pytest.raises(ValueError, match=r"models\.m\.quantization"):
        Registry.from_file(registry_file, tmp_path)


async def test_a_photo_turn_fuses_the_face_with_the_text_and_the_crisis_check_reads_the_text(tmp_path: Path) -> None:
    model = ScriptedModel(["I'm sorry you feel low."])
    service, broker = _service(tmp_path, model)
    _with_sad_classifier(service)
    # The real kind, loaded lazily from a tiny ViT whose every photo reads "happy".
    face_dir = save_tiny_vit(tmp_path / "face", leaning="happy")
    service.models.registry.specs["face-emotion"] = ModelSpec(
        name="face-emotion", kind="image_emotion", weights=str(face_dir), chat=False
    )
    service.models._slots["face-emotion"] = _Slot()
    service.ctx.faces.name = "face-emotion"
    photo = ImageAttachment(media_type="image/jpeg", data=base64.b64encode(photo_bytes()).decode())

    job = _job("I feel low").model_copy(update={"image": photo})
    await service.process(job, resumed=False)
    events = await _events(broker, job)
    emotion, done = events[0].emotion, events[-1]
    assert emotion.fusion.source == "fused_conflict" and emotion.label == "sad"
    assert emotion.fusion.text.label == "sadness" and emotion.fusion.face.label == "happy"
    assert done.user_emotion == emotion
    assert model.requests[0].user_emotion == emotion  # the reply is conditioned on the fused reading
    assert done.alignment == pytest.approx(1.0)  # text against reply, one classifier: the text reading

    crisis = _job("I want to kill myself tonight").model_copy(update={"image": photo})
    await service.process(crisis, resumed=False)
    done = (await _events(broker, crisis))[-1]
    assert done.finish_reason == "safety" and done.safety.crisis and done.safety.fixed_reply
    assert done.user_emotion.fusion.face.label == "happy"  # a smiling photo does not hide the crisis
    assert len(model.requests) == 1
