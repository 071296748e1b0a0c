"""How the registry resolves a request's decoding settings: the request's params over the model's
models.toml ``generation`` table over the project defaults (``Decoding``), each setting on its own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from attune.contract import ChatTurn, DecodingParams
from worker.engine.sampling import SamplingParams, choose_next_token
from worker.models.base import Decoding, ModelSpec
from worker.registry import Registry, generation_request, resolve_decoding

REPO = Path(__file__).resolve().parents[3]
PROJECT = Decoding()


def test_each_setting_is_the_requests_else_the_models_else_the_projects() -> None:
    spec = ModelSpec(name="m", kind="causal_lm", generation={"temperature": 0.2, "max_new_tokens": 64})
    chosen = resolve_decoding(spec, DecodingParams(temperature=0.9))

    assert chosen.temperature == 0.9  # the request's
    assert chosen.max_new_tokens == 64  # the model's
    assert chosen.top_p == PROJECT.top_p and chosen.repetition_penalty == PROJECT.repetition_penalty  # the project's
    assert resolve_decoding(spec) == dataclasses.replace(PROJECT, temperature=0.2, max_new_tokens=64)
    assert resolve_decoding(ModelSpec(name="d", kind="causal_lm")) == PROJECT


def test_none_is_unset_and_zero_is_a_choice() -> None:
    spec = ModelSpec(name="m", kind="causal_lm", generation={"top_k": 40, "no_repeat_ngram_size": 3})

    assert resolve_decoding(spec, DecodingParams(top_k=None)).top_k == 40
    assert resolve_decoding(spec, DecodingParams(top_k=0, no_repeat_ngram_size=0)).top_k == 0
    assert resolve_decoding(spec, DecodingParams(no_repeat_ngram_size=0)).no_repeat_ngram_size == 0
    assert resolve_decoding(ModelSpec(name="z", kind="causal_lm", generation={"top_k": 0})).top_k == 0
    assert PROJECT.top_k == 0  # the project's default is also "no top-k cut", never "unset"


def test_top_k_zero_means_no_top_k_cut_in_the_sampler() -> None:
    params = SamplingParams.from_decoding(Decoding(temperature=1.0, top_p=1.0, top_k=0, seed=0))
    logits = torch.tensor([3.0, 2.0, 1.0, 0.5])
    generator = torch.Generator().manual_seed(0)

    drawn = {choose_next_token(logits, params, generator) for _ in range(400)}

    assert drawn == {0, 1, 2, 3}


def test_a_resolved_decoding_reaches_the_engine_unchanged() -> None:
    spec = ModelSpec(name="m", kind="causal_lm", generation={"top_k": 40, "top_p": 1.0, "system_prompt": "Be kind."})
    request = generation_request(spec, "r", [ChatTurn(role="user", content="hi")], DecodingParams(temperature=0.3))

    assert request.decoding == resolve_decoding(spec, DecodingParams(temperature=0.3))
    assert request.system_prompt == "Be kind."
    sampling = SamplingParams.from_decoding(request.decoding)
    assert (sampling.temperature, sampling.top_p, sampling.top_k) == (0.3, 1.0, 40)


def test_the_engines_defaults_are_the_projects() -> None:
    engine = SamplingParams()
    shared = {f.name for f in dataclasses.fields(Decoding)} & {f.name for f in dataclasses.fields(SamplingParams)}
    assert {name: getattr(engine, name) for name in shared} == {name: getattr(PROJECT, name) for name in shared}


def test_a_bad_setting_is_rejected_at_load(tmp_path: Path) -> None:
    registry_file = tmp_path / "models.toml"
    registry_file.write_text('[models.m]\nkind = "causal_lm"\ngeneration = { top_k = -1 }\n')
    with pytest.raises(ValueError, match="top_k"):
        Registry.from_file(registry_file, tmp_path)


# What every shipped chat model decodes with when the request sets nothing. A change here changes replies.
SHIPPED = {
    "smollm2": dict(temperature=0.2, top_p=0.9, max_new_tokens=128, end_of_turn_after=24, end_of_turn_factor=1.15),
    "psychotherapist": dict(temperature=0.7, top_p=0.9, max_new_tokens=256),
    "psychotherapist-smollm2": dict(temperature=0.7, top_p=0.9, max_new_tokens=96, min_new_tokens=10),
    "qwen-empathetic": dict(temperature=0.7, top_p=0.9, max_new_tokens=256),
    "qwen-empathetic-smollm2": dict(temperature=0.7, top_p=0.9, max_new_tokens=96, min_new_tokens=8),
    "emodecoder": dict(
        temperature=0.8, top_k=40, top_p=1.0, max_new_tokens=96, end_of_turn_after=24, end_of_turn_factor=1.15
    ),
    "emotibot": dict(temperature=0.7, top_p=0.9, max_new_tokens=64),
    "chatgpt": dict(temperature=0.7, top_p=0.9, max_new_tokens=256),
    "retrieval": {},
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_shipped_models_resolve_to_their_pinned_settings(name: str, tmp_path: Path) -> None:
    registry = Registry.from_file(REPO / "models.toml", tmp_path)

    assert resolve_decoding(registry.specs[name]) == dataclasses.replace(PROJECT, **SHIPPED[name])


def test_every_shipped_chat_model_is_pinned(tmp_path: Path) -> None:
    registry = Registry.from_file(REPO / "models.toml", tmp_path)
    assert {name for name, spec in registry.specs.items() if spec.chat} == set(SHIPPED)
