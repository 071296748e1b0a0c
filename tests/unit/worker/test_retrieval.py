"""The retrieval responder over a tiny index built by the real recipe (80 EmpatheticDialogues conversations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attune.contract import ChatTurn, EmotionReading
from training.common.config import load_config
from training.common.paths import configs_dir
from training.data.empathetic import EMOTIONS
from training.recipes import retrieval as recipe
from worker.models.base import ChatModel, GenerationRequest, LoadContext, ModelSpec, ModelUnavailable, StreamChunk
from worker.models.emotion_map import FAMILIES, affinity
from worker.models.retrieval import RetrievalIndex, RetrievalResponder

FEAR = set(FAMILIES["fear"])
JOY = set(FAMILIES["joy"])


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("retrieval") / "index"
    overrides = [f"out_dir={out}", "eval_conversations=0"]
    return recipe.run(load_config(recipe.Config, configs_dir("retrieval") / "tiny.toml", overrides))


@pytest.fixture(scope="module")
def responder(index_dir: Path) -> RetrievalResponder:
    model = RetrievalResponder(
        ModelSpec(name="retrieval", kind="retrieval", weights=str(index_dir)), LoadContext(home=index_dir.parent)
    )
    model.load()
    return model


def ask(text: str, emotion: str | None = None, earlier: list[ChatTurn] = ()) -> GenerationRequest:
    reading = EmotionReading(label=emotion, scores={emotion: 0.9}) if emotion else None
    return GenerationRequest(
        request_id=f"r{len(earlier)}", history=[*earlier, ChatTurn(role="user", content=text)], user_emotion=reading
    )


async def collect(model: RetrievalResponder, request: GenerationRequest) -> list[StreamChunk]:
    return [chunk async for chunk in model.stream(request)]


def test_is_a_chat_model_versioned_by_its_build(responder: RetrievalResponder, index_dir: Path) -> None:
    assert isinstance(responder, ChatModel)
    assert responder.version == json.loads((index_dir / "run_manifest.json").read_text())["run_id"]
    assert responder.memory_bytes() > 20_000_000  # MiniLM's weights plus the vectors


async def test_answers_a_sad_message_with_a_streamed_reply_from_the_index(
    responder: RetrievalResponder, index_dir: Path
) -> None:
    chunks = await collect(responder, ask("My dog died last week and I can't stop crying.", "sadness"))
    *deltas, last = chunks
    reply = "".join(chunk.text for chunk in deltas)
    index_replies = {entry.reply for entry in RetrievalIndex.load(index_dir).entries}
    assert reply in index_replies
    assert len(deltas) == len(reply.split()) > 1  # one delta per word
    assert last.finish_reason == "stop" and last.text == ""
    assert last.extras["retrieved_emotion"] in EMOTIONS
    assert isinstance(last.extras["score"], float)


def test_the_detected_emotion_pulls_the_reply_towards_it(responder: RetrievalResponder, index_dir: Path) -> None:
    message = "Something happened today that I keep thinking about."
    unconditioned = responder.respond(ask(message))
    scared = responder.respond(ask(message, "fear"))
    assert scared.entry.emotion in FEAR and scared.target_emotion in FEAR
    assert scared.text != unconditioned.text
    # With the boost outweighing any similarity, the pick comes from the emotions the label names.
    emotion_led = RetrievalResponder(
        ModelSpec(name="retrieval", kind="retrieval", weights=str(index_dir), options={"emotion_weight": 1.0}),
        LoadContext(home=index_dir.parent),
    )
    for label, named in [
        ("fear", {"afraid", "terrified"}),
        ("joy", {"joyful", "content"}),
        ("sadness", {"sad", "lonely"}),
        ("anger", {"angry", "furious"}),
    ]:
        assert emotion_led.respond(ask(message, label)).entry.emotion in named


def test_never_repeats_a_reply_within_a_conversation(responder: RetrievalResponder) -> None:
    history: list[ChatTurn] = []
    replies = []
    for _ in range(8):
        reply = responder.respond(ask("I feel so lonely since I moved to a new city.", "sadness", history)).text
        replies.append(reply)
        history += [
            ChatTurn(role="user", content="I feel so lonely since I moved to a new city."),
            ChatTurn(role="assistant", content=reply),
        ]
    assert len({" ".join(r.lower().split()) for r in replies}) == len(replies)


async def test_cancel_stops_the_stream_between_words(responder: RetrievalResponder) -> None:
    request = ask("I finally got the job I wanted!", "joy")
    chunks = []
    async for chunk in responder.stream(request):
        chunks.append(chunk)
        if len(chunks) == 1:
            responder.cancel(request.request_id)
    assert chunks[-1].finish_reason == "cancelled" and len(chunks) == 2


def test_missing_index_is_unavailable_with_the_command_to_build_it(tmp_path: Path) -> None:
    model = RetrievalResponder(ModelSpec(name="retrieval", kind="retrieval"), LoadContext(home=tmp_path))
    assert model.version == "unbuilt"
    with pytest.raises(ModelUnavailable, match="attune train retrieval"):
        model.load()


def test_emotion_map_weights_direct_then_related_and_ignores_neutral() -> None:
    grief = affinity({"grief": 0.8, "neutral": 0.2})
    assert grief["devastated"] == grief["sad"] == 1.0
    assert grief["lonely"] == 0.5 and grief["joyful"] == 0.0
    assert set(affinity({"neutral": 1.0}).values()) == {0.0}
    assert affinity({"sadness": 1.0})["sad"] == 1.0  # the journal's 6 moods map too
